"""``journeydsl lsp`` on the command line: lazy, and a clear message when the [lsp] extra is missing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from journeydsl.cli import main


def test_lsp_without_pygls_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "pygls", None)  # as if it were not installed
    assert main(["lsp"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'journeydsl[lsp]'" in err
    assert "Traceback" not in err


def test_other_commands_do_not_import_the_language_server() -> None:
    code = "import sys, journeydsl.cli; journeydsl.cli.build_parser(); print('pygls' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_help_lists_the_lsp_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "lsp" in capsys.readouterr().out
