"""The Python examples in the docs run as written, in order, from a folder holding the examples."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "docs" / "api.md", ROOT / "docs" / "commands" / "render.md"]


def _blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_python_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("dot") is None:
        pytest.skip("the examples draw SVG maps, which need Graphviz 'dot'")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    blocks = _blocks(page)
    assert blocks, f"no python blocks in {page.name}"
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, f"{page.name} block", "exec"), namespace)  # the docs' own code
    written = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    if page.name == "api.md":
        assert {"map.svg", "flows.svg"} <= set(written)
        assert "per 1,000" in Path("flows.svg").read_text(encoding="utf-8")
