"""Highlighting never drifts from the parser: the TextMate grammar and the Pygments lexer.

The keyword lists of both are read from ``grammars/journey.lark``; these tests
fail when the committed VS Code grammar is stale, when a keyword of the parser
is not highlighted as one, and when the Pygments lexer meets text it cannot
lex in any example or documentation block.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from journeydsl.editor.keywords import grammar_words
from journeydsl.editor.tmlanguage import OUTPUT, keyword_words, tm_grammar_json
from journeydsl.language.parser import parser

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "journeys").glob("*.journey"))
DOCS = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
COMMITTED = ROOT / OUTPUT


def _journey_blocks() -> list[tuple[str, str]]:
    blocks = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for i, m in enumerate(re.finditer(r"```journey\n(.*?)```", text, re.S)):
            blocks.append((f"{doc.relative_to(ROOT)}#{i + 1}", m.group(1)))
    return blocks


def _lark_keywords() -> set[str]:
    """The keywords as the compiled Lark parser knows them (not our reading of the .lark text)."""
    found = set()
    for t in parser().terminals:
        value = t.pattern.value
        if type(t.pattern).__name__ == "PatternStr" and re.fullmatch(r"[A-Za-z_]+", value):
            found.add(value)
    return found


def test_grammar_words_are_the_parsers_terminals() -> None:
    words = grammar_words()
    assert set(words.keywords.values()) == _lark_keywords()
    terminals = {t.name: t.pattern.value for t in parser().terminals}
    for kind in words.dist_kinds:
        assert re.match(terminals["DIST_KIND"], f"{kind}(")
    for unit in words.units:
        assert re.match(terminals["UNIT"], unit) and re.match(terminals["UNIT"], unit + "s")
    for param in words.dist_params:
        assert re.match(terminals["PARAM"], param)
    assert {"journey", "stage", "touchpoint", "trigger", "scenario", "segment", "phase"} <= set(words.declarations)


def test_committed_textmate_grammar_is_generated_from_the_lark_grammar() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == tm_grammar_json(), (
        "editors/vscode/syntaxes/journey.tmLanguage.json is stale: "
        "run `python -m journeydsl.editor.tmlanguage --write`"
    )


def test_textmate_keywords_equal_the_lark_keywords() -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert keyword_words(committed) == _lark_keywords()


# --- a small TextMate tokenizer, to check the grammar's scopes against the parser's tokens ----------------


def _tm_scopes(grammar: dict, text: str) -> list[tuple[int, int, str]]:
    """(start, end, scope) over ``text``, applying the top-level patterns the way TextMate does.

    At each position the match that starts earliest wins, ties going to the
    pattern listed first; a capture's scope covers its group.
    """
    repo = grammar["repository"]
    rules: list[dict] = []

    def flatten(rule: dict) -> None:
        if "include" in rule:
            flatten(repo[rule["include"].lstrip("#")])
        elif "patterns" in rule and "match" not in rule and "begin" not in rule:
            for r in rule["patterns"]:
                flatten(r)
        else:
            rules.append(rule)

    for r in grammar["patterns"]:
        flatten(r)
    compiled = [(re.compile(r.get("match") or r["begin"], re.M), r) for r in rules]
    out: list[tuple[int, int, str]] = []
    pos = 0
    while pos < len(text):
        best = None
        for rx, rule in compiled:
            m = rx.search(text, pos)
            if m and m.end() > m.start() and (best is None or m.start() < best[0].start()):
                best = (m, rule)
        if best is None:
            break
        m, rule = best
        end = m.end()
        if "begin" in rule:
            close = re.compile(rule["end"], re.M).search(text, m.end())
            end = close.end() if close else len(text)
            out.append((m.start(), end, rule["name"]))
        elif "captures" in rule:
            for group, cap in rule["captures"].items():
                if m.group(int(group)) is not None:
                    out.append((m.start(int(group)), m.end(int(group)), cap["name"]))
        else:
            out.append((m.start(), m.end(), rule["name"]))
        pos = end
    return out


_EXPECTED_SCOPE = {
    "DIST_KIND": "support.function",
    "PARAM": "variable.parameter",
    "UNIT": "support.constant.unit",
    "CURRENCY": "support.constant.currency",
    "NUMBER": "constant.numeric",
    "PERCENT": "constant.numeric",
    "STRING": "string.quoted",
}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_textmate_scopes_agree_with_the_parsers_tokens(path: Path) -> None:
    """Every keyword, distribution, unit, number and label the parser reads is coloured as one."""
    text = path.read_text(encoding="utf-8")
    grammar = json.loads(COMMITTED.read_text(encoding="utf-8"))
    scopes = _tm_scopes(grammar, text)
    offsets = [0]
    for line in text.split("\n"):
        offsets.append(offsets[-1] + len(line) + 1)
    keywords = grammar_words().keywords
    checked = 0
    for tok in parser().parse_interactive(text).iter_parse():
        start = offsets[tok.line - 1] + tok.column - 1
        scope = next((s for a, b, s in scopes if a <= start < b), "")
        if tok.type in keywords:
            expected = "storage.type" if tok.value in grammar_words().declarations else "keyword.other"
        elif tok.type in _EXPECTED_SCOPE:
            expected = _EXPECTED_SCOPE[tok.type]
        elif tok.type == "NAME":
            assert not scope.startswith(("keyword", "storage")), f"{path.name}:{tok.line}: name {tok!r} is {scope}"
            continue
        else:
            continue
        assert scope.startswith(expected), f"{path.name}:{tok.line}:{tok.column}: {tok.value!r} is {scope!r}"
        checked += 1
    assert checked > 50


# --- VS Code's own TextMate engine (Oniguruma), when editors/vscode has its npm packages -------------------

SNAP = ROOT / "editors" / "vscode" / "node_modules" / ".bin" / "vscode-tmgrammar-snap"


def _snapshot_scopes(snap: str) -> dict[tuple[int, int], str]:
    """(line, column) -> scopes, 1-based, read from a vscode-tmgrammar-snap snapshot."""
    scopes: dict[tuple[int, int], str] = {}
    line = 0
    for row in snap.split("\n"):
        if row.startswith(">"):
            line += 1
        elif row.startswith("#") and line:
            m = re.match(r"#( *)(\^+) (.*)$", row)
            if m:
                start = len(m.group(1)) + 1
                for col in range(start, start + len(m.group(2))):
                    scopes[(line, col)] = m.group(3)
    return scopes


@pytest.mark.skipif(not SNAP.exists(), reason="run 'npm ci' in editors/vscode for VS Code's TextMate engine")
def test_vscode_engine_colours_what_the_parser_reads(tmp_path: Path) -> None:
    """The grammar, run by vscode-tmgrammar-test (VS Code's vscode-textmate and Oniguruma), on every example."""
    import shutil
    import subprocess

    for path in EXAMPLES:
        shutil.copy(path, tmp_path / path.name)
    subprocess.run(
        [str(SNAP), "--scope", "source.journey", "-g", str(COMMITTED), "--updateSnapshot", str(tmp_path / "*.journey")],
        check=True, capture_output=True, timeout=300,
    )
    keywords = grammar_words().keywords
    for path in EXAMPLES:
        scopes = _snapshot_scopes((tmp_path / (path.name + ".snap")).read_text(encoding="utf-8"))
        text = path.read_text(encoding="utf-8")
        checked = 0
        for tok in parser().parse_interactive(text).iter_parse():
            scope = scopes.get((tok.line, tok.column), "").replace("source.journey", "").strip()
            if tok.type in keywords:
                expected = "storage.type" if tok.value in grammar_words().declarations else "keyword.other"
            elif tok.type in _EXPECTED_SCOPE:
                expected = _EXPECTED_SCOPE[tok.type]
            elif tok.type == "NAME":
                assert not scope.startswith(("keyword", "storage")), f"{path.name}:{tok.line}: {tok!r} is {scope}"
                continue
            else:
                continue
            assert scope.startswith(expected), f"{path.name}:{tok.line}:{tok.column}: {tok.value!r} is {scope!r}"
            checked += 1
        assert checked > 50, path.name


# --- Pygments ----------------------------------------------------------------------------------------------


def _error_tokens(text: str) -> list[str]:
    from pygments import lex
    from pygments.token import Error

    from journeydsl.editor.lexer import JourneyLexer

    return [value for token, value in lex(text, JourneyLexer()) if token in Error]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_pygments_lexes_every_example_without_errors(path: Path) -> None:
    assert _error_tokens(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(("where", "block"), _journey_blocks(), ids=lambda v: v if "#" in str(v) else "")
def test_pygments_lexes_every_docs_block_without_errors(where: str, block: str) -> None:
    assert _error_tokens(block) == [], where


def test_docs_have_journey_blocks() -> None:
    assert len(_journey_blocks()) >= 10


def test_pygments_finds_the_lexer_by_its_alias_and_file_name() -> None:
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename

    assert type(get_lexer_by_name("journey")).__name__ == "JourneyLexer"
    assert type(get_lexer_for_filename("saas_trial.journey")).__name__ == "JourneyLexer"


def test_pygments_marks_unknown_characters_as_errors() -> None:
    assert _error_tokens("stage a { cost 5 € }") == ["€"]
