// A smoke test of extension.js with VS Code and the language client replaced by fakes:
// activation starts `journeydsl lsp` for journey files, and "show map" draws what the server renders.
// Run: node editors/vscode/test/smoke.js (the Python test suite runs it when Node.js is installed).
"use strict";

const assert = require("assert");
const Module = require("module");
const path = require("path");

const calls = { commands: {}, clients: [], requests: [], panels: [], messages: [] };

class FakeClient {
  constructor(id, name, serverOptions, clientOptions) {
    Object.assign(this, { id, name, serverOptions, clientOptions });
    calls.clients.push(this);
  }
  start() { return Promise.resolve(); }
  stop() { return Promise.resolve(); }
  sendRequest(method, params) {
    calls.requests.push({ method, params });
    const uri = params.arguments[0];
    return Promise.resolve(uri.includes("broken") ? { error: "unknown stage '<trail>'" } : { svg: "<svg>map</svg>" });
  }
}

const document = (name) => ({ languageId: "journey", uri: { path: `/work/${name}`, toString: () => `file:///work/${name}` } });
const listeners = [];
const vscode = {
  ViewColumn: { Beside: -2 },
  workspace: {
    getConfiguration: () => ({ get: (key, fallback) => fallback }),
    onDidChangeTextDocument: (f) => { listeners.push(f); return { dispose() {} }; },
  },
  window: {
    activeTextEditor: { document: document("saas.journey") },
    onDidChangeActiveTextEditor: () => ({ dispose() {} }),
    showErrorMessage: (m) => calls.messages.push(m),
    showInformationMessage: (m) => calls.messages.push(m),
    createWebviewPanel: (id, title, where, options) => {
      const panel = { id, title, where, options, webview: { html: "" }, reveal() {}, onDidDispose() {} };
      calls.panels.push(panel);
      return panel;
    },
  },
  commands: { registerCommand: (name, f) => { calls.commands[name] = f; return { dispose() {} }; } },
};

const realLoad = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === "vscode") return vscode;
  if (request === "vscode-languageclient/node") return { LanguageClient: FakeClient };
  return realLoad.call(this, request, parent, isMain);
};

(async () => {
  const extension = require(path.join(__dirname, "..", "extension.js"));
  const context = { subscriptions: [] };
  extension.activate(context);

  const [client] = calls.clients;
  assert.deepStrictEqual(client.serverOptions, { command: "journeydsl", args: ["lsp"] });
  assert.deepStrictEqual(client.clientOptions.documentSelector, [{ language: "journey" }]);
  assert.deepStrictEqual(client.clientOptions.initializationOptions, { debounce: 300 });
  assert.ok(calls.commands["journeydsl.showMap"], "the show-map command is registered");

  calls.commands["journeydsl.showMap"]();
  await new Promise((r) => setTimeout(r, 20));
  const [panel] = calls.panels;
  assert.strictEqual(panel.where.viewColumn, vscode.ViewColumn.Beside);
  assert.strictEqual(panel.options.enableScripts, false);
  assert.deepStrictEqual(calls.requests[0], {
    method: "workspace/executeCommand",
    params: { command: "journeydsl.renderSvg", arguments: ["file:///work/saas.journey"] },
  });
  const b64 = Buffer.from("<svg>map</svg>").toString("base64");
  assert.ok(panel.webview.html.includes(`src="data:image/svg+xml;base64,${b64}"`), panel.webview.html);
  assert.ok(panel.webview.html.includes("default-src 'none'"));
  assert.strictEqual(panel.title, "Map: saas.journey");

  // a broken journey: the server's message is shown, escaped
  vscode.window.activeTextEditor = { document: document("broken.journey") };
  calls.commands["journeydsl.showMap"]();
  await new Promise((r) => setTimeout(r, 20));
  assert.strictEqual(calls.panels.length, 1, "the one map view is reused");
  assert.ok(panel.webview.html.includes("unknown stage &#39;&lt;trail&gt;&#39;"), panel.webview.html);
  assert.ok(!panel.webview.html.includes("<trail>"));

  // another kind of file: no map, a message
  vscode.window.activeTextEditor = { document: { languageId: "python" } };
  calls.commands["journeydsl.showMap"]();
  assert.ok(calls.messages.some((m) => m.includes("open a .journey file")));
  await extension.deactivate();
  console.log("1 passed, 0 failed");
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
