"""The package's layers import only downwards (language < engine < analysis < outputs < editor < api < cli).

A strategist never sees this, but the next engineer does: an upward import is how a
model starts to need Graphviz, or the engine a report. ``style.md`` has the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "journeydsl"
ORDER = ["language", "engine", "analysis", "outputs", "editor", "api", "cli"]


def _layer(module: str) -> str | None:
    """'journeydsl.engine.montecarlo.plan' -> 'engine'; the package root (its version) has no layer."""
    parts = module.split(".")
    if parts[0] != "journeydsl" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in ORDER else None


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every journeydsl module a file imports, at any depth (lazy imports inside functions too)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] if node.module == "journeydsl" else [node.module]
            out += [(node.lineno, n) for n in names]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return out


def test_every_module_lives_in_a_layer() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.stem not in {"__init__", "__main__", "api", "cli"})
    assert loose == [], f"modules outside the layer folders: {loose}"


def test_imports_point_down_only() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        own = _layer(".".join(rel.parts))
        if own is None:
            continue
        for line, module in _imports(path):
            target = _layer(module)
            if target is not None and ORDER.index(target) > ORDER.index(own):
                upward.append(f"{rel}.py:{line} ({own}) imports {module} ({target})")
    assert upward == [], "upward imports:\n" + "\n".join(upward)
