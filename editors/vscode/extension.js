// The journeydsl extension: starts `journeydsl lsp` for .journey files and shows the journey map.
//
// Everything about the language (checks, completion, hover, rename, formatting)
// comes from the Python language server, so the editor and `journeydsl check`
// never disagree; this file only starts it and draws the map it renders.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("journeydsl");
  const [command, ...args] = config.get("server.command", ["journeydsl", "lsp"]);
  const serverOptions = { command, args };
  const clientOptions = {
    documentSelector: [{ language: "journey" }],
    initializationOptions: { debounce: config.get("diagnostics.debounce", 300) },
  };
  client = new LanguageClient("journeydsl", "journeydsl", serverOptions, clientOptions);
  client.start().catch((err) => {
    vscode.window.showErrorMessage(
      `journeydsl: could not start the language server '${[command, ...args].join(" ")}' (${err.message || err}). ` +
        "Install it with: pip install 'journeydsl[lsp]', or set 'journeydsl.server.command'."
    );
  });
  context.subscriptions.push(
    vscode.commands.registerCommand("journeydsl.showMap", () => MapView.show(context))
  );
}

function deactivate() {
  return client ? client.stop() : undefined;
}

// The map of the current .journey file, beside the editor, redrawn as the text changes.
class MapView {
  static current;

  static show(context) {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.languageId !== "journey") {
      vscode.window.showInformationMessage("journeydsl: open a .journey file to see its map");
      return;
    }
    if (MapView.current) {
      MapView.current.document = editor.document;
      MapView.current.panel.reveal(vscode.ViewColumn.Beside, true);
      MapView.current.refresh();
      return;
    }
    MapView.current = new MapView(context, editor.document);
  }

  constructor(context, document) {
    this.document = document;
    this.timer = undefined;
    this.panel = vscode.window.createWebviewPanel(
      "journeydsl.map",
      "Journey map",
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: false, localResourceRoots: [] }
    );
    const subs = [
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === this.document) this.refreshSoon();
      }),
      vscode.window.onDidChangeActiveTextEditor((e) => {
        if (e && e.document.languageId === "journey" && e.document !== this.document) {
          this.document = e.document;
          this.refresh();
        }
      }),
    ];
    this.panel.onDidDispose(() => {
      subs.forEach((s) => s.dispose());
      clearTimeout(this.timer);
      MapView.current = undefined;
    });
    context.subscriptions.push(...subs);
    this.refresh();
  }

  refreshSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 600);
  }

  async refresh() {
    const name = this.document.uri.path.split("/").pop();
    this.panel.title = `Map: ${name}`;
    let result;
    try {
      await client.start();
      result = await client.sendRequest("workspace/executeCommand", {
        command: "journeydsl.renderSvg",
        arguments: [this.document.uri.toString()],
      });
    } catch (err) {
      result = { error: `the language server did not answer (${err.message || err})` };
    }
    this.panel.webview.html = page(name, result || { error: "no answer" });
  }
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// The SVG is shown as an image (a data: URL), so nothing in it can run.
function page(name, result) {
  const body = result.svg
    ? `<img alt="journey map of ${escapeHtml(name)}" src="data:image/svg+xml;base64,${Buffer.from(result.svg, "utf8").toString("base64")}">`
    : `<p class="error">${escapeHtml(result.error)}</p>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline';">
<style>
  body { background: #fff; color: #222; margin: 0; padding: 12px; font-family: sans-serif; }
  img { max-width: 100%; height: auto; }
  .error { color: #a1260d; white-space: pre-wrap; }
</style></head>
<body>${body}</body></html>`;
}

module.exports = { activate, deactivate };
