"""``journeydsl lsp``: the language server editors start to check and complete ``.journey`` files.

It speaks the Language Server Protocol over stdin/stdout (pygls 2, in the
``[lsp]`` extra: ``pip install 'journeydsl[lsp]'``). Everything it says comes
from the project's own parser, compiler and checks through
:class:`journeydsl.editor.analysis.Analysis`, so the editor and
``journeydsl check`` never disagree:

- diagnostics with the codes of ``check``, on open and, debounced (300 ms
  after the last keystroke by default), on every change;
- hover (a keyword's meaning; a stage's definition, exits and, when the exact
  solver answers, the share of customers who reach it), completion by context,
  go to definition, references, rename, the document outline, formatting
  through ``journeydsl fmt`` and a quick fix for every did-you-mean;
- the command ``journeydsl.renderSvg`` (the map of a document, as SVG text),
  which the VS Code extension shows beside the editor.

Initialization options: ``{"debounce": 300}`` (milliseconds).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from journeydsl import __version__
from journeydsl.editor.analysis import Analysis, Completion, SymbolNode
from journeydsl.language.errors import Diagnostic, JourneyError
from journeydsl.language.source import Span

__all__ = ["JourneyLanguageServer", "main", "server"]

log = logging.getLogger(__name__)

#: Milliseconds of quiet after a change before diagnostics are recomputed.
DEFAULT_DEBOUNCE_MS = 300

RENDER_COMMAND = "journeydsl.renderSvg"

_COMPLETION_KINDS = {
    "keyword": lsp.CompletionItemKind.Keyword,
    "stage": lsp.CompletionItemKind.Class,
    "touchpoint": lsp.CompletionItemKind.Interface,
    "trigger": lsp.CompletionItemKind.Event,
    "segment": lsp.CompletionItemKind.Struct,
    "scenario": lsp.CompletionItemKind.Module,
    "distribution": lsp.CompletionItemKind.Function,
    "parameter": lsp.CompletionItemKind.Property,
    "unit": lsp.CompletionItemKind.Unit,
    "currency": lsp.CompletionItemKind.Constant,
    "channel": lsp.CompletionItemKind.EnumMember,
}

_SYMBOL_KINDS = {
    "journey": lsp.SymbolKind.Module,
    "phase": lsp.SymbolKind.Namespace,
    "stage": lsp.SymbolKind.Class,
    "touchpoint": lsp.SymbolKind.Interface,
    "trigger": lsp.SymbolKind.Event,
    "segment": lsp.SymbolKind.Struct,
    "scenario": lsp.SymbolKind.Package,
}


def path_of(uri: str) -> str:
    """The file path a ``file://`` URI names (the URI itself for other schemes), as diagnostics show it."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


class JourneyLanguageServer(LanguageServer):
    """The server: one :class:`Analysis` per open document version, diagnostics debounced."""

    def __init__(self) -> None:
        super().__init__("journeydsl", __version__)
        self.debounce_ms = DEFAULT_DEBOUNCE_MS
        self._analyses: dict[str, tuple[str, Analysis]] = {}
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._reach: dict[tuple[str, str], dict[str, float] | None] = {}

    # --- analyses -------------------------------------------------------------------------------

    def analysis(self, uri: str) -> Analysis:
        """The analysis of the document's current text (made once per text)."""
        doc = self.workspace.get_text_document(uri)
        text = doc.source
        cached = self._analyses.get(uri)
        if cached is not None and cached[0] == text:
            return cached[1]
        made = Analysis(text, path_of(uri))
        self._analyses[uri] = (text, made)
        return made

    def forget(self, uri: str) -> None:
        self._analyses.pop(uri, None)
        task = self._pending.pop(uri, None)
        if task is not None:
            task.cancel()

    def publish(self, uri: str) -> None:
        """Compute and send the document's diagnostics now."""
        doc = self.workspace.get_text_document(uri)
        analysis = self.analysis(uri)
        lines = doc.source.split("\n")
        try:
            found = analysis.diagnostics
        except Exception as exc:  # a bug in journeydsl, not in the file: say so, as the CLI's exit code 3 does
            log.exception("checking %s", uri)
            self.window_show_message(
                lsp.ShowMessageParams(
                    type=lsp.MessageType.Error,
                    message=f"journeydsl: internal error while checking this file: {type(exc).__name__}: {exc}"
                    " (a bug in journeydsl, not in your file: please report it)",
                )
            )
            return
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(
                uri=uri,
                version=doc.version,
                diagnostics=[self.to_lsp_diagnostic(d, lines) for d in found],
            )
        )

    def schedule(self, uri: str) -> None:
        """Publish after ``debounce_ms`` of quiet; a newer change restarts the wait."""
        task = self._pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self._pending[uri] = asyncio.ensure_future(self._publish_later(uri))

    async def _publish_later(self, uri: str) -> None:
        try:
            if self.debounce_ms > 0:
                await asyncio.sleep(self.debounce_ms / 1000)
            self.publish(uri)
        except asyncio.CancelledError:
            pass
        except KeyError:  # the document was closed meanwhile
            pass
        finally:
            if self._pending.get(uri) is asyncio.current_task():
                self._pending.pop(uri, None)

    def reach(self, uri: str, analysis: Analysis, stage: str) -> dict[str, float] | None:
        """The exact share of customers who ever reach ``stage`` (``None`` when the algebra cannot say)."""
        key = (uri + "\0" + analysis.text, stage)
        if key in self._reach:
            return self._reach[key]
        journey = analysis.journey
        result: dict[str, float] | None = None
        if journey is not None and any(s.name == stage for s in journey.stages):
            from journeydsl.engine.exact import ExactUnsupported, solve

            # reaching `stage` is 'converting' when it is the only goal
            only = journey.model_copy(
                update={"stages": tuple(s.model_copy(update={"goal": s.name == stage}) for s in journey.stages)}
            )
            try:
                result = {stage: solve(only).conversion}
            except (ExactUnsupported, ValueError, ArithmeticError, KeyError):
                result = None
            except Exception:  # a hover must never fail because of the algebra
                log.exception("exact reach of %s", stage)
                result = None
        if len(self._reach) > 256:
            self._reach.clear()
        self._reach[key] = result
        return result

    # --- positions --------------------------------------------------------------------------------

    def _units(self, text: str) -> int:
        encoding = self.workspace.position_encoding
        if encoding == lsp.PositionEncodingKind.Utf8:
            return len(text.encode("utf-8"))
        if encoding == lsp.PositionEncodingKind.Utf32:
            return len(text)
        return len(text.encode("utf-16-le")) // 2

    def to_position(self, lines: list[str], line: int, col: int) -> lsp.Position:
        """A 1-based (line, column in characters) as an LSP position."""
        if line < 1:
            return lsp.Position(0, 0)
        if line > len(lines):
            return lsp.Position(len(lines) - 1, self._units(lines[-1]) if lines else 0)
        text = lines[line - 1]
        return lsp.Position(line - 1, self._units(text[: col - 1]) + max(0, col - 1 - len(text)))

    def to_range(self, lines: list[str], span: Span | None) -> lsp.Range:
        if span is None:
            return lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
        start = self.to_position(lines, span.line, span.col)
        return lsp.Range(start, self.to_position(lines, span.end_line, span.end_col))

    def from_position(self, lines: list[str], pos: lsp.Position) -> tuple[int, int]:
        """An LSP position as 1-based (line, column in characters)."""
        text = lines[pos.line] if pos.line < len(lines) else ""
        units = 0
        for i, ch in enumerate(text):
            if units >= pos.character:
                return pos.line + 1, i + 1
            units += self._units(ch)
        return pos.line + 1, len(text) + 1

    def to_lsp_diagnostic(self, d: Diagnostic, lines: list[str]) -> lsp.Diagnostic:
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        return lsp.Diagnostic(
            range=self.to_range(lines, d.span),
            message=message,
            severity=lsp.DiagnosticSeverity.Error if d.severity == "error" else lsp.DiagnosticSeverity.Warning,
            code=d.code,
            source="journeydsl",
        )

    def lines_and_analysis(self, uri: str) -> tuple[list[str], Analysis]:
        analysis = self.analysis(uri)
        return analysis.text.split("\n"), analysis


server = JourneyLanguageServer()


# --- document sync --------------------------------------------------------------------------------------


@server.feature(lsp.INITIALIZE)
def initialize(ls: JourneyLanguageServer, params: lsp.InitializeParams) -> None:
    options = params.initialization_options
    if isinstance(options, dict) and isinstance(options.get("debounce"), (int, float)):
        ls.debounce_ms = max(0, int(options["debounce"]))


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: JourneyLanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.publish(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: JourneyLanguageServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: JourneyLanguageServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.forget(uri)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


# --- questions about a position -----------------------------------------------------------------------


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def hover(ls: JourneyLanguageServer, params: lsp.HoverParams) -> lsp.Hover | None:
    uri = params.text_document.uri
    lines, analysis = ls.lines_and_analysis(uri)
    line, col = ls.from_position(lines, params.position)
    occ = analysis.at(line, col)
    reach = ls.reach(uri, analysis, occ.name) if occ is not None and occ.kind == "stage" else None
    found = analysis.hover(line, col, reach)
    if found is None:
        return None
    text, span = found
    return lsp.Hover(
        contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
        range=ls.to_range(lines, span),
    )


def _completion_item(c: Completion) -> lsp.CompletionItem:
    return lsp.CompletionItem(
        label=c.label,
        kind=_COMPLETION_KINDS.get(c.kind, lsp.CompletionItemKind.Text),
        detail=c.detail,
        insert_text=c.insert,
        insert_text_format=lsp.InsertTextFormat.Snippet if c.snippet else lsp.InsertTextFormat.PlainText,
        sort_text=f"{0 if c.kind != 'keyword' else 1}{c.label}",
    )


@server.feature(
    lsp.TEXT_DOCUMENT_COMPLETION,
    lsp.CompletionOptions(trigger_characters=[">", "(", " ", ","]),
)
def completion(ls: JourneyLanguageServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    lines, analysis = ls.lines_and_analysis(params.text_document.uri)
    line, col = ls.from_position(lines, params.position)
    typed_space = params.context is not None and params.context.trigger_character == " "
    if typed_space and not lines[line - 1][: col - 1].strip():
        return lsp.CompletionList(is_incomplete=False, items=[])  # indenting, not asking
    items = [_completion_item(c) for c in analysis.completions(line, col)]
    return lsp.CompletionList(is_incomplete=False, items=items)


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def definition(ls: JourneyLanguageServer, params: lsp.DefinitionParams) -> lsp.Location | None:
    uri = params.text_document.uri
    lines, analysis = ls.lines_and_analysis(uri)
    occ = analysis.at(*ls.from_position(lines, params.position))
    target = analysis.definition(occ) if occ is not None else None
    if target is None:
        return None
    return lsp.Location(uri=uri, range=ls.to_range(lines, target.span))


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
def references(ls: JourneyLanguageServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
    uri = params.text_document.uri
    lines, analysis = ls.lines_and_analysis(uri)
    occ = analysis.at(*ls.from_position(lines, params.position))
    if occ is None:
        return []
    found = analysis.references(occ, include_definition=params.context.include_declaration)
    return [lsp.Location(uri=uri, range=ls.to_range(lines, o.span)) for o in found]


@server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
def prepare_rename(ls: JourneyLanguageServer, params: lsp.PrepareRenameParams) -> lsp.PrepareRenamePlaceholder | None:
    lines, analysis = ls.lines_and_analysis(params.text_document.uri)
    occ = analysis.at(*ls.from_position(lines, params.position))
    if occ is None:
        return None
    return lsp.PrepareRenamePlaceholder(range=ls.to_range(lines, occ.span), placeholder=occ.name)


@server.feature(lsp.TEXT_DOCUMENT_RENAME)
def rename(ls: JourneyLanguageServer, params: lsp.RenameParams) -> lsp.WorkspaceEdit:
    uri = params.text_document.uri
    lines, analysis = ls.lines_and_analysis(uri)
    line, col = ls.from_position(lines, params.position)
    try:
        found = analysis.rename(line, col, params.new_name)
    except ValueError as exc:
        raise lsp_error(str(exc)) from None
    edits = [lsp.TextEdit(range=ls.to_range(lines, o.span), new_text=params.new_name) for o in found]
    return lsp.WorkspaceEdit(changes={uri: edits})


def lsp_error(message: str) -> Exception:
    """An error answered to the request (the editor shows ``message``)."""
    from pygls.exceptions import JsonRpcException

    return JsonRpcException(message, code=-32803)  # RequestFailed (LSP 3.17)


def _symbol(ls: JourneyLanguageServer, lines: list[str], node: SymbolNode) -> lsp.DocumentSymbol:
    return lsp.DocumentSymbol(
        name=node.name,
        detail=node.detail,
        kind=_SYMBOL_KINDS.get(node.kind, lsp.SymbolKind.Object),
        range=ls.to_range(lines, node.span),
        selection_range=ls.to_range(lines, node.selection),
        children=[_symbol(ls, lines, c) for c in node.children],
    )


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbol(ls: JourneyLanguageServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    lines, analysis = ls.lines_and_analysis(params.text_document.uri)
    outline = analysis.outline
    return [_symbol(ls, lines, outline)] if outline is not None else []


# --- changes to the text ---------------------------------------------------------------------------------


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: JourneyLanguageServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit]:
    from journeydsl.language.fmt import format_source

    lines, analysis = ls.lines_and_analysis(params.text_document.uri)
    try:
        formatted = format_source(analysis.text, analysis.path)
    except JourneyError as exc:
        first = exc.diagnostics[0] if exc.diagnostics else None
        where = f" (line {first.span.line}: {first.message})" if first and first.span else ""
        ls.window_show_message(
            lsp.ShowMessageParams(
                type=lsp.MessageType.Warning,
                message=f"journeydsl: fix the errors first{where}; nothing was formatted",
            )
        )
        return []
    if formatted == analysis.text:
        return []
    end = lsp.Position(len(lines) - 1, ls._units(lines[-1]))
    return [lsp.TextEdit(range=lsp.Range(lsp.Position(0, 0), end), new_text=formatted)]


@server.feature(
    lsp.TEXT_DOCUMENT_CODE_ACTION,
    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]),
)
def code_action(ls: JourneyLanguageServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    uri = params.text_document.uri
    lines, analysis = ls.lines_and_analysis(uri)
    start = ls.from_position(lines, params.range.start)
    end = ls.from_position(lines, params.range.end)
    actions = []
    for fix in analysis.quick_fixes:
        s = fix.span
        if (s.end_line, s.end_col) < start or (s.line, s.col) > end:
            continue
        actions.append(
            lsp.CodeAction(
                title=fix.title,
                kind=lsp.CodeActionKind.QuickFix,
                diagnostics=[ls.to_lsp_diagnostic(fix.diagnostic, lines)],
                is_preferred=True,
                edit=lsp.WorkspaceEdit(
                    changes={uri: [lsp.TextEdit(range=ls.to_range(lines, s), new_text=fix.replacement)]}
                ),
            )
        )
    return actions


@server.command(RENDER_COMMAND)
def render_svg(ls: JourneyLanguageServer, *args: Any) -> dict[str, str]:
    """``{"svg": ...}`` for the document named by the first argument, or ``{"error": ...}``."""
    from journeydsl.outputs.maps import RenderError, render

    raw = args[0] if args else None
    if isinstance(raw, list) and raw:  # clients send the arguments as one list
        raw = raw[0]
    uri = raw.get("uri") if isinstance(raw, dict) else raw
    if not isinstance(uri, str):
        return {"error": "no document given"}
    try:
        analysis = ls.analysis(uri)
    except KeyError:
        return {"error": f"{uri} is not open"}
    journey = analysis.journey
    if journey is None:
        errors = [d for d in analysis.diagnostics if d.severity == "error"]
        first = errors[0] if errors else None
        where = f"line {first.span.line}: " if first and first.span else ""
        return {"error": f"the journey has errors; fix them to draw the map ({where}{first.message if first else ''})"}
    try:
        drawn = render(journey, None, format="svg")
    except RenderError as exc:
        return {"error": str(exc)}
    return {"svg": drawn.decode("utf-8") if isinstance(drawn, bytes) else drawn}


def main() -> int:
    """Serve one editor over stdin/stdout until it disconnects."""
    logging.basicConfig(level=logging.WARNING, format="journeydsl lsp: %(message)s")
    server.start_io()
    return 0
