"""Starting journeys for ``journeydsl init``: the commented examples, shipped in the wheel.

In an installed wheel they live in ``journeydsl/templates/``; in a checkout
they are read from ``examples/journeys/``, so the two never drift apart.
"""

from __future__ import annotations

from pathlib import Path

from journeydsl.language.errors import did_you_mean

__all__ = ["template_names", "template_text"]


def _folder() -> Path:
    package = Path(__file__).resolve().parents[1]  # journeydsl/
    shipped = package / "templates"
    if shipped.is_dir():
        return shipped
    return package.parent / "examples" / "journeys"


def _summary(path: Path) -> str:
    """The journey's title from its ``journey "..."`` line, else the first comment."""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("journey "):
            return stripped.removeprefix("journey ").split("{")[0].strip().strip('"')
    return ""


def template_names() -> list[tuple[str, str]]:
    """``(name, title)`` of every template, sorted by name."""
    return [(p.stem, _summary(p)) for p in sorted(_folder().glob("*.journey"))]


def template_text(name: str) -> str:
    """The text of template ``name`` (``KeyError`` with a did-you-mean when there is none)."""
    path = _folder() / f"{name}.journey"
    if not path.is_file():
        names = [n for n, _ in template_names()]
        hint = did_you_mean(name, names)
        listed = ", ".join(names)
        raise KeyError(f"no template '{name}'" + (f"; {hint}" if hint else f" (there are: {listed})"))
    return path.read_text(encoding="utf-8")
