"""Where commands write: never over their own input, '-' is the terminal, bad paths are usage errors.

Every command that writes a file goes through ``journeydsl.language.fileio``; these
tests run each command as a user would and look at the files left behind.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from journeydsl.cli import main
from journeydsl.language.fileio import CannotWrite, atomic_write, check_output, write_output

#: The ``cli`` fixture (tests/conftest.py): ``cli(*args) -> (exit code, stdout, stderr)``.
Cli = Callable[..., tuple[int, str, str]]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- never the input --------------------------------------------------------------

#: Each command that writes, as (the arguments given the journey and the output path).
WRITERS: dict[str, Callable[[Path, str], list[str]]] = {
    "simulate": lambda j, o: ["simulate", str(j), "-n", "200", "-f", "json", "-o", o],
    "simulate --exact": lambda j, o: ["simulate", str(j), "--exact", "-o", o],
    "compare (baseline)": lambda j, o: ["compare", str(j), str(j.with_name("other.journey")), "-n", "200",
                                        "-o", o],
    "compare (second)": lambda j, o: ["compare", str(j.with_name("other.journey")), str(j), "-n", "200",
                                      "-o", o],
    "report": lambda j, o: ["report", str(j), "-n", "200", "-o", o],
    "render dot": lambda j, o: ["render", str(j), "-f", "dot", "-o", o],
    "render mermaid": lambda j, o: ["render", str(j), "-f", "mermaid", "-o", o],
    "render svg": lambda j, o: ["render", str(j), "-f", "svg", "-o", o],
    "sensitivity": lambda j, o: ["sensitivity", str(j), "-n", "200", "-o", o],
    "attribute": lambda j, o: ["attribute", str(j), "-n", "200", "-o", o],
    "forecast": lambda j, o: ["forecast", str(j), "-n", "200", "-o", o],
    "fit --into": lambda j, o: ["fit", str(j.with_name("events.csv")), "--into", str(j), "-o", o],
}

#: Ways to name the input file again: the same path, a symbolic link, a hard link, a detour.
ALIASES: dict[str, Callable[[Path], str]] = {
    "same path": lambda j: str(j),
    "symlink": lambda j: (j.with_name("alias.out").symlink_to(j), str(j.with_name("alias.out")))[1],
    "hard link": lambda j: (os.link(j, j.with_name("hard.out")), str(j.with_name("hard.out")))[1],
    "detour": lambda j: str(j.parent / ".." / j.parent.name / "." / j.name),
}


@pytest.mark.parametrize("alias", sorted(ALIASES))
@pytest.mark.parametrize("command", sorted(WRITERS))
def test_no_command_writes_over_its_input(
    cli: Cli, small: Path, small_text: str, command: str, alias: str
) -> None:
    small.with_name("other.journey").write_text(small_text, encoding="utf-8")
    small.with_name("events.csv").write_text("case_id,stage,entered_at\n1,visitor,2026-01-01\n", encoding="utf-8")
    out = ALIASES[alias](small)
    code, stdout, err = cli(*WRITERS[command](small, out))
    assert code == 2, err
    assert "cannot write" in err and "it is the input file" in err
    assert small.read_text(encoding="utf-8") == small_text
    assert small.with_name("other.journey").read_text(encoding="utf-8") == small_text
    assert stdout == "" and _leftovers(small.parent) == []


def test_render_default_name_that_is_the_input_is_refused(cli: Cli, tmp_path: Path, small_text: str) -> None:
    # 'render map.svg' would write map.svg next to itself: the journey is kept
    journey = tmp_path / "map.svg"
    journey.write_text(small_text, encoding="utf-8")
    code, _, err = cli("render", str(journey))
    assert code == 2 and "it is the input file" in err
    assert journey.read_text(encoding="utf-8") == small_text
    # a link named like the default output, pointing at the journey, is the journey too
    real = tmp_path / "real.journey"
    real.write_text(small_text, encoding="utf-8")
    (tmp_path / "linked.dot").symlink_to(real)
    code, _, err = cli("render", str(tmp_path / "linked.dot"), "-f", "dot")
    assert code == 2 and "it is the input file" in err
    assert real.read_text(encoding="utf-8") == small_text


def test_refusal_comes_before_the_simulation(
    cli: Cli, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import journeydsl.api

    def no_run(*_a: object, **_k: object) -> None:
        raise AssertionError("simulated before checking the output path")

    monkeypatch.setattr(journeydsl.api, "simulate", no_run)
    code, _, err = cli("simulate", str(small), "-o", str(small))
    assert code == 2 and "it is the input file" in err
    code, _, err = cli("report", str(small), "-o", str(small.parent / "nope" / "r.html"))
    assert code == 2 and "no such folder" in err


# --- bad output paths: exit 2, one message, nothing written ----------------------------


@pytest.mark.parametrize(
    "argv, reason",
    [
        (["simulate", "{j}", "-n", "200", "-o", "/nonexistent/dir/out.txt"], "no such folder '/nonexistent/dir'"),
        (["compare", "{j}", "{j}", "-n", "200", "-o", "/nonexistent/dir/out.csv"], "no such folder"),
        (["report", "{j}", "-n", "200", "-o", "{dir}"], "it is a folder"),
        (["simulate", "{j}", "-n", "200", "-o", "{dir}"], "it is a folder"),
        (["init", "/nonexistent/dir/x.journey"], "no such folder '/nonexistent/dir'"),
        (["render", "{j}", "-f", "dot", "-o", "/nonexistent/x.dot"], "no such folder '/nonexistent'"),
        (["render", "{j}", "-f", "dot", "-o", "{j}/x.dot"], "is not a folder"),
        (["simulate", "{j}", "-n", "200", "-o", "/proc/out.json"], ""),
    ],
)
def test_bad_output_path_is_a_usage_error(
    cli: Cli, small: Path, argv: list[str], reason: str
) -> None:
    args = [a.replace("{j}", str(small)).replace("{dir}", str(small.parent)) for a in argv]
    code, _out, err = cli(*args)
    assert code == 2, err
    assert err.startswith(f"journeydsl {args[0]}: error: cannot write ")
    assert reason in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in small.parent.iterdir()) == ["small.journey"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder_is_a_usage_error(cli: Cli, small: Path) -> None:
    folder = small.parent / "locked"
    folder.mkdir(mode=0o500)
    code, _, err = cli("simulate", str(small), "-n", "200", "-o", str(folder / "x.json"))
    assert code == 2 and "permission denied" in err


def test_failed_write_leaves_nothing_and_is_a_usage_error(
    cli: Cli, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    out = small.parent / "out.json"
    monkeypatch.setattr(os, "replace", full_disk)
    code, _, err = cli("simulate", str(small), "-n", "200", "-f", "json", "-o", str(out))
    assert code == 2 and "cannot write" in err and "no space left on device" in err
    assert sorted(p.name for p in small.parent.iterdir()) == ["small.journey"]


# --- '-' is the terminal, for every command ----------------------------------------------


@pytest.mark.parametrize(
    "argv, starts",
    [
        (["simulate", "{j}", "-n", "200", "-f", "json", "-o", "-"], "{"),
        (["simulate", "{j}", "--exact", "-o", "-"], "Small funnel"),
        (["compare", "{j}", "{j}", "-n", "200", "-f", "csv", "-o", "-"], "scenario,segment"),
        (["report", "{j}", "-n", "200", "-o", "-"], "<!DOCTYPE html>"),
        (["render", "{j}", "-f", "mermaid", "-o", "-"], "---"),
        (["init", "-"], "journey "),
    ],
)
def test_dash_means_the_terminal(
    cli: Cli, small: Path, argv: list[str], starts: str
) -> None:
    args = [a.replace("{j}", str(small)) for a in argv]
    code, out, err = cli(*args, "-q")
    assert code == 0, err
    assert out.startswith(starts)
    assert not (small.parent / "-").exists() and not Path("-").exists()
    if args[:3] == ["simulate", str(small), "-n"]:
        json.loads(out)


def test_png_to_the_terminal_is_bytes(capsysbinary: pytest.CaptureFixture[bytes], small: Path) -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' is not installed")
    code = main(["render", str(small), "-f", "png", "-o", "-", "-q"])
    out, err = capsysbinary.readouterr()
    assert code == 0, err
    assert out.startswith(b"\x89PNG\r\n\x1a\n")


# --- the writer itself ---------------------------------------------------------------------


def test_atomic_write_keeps_mode_and_writes_through_links(tmp_path: Path) -> None:
    target = tmp_path / "real.txt"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o600)
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    atomic_write(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text(encoding="utf-8") == "new"
    assert target.stat().st_mode & 0o777 == 0o600
    assert _leftovers(tmp_path) == []


def test_new_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o640


def test_check_output_and_write_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.journey"
    src.write_text("x", encoding="utf-8")
    with pytest.raises(CannotWrite, match="it is the input file"):
        check_output(tmp_path / "." / "a.journey", [src])
    check_output(tmp_path / "b.txt", [src])  # a new file next to it is fine
    check_output("-", [src])
    assert write_output("-", "hello") is False
    assert capsys.readouterr().out == "hello\n"
    assert write_output(tmp_path / "b.txt", "hi", [src]) is True
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "hi"


def test_api_render_never_replaces_the_journey(small: Path, small_text: str) -> None:
    import journeydsl as jd
    from journeydsl.outputs.maps import RenderError

    journey = jd.load(small)
    with pytest.raises(RenderError, match="journey's own file"):
        jd.render(journey, small, format="dot")
    assert small.read_text(encoding="utf-8") == small_text
    jd.render(journey, small.with_suffix(".dot"), format="dot")
    assert small.with_suffix(".dot").read_text(encoding="utf-8").startswith("digraph")
