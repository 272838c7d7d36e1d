"""The VS Code extension's files agree with each other, with the server and with the language."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from journeydsl.language.parser import parse
from journeydsl.language.source import Source

VSCODE = Path(__file__).resolve().parent.parent / "editors" / "vscode"


def _manifest() -> dict:
    return json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))


def _expand(body: list[str]) -> str:
    """A snippet as inserted with every default accepted (the first of each choice)."""
    text = "\n".join(body)
    for _ in range(5):  # placeholders nest
        text = re.sub(r"\$\{\d+:((?:[^${}]|\\\})*)\}", r"\1", text)
        text = re.sub(r"\$\{\d+\|([^,|]*)(?:,[^|]*)*\|\}", r"\1", text)
    return re.sub(r"\$0", "", re.sub(r"\$([1-9]\d*)", "x", text)).replace("\\}", "}").replace("\\,", ",")


def test_every_contributed_file_exists() -> None:
    contributes = _manifest()["contributes"]
    paths = [contributes["languages"][0]["configuration"]]
    paths += [g["path"] for g in contributes["grammars"]] + [s["path"] for s in contributes["snippets"]]
    paths.append(_manifest()["main"])
    for p in paths:
        assert (VSCODE / p).is_file(), p
    assert contributes["languages"][0]["extensions"] == [".journey"]
    assert contributes["grammars"][0]["scopeName"] == "source.journey"


@pytest.mark.parametrize("name", sorted(json.loads((VSCODE / "snippets" / "journey.json").read_text())))
def test_every_snippet_inserts_valid_journey_text(name: str) -> None:
    snippet = json.loads((VSCODE / "snippets" / "journey.json").read_text())[name]
    text = _expand(snippet["body"])
    if not text.startswith("journey"):
        text = 'journey "J" {\n' + text + "\n}"
    parse(Source(f"{name}-snippet", text))  # raises with the place of the mistake


def test_the_extension_asks_the_server_for_the_command_it_serves() -> None:
    pytest.importorskip("pygls")
    from journeydsl.editor.lsp import RENDER_COMMAND

    script = (VSCODE / "extension.js").read_text(encoding="utf-8")
    assert f'"{RENDER_COMMAND}"' in script
    commands = {c["command"] for c in _manifest()["contributes"]["commands"]}
    for command in commands:
        assert f'registerCommand("{command}"' in script
    assert {"journeydsl.showMap"} == commands


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js checks the extension's syntax")
def test_the_extension_script_is_valid_javascript() -> None:
    subprocess.run(["node", "--check", str(VSCODE / "extension.js")], check=True)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js runs the extension")
def test_the_extension_starts_the_server_and_shows_the_map() -> None:
    """extension.js with VS Code faked: it starts 'journeydsl lsp' and shows the rendered SVG as an image."""
    out = subprocess.run(["node", str(VSCODE / "test" / "smoke.js")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
