"""End-to-end tests of ``journeydsl lsp``: a real client talks to the server over stdio (pytest-lsp).

Each test opens its own document; what is checked is what a strategist sees
in the editor: the squiggle's code, place and message, the names offered
after ``->``, the edits a rename or a format makes, the quick fix of a
misspelt name.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types as lsp  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402

from journeydsl.api import check  # noqa: E402
from journeydsl.language.compile import compile_text  # noqa: E402
from journeydsl.language.fmt import format_source  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parent.parent

JOURNEY = """\
journey "Trial" {
    currency EUR
    phase "Acquisition" {
        stage visitor "Website visitor" { entry; dwell exponential(mean 2 days) }
    }
    stage trial "Free trial" { dwell uniform(7 days, 14 days) }
    stage customer { goal; active; revenue 49 EUR every month }
    stage lost { terminal }
    stage churned { terminal }

    touchpoint nudge "Trial nudge" { channel email; cost 0.02 EUR; response 20% }

    visitor -> trial 12%
    visitor -> lost otherwise
    trial -> customer 25%
    trial -> lost otherwise
    customer -> churned 5% per month

    trigger trial_nudge "Nudge on day 7" {
        when in trial for 7 days
        send nudge
        then 30% -> customer
    }

    scenario early "Nudge on day 3" {
        trigger trial_nudge { when in trial for 3 days }
        trial -> customer 30%
    }
}
"""


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=[sys.executable, "-m", "journeydsl", "lsp"]),
)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        lsp.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            initialization_options={"debounce": 50},
        )
    )
    yield
    await lsp_client.shutdown_session()


_opened: dict[str, int] = {}


async def open_doc(client: LanguageClient, name: str, text: str) -> str:
    """Open a document and wait for its first diagnostics; returns its URI."""
    uri = f"file:///tmp/journeydsl-lsp-tests/{name}.journey"
    client.diagnostics.pop(uri, None)
    _opened[uri] = 1
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri=uri, language_id="journey", version=1, text=text))
    )
    await diagnostics_of(client, uri)
    return uri


async def change_doc(client: LanguageClient, uri: str, text: str) -> list[lsp.Diagnostic]:
    """Replace the document's text and wait for the diagnostics republished after the change."""
    client.diagnostics.pop(uri, None)
    _opened[uri] += 1
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=_opened[uri]),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    return await diagnostics_of(client, uri)


async def diagnostics_of(client: LanguageClient, uri: str, timeout: float = 30.0) -> list[lsp.Diagnostic]:
    async def wait() -> list[lsp.Diagnostic]:
        while uri not in client.diagnostics:
            await asyncio.sleep(0.01)
        return list(client.diagnostics[uri])

    return await asyncio.wait_for(wait(), timeout)


def position_of(text: str, needle: str, nth: int = 0, offset: int = 0) -> lsp.Position:
    """The position of the ``nth`` occurrence of ``needle`` (plus ``offset`` characters)."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    at += offset
    line = text.count("\n", 0, at)
    return lsp.Position(line, at - (text.rfind("\n", 0, at) + 1))


def apply_edits(text: str, edits: list[lsp.TextEdit]) -> str:
    """Apply LSP text edits (ASCII text, so UTF-16 units are characters)."""
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)

    def offset(p: lsp.Position) -> int:
        return starts[p.line] + p.character if p.line < len(lines) else len(text)

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end) :]
    return text


def doc(uri: str) -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(uri=uri)


# --- diagnostics -----------------------------------------------------------------------------------


async def test_a_clean_journey_has_no_diagnostics(client: LanguageClient) -> None:
    uri = await open_doc(client, "clean", JOURNEY)
    assert await diagnostics_of(client, uri) == []


async def test_an_unknown_stage_is_reported_with_the_code_and_place_of_check(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = JOURNEY.replace("trial -> customer 25%", "trail -> customer 25%")
    uri = await open_doc(client, "misspelt", text)
    diags = await diagnostics_of(client, uri)
    (path := tmp_path / "misspelt.journey").write_text(text)
    expected = check(path)
    assert [d.code for d in diags] == [d.code for d in expected] == ["E201"]
    d = diags[0]
    assert d.range.start == position_of(text, "trail")
    assert d.range.end == position_of(text, "trail", offset=5)
    assert d.severity == lsp.DiagnosticSeverity.Error
    assert d.message.startswith("unknown stage 'trail'")
    assert "did you mean 'trial'?" in d.message
    assert d.source == "journeydsl"


async def test_a_syntax_error_is_reported_where_the_parser_stopped(client: LanguageClient) -> None:
    # ('twelve' alone would now read as a parameter's name: E601 unknown parameter)
    text = JOURNEY.replace("visitor -> trial 12%", "visitor -> trial 12% ->")
    uri = await open_doc(client, "syntax", text)
    (d,) = await diagnostics_of(client, uri)
    assert d.code == "E101"
    assert d.range.start == position_of(text, "12% ->", offset=4)
    assert "expected" in d.message


async def test_diagnostics_are_republished_after_an_edit(client: LanguageClient) -> None:
    uri = await open_doc(client, "edited", JOURNEY)
    diags = await change_doc(client, uri, JOURNEY.replace("send nudge", "send nudg"))
    assert [d.code for d in diags] == ["E202"]
    assert await change_doc(client, uri, JOURNEY) == []


async def test_warnings_keep_their_severity(client: LanguageClient, tmp_path: Path) -> None:
    text = JOURNEY.replace("    stage churned { terminal }\n", "    stage churned { terminal }\n    stage unused\n")
    uri = await open_doc(client, "warning", text)
    diags = await diagnostics_of(client, uri)
    (path := tmp_path / "w.journey").write_text(text)
    assert [(d.code, d.severity == lsp.DiagnosticSeverity.Warning) for d in diags] == [
        (d.code, d.severity == "warning") for d in check(path)
    ]
    assert diags


# --- completion ------------------------------------------------------------------------------------


async def test_completion_after_an_arrow_offers_the_stages_while_the_line_is_unfinished(
    client: LanguageClient,
) -> None:
    text = JOURNEY.replace("    visitor -> lost otherwise\n", "    visitor -> lost otherwise\n    trial -> \n")
    uri = await open_doc(client, "arrow", text)
    assert await diagnostics_of(client, uri)  # the unfinished line is a syntax error...
    result = await client.text_document_completion_async(
        lsp.CompletionParams(text_document=doc(uri), position=position_of(text, "trial -> \n", offset=9))
    )
    labels = {i.label for i in result.items}
    # ...yet every stage, including those defined after the broken line, is offered
    assert {"visitor", "trial", "customer", "lost", "churned"} <= labels
    assert "nudge" not in labels


async def test_completion_by_context(client: LanguageClient) -> None:
    uri = await open_doc(client, "contexts", JOURNEY)

    async def labels(needle: str, offset: int) -> set[str]:
        result = await client.text_document_completion_async(
            lsp.CompletionParams(text_document=doc(uri), position=position_of(JOURNEY, needle, offset=offset))
        )
        return {i.label for i in result.items}

    assert "nudge" in await labels("send nudge", 5)  # touchpoints after send
    assert {"exponential", "gamma", "uniform"} <= await labels("dwell uniform", 6)  # distributions after dwell
    assert {"days", "weeks", "months"} <= await labels("for 7 days", 6)  # units after a number
    assert {"entry", "goal", "dwell", "revenue"} <= await labels("goal; active", 0)  # stage properties


# --- names -------------------------------------------------------------------------------------------


async def test_rename_a_stage_everywhere_including_scenarios(client: LanguageClient) -> None:
    uri = await open_doc(client, "rename", JOURNEY)
    edit = await client.text_document_rename_async(
        lsp.RenameParams(text_document=doc(uri), position=position_of(JOURNEY, "stage trial", offset=7),
                         new_name="free_trial")
    )
    assert edit is not None and edit.changes is not None
    renamed = apply_edits(JOURNEY, edit.changes[uri])
    expected = (
        JOURNEY.replace("stage trial ", "stage free_trial ")
        .replace("-> trial ", "-> free_trial ")
        .replace("trial -> ", "free_trial -> ")
        .replace("in trial for", "in free_trial for")
    )
    assert renamed == expected
    assert "trigger trial_nudge { when in free_trial for 3 days }" in renamed
    journey, _warnings = compile_text(renamed)
    assert "free_trial" in {s.name for s in journey.stages} and "trial" not in {s.name for s in journey.stages}
    assert journey.scenario("early").overrides.triggers[0].stage == "free_trial"


async def test_rename_refuses_a_keyword(client: LanguageClient) -> None:
    uri = await open_doc(client, "rename_kw", JOURNEY)
    with pytest.raises(Exception, match="word of the language"):
        await client.text_document_rename_async(
            lsp.RenameParams(text_document=doc(uri), position=position_of(JOURNEY, "stage lost", offset=7),
                             new_name="goal")
        )


async def test_definition_and_references_of_a_trigger(client: LanguageClient) -> None:
    uri = await open_doc(client, "refs", JOURNEY)
    in_scenario = position_of(JOURNEY, "trial_nudge", nth=1, offset=2)
    found = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=doc(uri), position=in_scenario)
    )
    assert isinstance(found, lsp.Location)
    assert found.range.start == position_of(JOURNEY, "trial_nudge")
    refs = await client.text_document_references_async(
        lsp.ReferenceParams(text_document=doc(uri), position=in_scenario,
                            context=lsp.ReferenceContext(include_declaration=True))
    )
    assert sorted(r.range.start.line for r in refs) == [
        position_of(JOURNEY, "trial_nudge").line, position_of(JOURNEY, "trial_nudge", nth=1).line
    ]


async def test_document_symbols_nest_stages_in_their_phase(client: LanguageClient) -> None:
    uri = await open_doc(client, "symbols", JOURNEY)
    (journey,) = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(text_document=doc(uri))
    )
    assert isinstance(journey, lsp.DocumentSymbol)
    top = [(s.name, s.kind) for s in journey.children or []]
    assert ("Acquisition", lsp.SymbolKind.Namespace) in top
    assert ("trial", lsp.SymbolKind.Class) in top
    assert ("nudge", lsp.SymbolKind.Interface) in top
    assert ("trial_nudge", lsp.SymbolKind.Event) in top
    assert ("early", lsp.SymbolKind.Package) in top
    phase = next(s for s in journey.children or [] if s.name == "Acquisition")
    assert [s.name for s in phase.children or []] == ["visitor"]


async def test_hover_on_a_stage_shows_its_exits_and_exact_reach(client: LanguageClient) -> None:
    uri = await open_doc(client, "hover", JOURNEY)
    hover = await client.text_document_hover_async(
        lsp.HoverParams(text_document=doc(uri), position=position_of(JOURNEY, "stage trial", offset=8))
    )
    assert hover is not None
    text = hover.contents.value  # type: ignore[union-attr]
    assert "trial -> customer 25%" in text and "trial -> lost otherwise" in text
    assert "Stays: `dwell uniform(7 days, 14 days)`" in text
    assert "Reached by **12.0%**" in text  # 12% of visitors start a trial, exactly
    keyword = await client.text_document_hover_async(
        lsp.HoverParams(text_document=doc(uri), position=position_of(JOURNEY, "otherwise", offset=2))
    )
    assert keyword is not None and "rest of the customers" in keyword.contents.value  # type: ignore[union-attr]


# --- changes to the text -------------------------------------------------------------------------------


async def test_formatting_gives_the_layout_of_fmt(client: LanguageClient) -> None:
    messy = JOURNEY.replace("    visitor -> trial 12%", "visitor->trial   0.12").replace("stage lost { terminal }",
                                                                                        "stage lost{terminal}")
    uri = await open_doc(client, "format", messy)
    edits = await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(text_document=doc(uri), options=lsp.FormattingOptions(tab_size=4,
                                                                                            insert_spaces=True))
    )
    assert edits
    assert apply_edits(messy, edits) == format_source(messy)


async def test_formatting_a_broken_file_changes_nothing(client: LanguageClient) -> None:
    uri = await open_doc(client, "format_broken", JOURNEY.replace("12%", "12 %%"))
    edits = await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(text_document=doc(uri), options=lsp.FormattingOptions(tab_size=4,
                                                                                            insert_spaces=True))
    )
    assert not edits


async def test_a_did_you_mean_has_a_quick_fix(client: LanguageClient) -> None:
    text = JOURNEY.replace("then 30% -> customer", "then 30% -> custmer")
    uri = await open_doc(client, "quickfix", text)
    (d,) = await diagnostics_of(client, uri)
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(text_document=doc(uri), range=d.range, context=lsp.CodeActionContext(diagnostics=[d]))
    )
    assert actions
    (action,) = actions
    assert isinstance(action, lsp.CodeAction)
    assert action.title == "Replace with 'customer'"
    assert action.kind == lsp.CodeActionKind.QuickFix
    assert action.edit is not None and action.edit.changes is not None
    assert apply_edits(text, action.edit.changes[uri]) == JOURNEY


async def test_a_misspelt_keyword_has_a_quick_fix(client: LanguageClient) -> None:
    text = JOURNEY.replace("customer -> churned 5% per month", "customer -> churned 5% per mnth")
    uri = await open_doc(client, "quickfix_unit", text)
    (d,) = await diagnostics_of(client, uri)
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(text_document=doc(uri), range=d.range, context=lsp.CodeActionContext(diagnostics=[d]))
    )
    assert [a.title for a in actions or []] == ["Replace with 'month'"]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' draws the map")
async def test_render_command_draws_the_open_document(client: LanguageClient) -> None:
    uri = await open_doc(client, "render", JOURNEY)
    result = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="journeydsl.renderSvg", arguments=[uri])
    )
    assert "svg" in result and "<svg" in result["svg"] and "Free trial" in result["svg"]
    broken = await open_doc(client, "render_broken", JOURNEY.replace("send nudge", "send nudg"))
    result = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="journeydsl.renderSvg", arguments=[broken])
    )
    assert "error" in result and "line 21" in result["error"]


async def test_changes_in_quick_succession_are_checked_once() -> None:
    """The debounce: three keystrokes within the wait give one check, after the last one."""
    from journeydsl.editor.lsp import DEFAULT_DEBOUNCE_MS, JourneyLanguageServer

    assert DEFAULT_DEBOUNCE_MS == 300
    server = JourneyLanguageServer()
    server.debounce_ms = 40
    published: list[tuple[str, float]] = []
    loop = asyncio.get_running_loop()
    server.publish = lambda uri: published.append((uri, loop.time()))  # type: ignore[method-assign]
    start = loop.time()
    for _ in range(3):
        server.schedule("file:///a.journey")
        await asyncio.sleep(0.01)
    server.schedule("file:///b.journey")
    await asyncio.sleep(0.3)
    assert sorted(uri for uri, _ in published) == ["file:///a.journey", "file:///b.journey"]
    assert all(at - start >= 0.04 for _, at in published)
