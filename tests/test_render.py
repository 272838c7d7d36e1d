"""Tests for journeydsl.outputs.maps: DOT, Mermaid, SVG and PNG journey maps.

Golden files live in ``tests/golden/render/`` (``NAME.dot`` and ``NAME.mmd``,
one pair per journey built by ``JOURNEYS`` below). After an intended change
to the maps, regenerate them with::

    JOURNEYDSL_REGEN=1 python -m pytest tests/test_render.py -q -p no:cacheprovider

and review the diff before committing.

The Mermaid output is also checked by Mermaid's own parser when
``JOURNEYDSL_MERMAID_MODULES`` names a ``node_modules`` folder holding
``mermaid`` and ``jsdom`` (``npm install mermaid@11 jsdom`` in any folder);
without it that one test is skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeydsl.language.model import (
    DAYS,
    CashFlow,
    Dist,
    Journey,
    Purchases,
    Stage,
    Touchpoint,
    Transition,
    Trigger,
)
from journeydsl.outputs import maps as rd
from journeydsl.outputs.maps import Flows, RenderError, render, to_dot, to_mermaid

GOLDEN = Path(__file__).parent / "golden" / "render"
REGEN = os.environ.get("JOURNEYDSL_REGEN") == "1"
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' is not installed")
MONTH = DAYS["month"]
SVG_NS = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script> "q" \\ ] [x] & #quot; |p| `b` ;'


# --- journeys ----------------------------------------------------------------


def saas() -> Journey:
    """The design's SaaS trial: phases, a rate, a trigger with and one without ``then``, touchpoints."""
    return Journey(
        name="SaaS free trial",
        currency="EUR",
        horizon_days=730,
        phases=("Acquisition", "Conversion", "Retention"),
        stages=(
            Stage(
                name="visitor",
                label="Website visitor",
                phase="Acquisition",
                entry=1.0,
                dwell=Dist(kind="exponential", mean=2),
                touches=("ads",),
            ),
            Stage(
                name="lead", label="Lead", phase="Acquisition", dwell=Dist(kind="gamma", shape=2, mean=5)
            ),
            Stage(
                name="trial",
                label="Free trial",
                phase="Conversion",
                dwell=Dist(kind="uniform", low=7, high=14),
            ),
            Stage(
                name="customer",
                label="Paying customer",
                phase="Retention",
                goal=True,
                active=True,
                revenue=(CashFlow(amount=49, period_days=MONTH),),
                costs=(CashFlow(amount=4, period_days=MONTH),),
                purchases=(
                    Purchases(
                        rate=0.5, per_days=365, worth=Dist(kind="lognormal", mean=120, sd=40)
                    ),
                ),
            ),
            Stage(name="churned", label="Churned", terminal=True),
            Stage(name="lost", terminal=True),
        ),
        touchpoints=(
            Touchpoint(name="ads", label="Paid social", channel="paid_social", cost=1.2),
            Touchpoint(name="nudge", label="Trial nudge", channel="email", cost=0.02, response=0.2),
            Touchpoint(name="demo", label="Sales demo", channel="phone", cost=15),
        ),
        transitions=(
            Transition(source="visitor", target="lead", share=0.3),
            Transition(source="visitor", target="lost", otherwise=True),
            Transition(source="lead", target="trial", share=0.4, after=Dist(kind="fixed", value=3)),
            Transition(source="lead", target="lost", otherwise=True),
            Transition(source="trial", target="customer", share=0.25, via="demo"),
            Transition(source="trial", target="lost", otherwise=True),
            Transition(source="customer", target="churned", rate=0.05, period_days=MONTH),
        ),
        triggers=(
            Trigger(
                name="trial_nudge",
                label="Nudge on day 7",
                when="in",
                stage="trial",
                days=7,
                send="nudge",
                then_share=0.3,
                then_stage="customer",
            ),
            Trigger(
                name="newsletter",
                label="Monthly newsletter",
                when="every",
                stage="customer",
                days=MONTH,
                send="nudge",
                limit=12,
            ),
        ),
    )


def cyrillic() -> Journey:
    """Russian and Bulgarian labels, two entries, a weekly rate and an exponential delay."""
    return Journey(
        name="Путь клиента — Клиентски път",
        currency="BGN",
        phases=("Привлечение",),
        stages=(
            Stage(name="site", label="Посетитель сайта", phase="Привлечение", entry=0.6),
            Stage(name="shop", label="Магазин в София", phase="Привлечение", entry=0.4),
            Stage(
                name="buyer",
                label="Купувач",
                goal=True,
                active=True,
                revenue=(CashFlow(amount=25.5),),
            ),
            Stage(name="gone", label="Загубен клиент", terminal=True),
        ),
        transitions=(
            Transition(
                source="site", target="buyer", share=0.125, after=Dist(kind="exponential", mean=3)
            ),
            Transition(source="site", target="gone", otherwise=True),
            Transition(source="shop", target="buyer", share=0.5),
            Transition(source="shop", target="gone", share=0.5),
            Transition(source="buyer", target="gone", rate=0.1, period_days=14),
        ),
    )


SAAS_FLOWS = Flows(
    per_1000_edges={
        ("visitor", "lead"): 300.0,
        ("visitor", "lost"): 700.0,
        ("lead", "trial"): 120.0,
        ("lead", "lost"): 180.0,
        ("trial", "customer"): 41.5,
        ("trial", "lost"): 78.5,
        ("customer", "churned"): 20.0,
    },
    stage_reach={
        "visitor": 1.0,
        "lead": 0.3,
        "trial": 0.12,
        "customer": 0.0415,
        "churned": 0.02,
        "lost": 0.9585,
    },
)

JOURNEYS: dict[str, tuple[Callable[[], Journey], Flows | None]] = {
    "saas": (saas, None),
    "cyrillic": (cyrillic, None),
    "saas_flows": (saas, SAAS_FLOWS),
}


def hostile() -> Journey:
    """Every piece of user text is an attack on DOT, Mermaid or XML."""
    weird = 'we"ird\\name]'
    return Journey(
        name=HOSTILE,
        currency="EUR",
        phases=(HOSTILE,),
        stages=(
            Stage(name="a", label=HOSTILE, phase=HOSTILE, entry=1.0, touches=("t",)),
            Stage(name=weird, label=weird, terminal=True),
            Stage(name="end", label="}\n]; node [x", terminal=True),
        ),
        touchpoints=(Touchpoint(name="t", label=HOSTILE, channel=HOSTILE),),
        transitions=(
            Transition(source="a", target=weird, share=0.3, via="t"),
            Transition(source="a", target="end", otherwise=True),
        ),
        triggers=(Trigger(name="tg", label=HOSTILE, when="enter", stage="a", send="t"),),
    )


def svg_text(svg: bytes) -> str:
    """All text drawn in an SVG (parsing it is the validity check), one text element a line."""
    root = ET.fromstring(svg)
    return "\n".join("".join(t.itertext()) for t in root.iter(f"{SVG_NS}text"))


# --- golden files --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(JOURNEYS))
@pytest.mark.parametrize(("ext", "build"), [("dot", to_dot), ("mmd", to_mermaid)])
def test_golden(name: str, ext: str, build: Callable[..., str]) -> None:
    make, flows = JOURNEYS[name]
    got = build(make(), flows=flows)
    path = GOLDEN / f"{name}.{ext}"
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with JOURNEYDSL_REGEN=1"
    assert got == path.read_text(encoding="utf-8"), f"{path} differs; JOURNEYDSL_REGEN=1 to update"


def test_output_is_deterministic() -> None:
    for make, flows in JOURNEYS.values():
        assert to_dot(make(), flows=flows) == to_dot(make(), flows=flows)
        assert to_mermaid(make(), flows=flows) == to_mermaid(make(), flows=flows)


def test_output_does_not_depend_on_hash_seed() -> None:
    code = (
        "import sys; sys.path.insert(0, 'tests'); import test_render as t; "
        "from journeydsl.outputs.maps import to_dot, to_mermaid; "
        "print(to_dot(t.saas(), flows=t.SAAS_FLOWS) + to_mermaid(t.saas(), flows=t.SAAS_FLOWS))"
    )
    root = Path(__file__).parent.parent
    outs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            ["python", "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
        )
        outs.add(done.stdout)
    assert len(outs) == 1


# --- what the map says -----------------------------------------------------------


def test_dot_has_phase_clusters_in_order() -> None:
    dot = to_dot(saas())
    found = re.findall(r"subgraph cluster_phase_(\d+) \{\n[^\n]*\n[^\n]*?<B>([^<]*)</B>", dot)
    assert found == [("1", "Acquisition"), ("2", "Conversion"), ("3", "Retention")]
    # a stage without a phase sits outside every cluster
    before_first_cluster, _, rest = dot.partition("subgraph cluster_phase_1")
    assert '"churned" [' not in before_first_cluster
    assert rest.index('"churned" [') > rest.index("subgraph cluster_phase_3")


def test_stage_styles_follow_roles() -> None:
    dot = to_dot(saas())

    def line(name: str) -> str:
        return next(x for x in dot.splitlines() if x.strip().startswith(f'"{name}" [label='))

    assert "#DBEAFE" in line("visitor") and "ENTRY" in line("visitor")
    assert "peripheries=2" in line("customer") and "GOAL · ACTIVE" in line("customer")
    assert "#E5E7EB" in line("lost") and "END" in line("lost")
    assert 'style="filled"' in line("lost") and 'style="rounded,filled"' in line("lead")
    fills = {role: look.fill for role, look in rd._LOOKS.items()}
    assert len(set(fills.values())) == len(fills)


def _contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two ``#RRGGBB`` colours."""

    def lum(h: str) -> float:
        c = [int(h[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_palette_meets_wcag_aa_contrast() -> None:
    assert _contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    for look in rd._LOOKS.values():  # title, details, role badge and reach on each fill
        for ink in (rd._TEXT, rd._MUTED, look.border, rd._FLOW_COLOR):
            assert _contrast(ink, look.fill) >= 4.5, (ink, look.fill)
    for ink in (rd._BRANCH_COLOR, rd._RATE_COLOR, rd._TRIGGER_COLOR, rd._MUTED, rd._FLOW_COLOR):
        for ground in ("#FFFFFF", rd._CLUSTER_FILL):  # edge labels over the page or a phase
            assert _contrast(ink, ground) >= 4.5, (ink, ground)
    for ink in (rd._TRIGGER_COLOR, rd._MUTED):
        assert _contrast(ink, rd._NOTE_FILL) >= 4.5


def test_edge_and_stage_labels() -> None:
    dot = to_dot(saas())
    for text in (
        "30%",
        "rest 70%",
        "rest 60%",
        "rest 75%",
        "25%",
        "5%/month",
        "after 3 days",
        "via Sales demo (phone)",
        "stay ~2 days",
        "stay 1–2 weeks",
        "revenue €49/month",
        "cost €4/month",
        "0.5 purchases/year × ~€120",
        "on enter: Paid social (paid_social)",
        "day 7: Trial nudge (email), 20% respond → 30%",
        "every month (max 12): Trial nudge (email), 20% respond",
    ):
        assert text in dot, text
    cy = to_mermaid(cyrillic())
    for text in ("10% per 2 weeks", "12.5%", "after ~3 days", "60% of entries", "BGN\u00a025.50 on enter"):
        assert text in cy, text


def test_triggers_are_dashed_edges_or_notes() -> None:
    dot = to_dot(saas())
    edge = next(x for x in dot.splitlines() if x.startswith('  "trial" -> "customer"') and "dashed" in x)
    assert "#7C3AED" in edge and "Nudge on day 7" in edge
    assert re.search(r'"trigger newsletter" \[.*shape=note', dot)
    assert re.search(r'"customer" -> "trigger newsletter" \[style=dotted', dot)
    mmd = to_mermaid(saas())
    assert 'st_trial -.->|"⚡ Nudge on day 7<br/>' in mmd
    assert "st_customer -.- tg_newsletter" in mmd


def test_rate_formatting() -> None:
    assert rd._pct(0.3) == "30%"
    assert rd._pct(0.125) == "12.5%"
    assert rd._pct(1 / 3) == "33.3%"
    assert rd._pct(0.0005) == "0.05%"
    assert rd._per(MONTH) == "/month"
    assert rd._per(365 / 4) == "/quarter"
    assert rd._per(14) == " per 2 weeks"
    assert rd._per(10) == " per 10 days"
    assert rd._duration(730) == "2 years"
    assert rd._duration(1) == "1 day"
    assert rd._duration(2.5) == "2.5 days"
    assert rd._dist_days(Dist(kind="uniform", low=3, high=10)) == "3–10 days"
    assert rd._dist_days(Dist(kind="gamma", shape=2, mean=7)) == "~1 week"


def test_legend_lists_what_the_map_uses() -> None:
    dot = to_dot(cyrillic())
    legend = next(x for x in dot.splitlines() if "Legend" in x)
    assert "ENTRY" in legend and "GOAL" in legend and "END" in legend
    assert "10% per 2 weeks" in legend and "12.5%" in legend  # samples from this journey
    assert "automation trigger" not in legend  # this journey has no triggers
    assert "automation trigger" in to_dot(saas())
    assert "customers per 1,000" in to_dot(saas(), flows=SAAS_FLOWS)


def test_flows_scale_edges_and_show_reach() -> None:
    dot = to_dot(saas(), flows=SAAS_FLOWS)
    widths = {
        (m.group(1), m.group(2)): float(m.group(3))
        for m in re.finditer(r'^  "(\w+)" -> "(\w+)" \[label=.*?penwidth=([\d.]+)', dot, re.M)
    }
    assert widths[("visitor", "lost")] == 9.0  # the busiest edge is the widest
    assert widths[("visitor", "lead")] == pytest.approx(1 + 8 * (300 / 700) ** 0.5, abs=0.01)
    ordered = sorted(widths, key=lambda k: SAAS_FLOWS.per_1000_edges[k])
    assert [widths[k] for k in ordered] == sorted(widths.values())
    assert "700 per 1,000" in dot and "42 per 1,000" in dot  # whole customers from 10 on
    assert "reached by 30%" in dot and "reached by 4.2%" in dot
    mmd = to_mermaid(saas(), flows=SAAS_FLOWS)
    assert 'st_visitor ==>|"rest 70%<br/>700 per 1,000"| st_lost' in mmd
    assert "linkStyle 1 stroke:#475569,stroke-width:9.0px" in mmd


def test_direction_and_title() -> None:
    assert "rankdir=TB" in to_dot(saas(), direction="TB")
    assert "flowchart TB" in to_mermaid(saas(), direction="tb")
    assert "Demo on day 3" in to_dot(saas(), title="Demo on day 3")
    assert 'title: "Demo on day 3"' in to_mermaid(saas(), title="Demo on day 3")
    with pytest.raises(RenderError, match="unknown direction 'sideways'"):
        to_dot(saas(), direction="sideways")
    with pytest.raises(RenderError, match="unknown format 'pdf'"):
        render(saas(), format="pdf")


# --- escaping --------------------------------------------------------------------


def _unquoted_mermaid(mmd: str) -> str:
    """The Mermaid text with every double-quoted label removed (the syntax around them)."""
    body = mmd.split("---\n", 2)[2]
    return re.sub(r'"[^"\n]*"', '""', body)


def test_hostile_labels_are_escaped_in_dot() -> None:
    dot = to_dot(hostile())
    assert "<script>" not in dot
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dot
    assert '"we\\"ird\\\\name]" [label=' in dot
    # every quoted string closes on its own line: no quote or backslash leaks out
    for line in dot.splitlines():
        stripped = re.sub(r'"(?:[^"\\]|\\.)*"', "", line)
        assert '"' not in stripped, line


def test_hostile_labels_are_escaped_in_mermaid() -> None:
    mmd = to_mermaid(hostile())
    assert "<script" not in mmd.lower()
    assert "#lt;script#gt;alert(1)#lt;/script#gt;" in mmd
    syntax = _unquoted_mermaid(mmd)
    assert "script" not in syntax and "\\" not in syntax and "alert" not in syntax
    # the stage with a hostile name gets a safe id, used consistently
    assert re.search(r"^  stx_1\[\"END<br/>we#quot;ird\\name\]\"\]$", mmd, re.M)
    assert "-->|" in syntax and re.search(r"st_a -->\|\"\"\| stx_1", syntax)
    for line in syntax.replace('>""]', '[""]').splitlines():  # >"note"] is the flag shape
        opens = sum(line.count(c) for c in "([{")
        closes = sum(line.count(c) for c in ")]}")
        assert opens == closes, line


@needs_dot
def test_hostile_labels_survive_graphviz_as_text() -> None:
    svg = render(hostile(), format="svg")
    assert isinstance(svg, bytes)
    assert b"<script" not in svg
    text = svg_text(svg)
    assert "<script>alert(1)</script>" in text
    assert 'we"ird\\name]' in text
    assert "}" in text and "]; node [x" in text


def tiny(label: str) -> Journey:
    """Two stages, one edge, the label used as every name and text it can be."""
    return Journey(
        name=label,
        phases=(label,),
        stages=(
            Stage(name="a", label=label, phase=label, entry=1.0),
            Stage(name=label, label=label, terminal=True),
        ),
        transitions=(Transition(source="a", target=label, otherwise=True),),
    )


@needs_dot
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(label=st.text(min_size=1, max_size=20))
def test_any_label_gives_valid_svg_and_mermaid(label: str) -> None:
    j = tiny(label)
    svg = render(j, format="svg")
    assert isinstance(svg, bytes)
    ET.fromstring(svg)  # well-formed whatever the label
    mmd = to_mermaid(j)
    assert "<" not in mmd.replace("<br/>", "")  # no raw markup from the label
    assert len(mmd.splitlines()) == len(to_mermaid(tiny("x")).splitlines())  # no line broken


_MERMAID_CHECK = """
import { JSDOM } from 'jsdom';
import fs from 'fs';
const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window; globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
let bad = 0;
for (const [name, text] of Object.entries(JSON.parse(fs.readFileSync('docs.json', 'utf8')))) {
  try { await mermaid.parse(text); } catch (e) { bad++; console.log(name, String(e.message || e)); }
}
process.exit(bad ? 1 : 0);
"""


def test_mermaid_parses_with_mermaid(tmp_path: Path) -> None:
    modules = os.environ.get("JOURNEYDSL_MERMAID_MODULES")
    node = shutil.which("node")
    if not modules or node is None:
        if os.environ.get("CI"):
            pytest.fail("CI must check Mermaid output: .ci/run installs mermaid and jsdom with npm")
        pytest.skip("set JOURNEYDSL_MERMAID_MODULES to a node_modules with mermaid and jsdom (CI does)")
    docs = {name: to_mermaid(make(), flows=flows) for name, (make, flows) in JOURNEYS.items()}
    docs["hostile"] = to_mermaid(hostile())
    for i, label in enumerate(['end', 'a --> b', '%% x', '\u2028]|"\\', "click x", "A[x]{y}"]):
        docs[f"tiny {i}"] = to_mermaid(tiny(label))
    docs_path = tmp_path / "docs.json"
    docs_path.write_text(json.dumps(docs), encoding="utf-8")
    (tmp_path / "node_modules").symlink_to(Path(modules).resolve())
    (tmp_path / "check.mjs").write_text(_MERMAID_CHECK, encoding="utf-8")
    done = subprocess.run(
        [node, "check.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- Graphviz output -----------------------------------------------------------------


@needs_dot
@pytest.mark.parametrize("name", sorted(JOURNEYS))
def test_svg_holds_every_stage_and_share_label(name: str) -> None:
    make, flows = JOURNEYS[name]
    j = make()
    svg = render(j, format="svg", flows=flows)
    assert isinstance(svg, bytes)
    text = svg_text(svg)
    for s in j.stages:
        assert s.title in text, s.title
    for t in j.transitions:
        head, _ = rd._edge_lines(j, t)
        assert head in text, head
    assert j.name in text


@needs_dot
def test_png_is_a_png(tmp_path: Path) -> None:
    out = tmp_path / "map.png"
    data = render(saas(), out, format="png")
    assert isinstance(data, bytes) and data.startswith(b"\x89PNG\r\n\x1a\n")
    assert out.read_bytes() == data


def test_text_formats_are_written_as_utf8(tmp_path: Path) -> None:
    out = tmp_path / "map.mmd"
    text = render(cyrillic(), out, format="mermaid")
    assert isinstance(text, str) and "Купувач" in text
    assert out.read_text(encoding="utf-8") == text
    dot = render(cyrillic(), tmp_path / "map.dot", format="dot")
    assert dot == to_dot(cyrillic())
    assert 'charset="UTF-8"' in str(dot) and 'fontname="DejaVu Sans"' in str(dot)


# --- failures -------------------------------------------------------------------------


def test_missing_dot_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no 'dot' anywhere
    out = tmp_path / "map.svg"
    with pytest.raises(RenderError) as info:
        render(saas(), out, format="svg")
    msg = str(info.value)
    assert "apt-get install graphviz" in msg and "brew install graphviz" in msg
    assert "--format dot|mermaid" in msg
    assert not out.exists()
    # dot and mermaid need no Graphviz
    assert isinstance(render(saas(), format="dot"), str)
    assert isinstance(render(saas(), format="mermaid"), str)


def test_failing_graphviz_leaves_old_file_untouched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = tmp_path / "map.svg"
    out.write_text("old map", encoding="utf-8")
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'Error: syntax error in line 1' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(rd.shutil, "which", lambda _name: str(fake))
    with pytest.raises(RenderError, match="Graphviz 'dot' failed: Error: syntax error"):
        render(saas(), out, format="svg")
    assert out.read_text(encoding="utf-8") == "old map"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dot", "map.svg"]


def test_failed_write_leaves_no_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    out = tmp_path / "map.dot"
    with pytest.raises(RenderError, match=r"cannot write .*no space left on device"):
        render(saas(), out, format="dot")
    assert list(tmp_path.iterdir()) == []  # neither the map nor a temporary file


def test_write_into_missing_folder_is_a_render_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="cannot write"):
        render(saas(), tmp_path / "no" / "such" / "map.mmd", format="mermaid")


# --- the shipped example ------------------------------------------------------------------

EXAMPLE = Path(__file__).parent.parent / "examples" / "journeys" / "saas_trial.journey"


@needs_dot
def test_example_renders() -> None:
    compile_mod = pytest.importorskip("journeydsl.language.compile")
    if not EXAMPLE.exists():
        pytest.skip("examples/journeys/saas_trial.journey is not there yet")
    loaded = compile_mod.load(EXAMPLE)
    j = loaded[0] if isinstance(loaded, tuple) else loaded
    for _name, variant in j.iter_variants():
        svg = render(variant, format="svg")
        assert isinstance(svg, bytes)
        text = svg_text(svg)
        for s in variant.stages:
            assert s.title in text
        assert "<script" not in to_mermaid(variant)


_MERMAID_DUMP = """
import { JSDOM } from 'jsdom';
import fs from 'fs';
const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window; globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
const out = {};
for (const [name, text] of Object.entries(JSON.parse(fs.readFileSync('docs.json', 'utf8')))) {
  mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'default' });
  try {
    const parsed = await mermaid.parse(text);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const db = diagram.db;
    const vertices = {};
    for (const [id, v] of db.getVertices()) vertices[id] = { text: v.text, classes: v.classes, link: v.link || null };
    out[name] = {
      config: parsed.config || {}, theme: mermaid.mermaidAPI.getConfig().theme, vertices,
      edges: db.getEdges().map(e => e.text), subgraphs: db.getSubGraphs().map(g => g.title),
      classes: [...db.getClasses().keys()], title: diagram.db.getDiagramTitle ? diagram.db.getDiagramTitle() : null,
    };
  } catch (e) { out[name] = { error: String(e.message || e) }; }
}
console.log(JSON.stringify(out));
"""

#: Labels that try to be Mermaid: a directive, a comment, a click handler, a class shorthand, markup.
MERMAID_HOSTILE = [
    "%%{init: {'theme':'dark'}}%%",
    "a\n%%{init: {'theme':'forest'}}%%",
    "%%{ init: { 'securityLevel': 'loose' } }%%",
    "%% comment",
    "click st_a call alert(1)",
    'click st_a href "javascript:alert(1)"',
    "x:::lg_entry",
    "a --> b; st_a:::goal",
    "<img src=x onerror=alert(1)>",
    "",
    "   ",
]


def _mermaid_text(text: str) -> str:
    """What a reader sees of Mermaid label text: entity codes decoded, <br> as a space."""
    import html

    text = re.sub(r"<br\s*/?>", " ", text)
    # Mermaid's parser keeps entity codes as placeholders (its encodeEntities) until it draws
    text = re.sub(r"\ufb02\u00b0\u00b0(\d+)\u00b6\u00df", lambda m: chr(int(m.group(1))), text)
    text = re.sub(r"\ufb02\u00b0([a-z]+)\u00b6\u00df", r"&\1;", text)
    text = re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)
    text = re.sub(r"#([a-z]+);", r"&\1;", text)
    return html.unescape(text)


def test_mermaid_labels_stay_text(tmp_path: Path) -> None:
    modules = os.environ.get("JOURNEYDSL_MERMAID_MODULES")
    node = shutil.which("node")
    if not modules or node is None:
        if os.environ.get("CI"):
            pytest.fail("CI must check Mermaid output: .ci/run installs mermaid and jsdom with npm")
        pytest.skip("set JOURNEYDSL_MERMAID_MODULES to a node_modules with mermaid and jsdom (CI does)")
    docs = {str(i): to_mermaid(tiny(label)) for i, label in enumerate(MERMAID_HOSTILE)}
    (tmp_path / "docs.json").write_text(json.dumps(docs), encoding="utf-8")
    (tmp_path / "node_modules").symlink_to(Path(modules).resolve())
    (tmp_path / "dump.mjs").write_text(_MERMAID_DUMP, encoding="utf-8")
    done = subprocess.run(
        [node, "dump.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    plain = seen[str(MERMAID_HOSTILE.index("x:::lg_entry"))]
    for i, label in enumerate(MERMAID_HOSTILE):
        got = seen[str(i)]
        assert "error" not in got, (label, got)
        assert got["config"] == {} and got["theme"] == "default", label  # no directive applied
        assert set(got["vertices"]) == set(plain["vertices"]), label  # no node made from the label
        assert set(got["classes"]) == set(plain["classes"]), label
        assert all(v["link"] is None for v in got["vertices"].values()), label  # no click handler
        assert {k: v["classes"] for k, v in got["vertices"].items()} == {
            k: v["classes"] for k, v in plain["vertices"].items()
        }, label
        shown = " ".join(label.replace("\n", " ").split())
        if shown:
            texts = [_mermaid_text(v["text"]) for v in got["vertices"].values()]
            texts += [_mermaid_text(t) for t in got["subgraphs"]]
            assert any(shown in " ".join(t.split()) for t in texts), (label, texts)


# --- labels Graphviz could not draw: empty, huge ---------------------------------------------


def _loads(text: str) -> Journey:
    from journeydsl.api import loads

    return loads(text)


EMPTY_LABELS = """\
journey "" {
    phase "" {
        stage a "" { entry }
    }
    stage b { terminal }
    touchpoint t "" { channel email; cost 1 EUR }
    a -> b otherwise via t
    trigger n "" { when in a for 1 day; send t }
}
"""


@needs_dot
def test_empty_labels_draw(tmp_path: Path) -> None:
    journey = _loads(EMPTY_LABELS)
    svg = render(journey, format="svg")
    assert isinstance(svg, bytes)
    ET.fromstring(svg)
    assert "<B></B>" not in to_dot(journey)


def test_empty_labels_in_the_report_map() -> None:
    from journeydsl.api import simulate
    from journeydsl.outputs.htmlreport import build_report

    if not HAS_DOT:
        pytest.skip("Graphviz 'dot' is not installed")
    journey = _loads(EMPTY_LABELS)
    html = build_report(journey, simulate(journey, customers=200, seed=1))
    assert "could not be drawn" not in html


@needs_dot
def test_huge_labels_and_names_are_cut_with_an_ellipsis() -> None:
    label = "Long " * 200_000  # a megabyte of label
    title = "Лонг " * 10_000
    name = "s" * 300_000
    journey = _loads(
        f'journey "{title}" {{\n    phase "{title}" {{\n        stage a "{label}" {{ entry }}\n    }}\n'
        f"    stage {name} {{ terminal }}\n    a -> {name} otherwise\n}}\n"
    )
    dot = to_dot(journey)
    mermaid = to_mermaid(journey)
    assert len(dot) < 20_000 and len(mermaid) < 10_000
    svg = render(journey, format="svg")
    assert isinstance(svg, bytes)
    text = svg_text(svg)
    assert "Long Long" in text and "Лонг Лонг" in text and "…" in text  # drawn, not empty; cut marked
    assert "ssssssss" in text
    drawn = max((len(line) for line in to_mermaid(journey).splitlines()), default=0)
    assert drawn < 2_000
    assert rd._short(label) == label[: rd.MAX_LABEL - 1] + "…"


# --- big maps ------------------------------------------------------------------------------


def _big_journey_text(stages: int) -> str:
    """The benchmarks' generator (benchmarks/big_journey.py): a funnel where every stage may end in `lost`."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "big_journey.py"
    spec = importlib.util.spec_from_file_location("big_journey", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.big_journey(stages, scenarios=1, segments=1)
    return text


def test_big_map_draws_a_busy_end_stage_beside_each_stage_leading_there() -> None:
    from journeydsl.api import loads

    journey = loads(_big_journey_text(rd.BIG_MAP + 10))
    dot = to_dot(journey)
    # no arrow runs into one far-away `lost` box: each goes to its own dashed copy
    assert not re.search(r'-> "lost" ', dot)
    copies = re.findall(r'^  "(lost after s\d+)" \[.*style="filled,dashed"', dot, re.M)
    into_lost = sum(1 for t in journey.transitions if t.target == "lost")
    assert len(copies) == into_lost > rd.HUB_ARROWS
    assert all(f'-> "{c}" ' in dot for c in copies)
    assert "mclimit=0.3" in dot and "nslimit=2" in dot
    # the legend hangs off a stage that is drawn, not off the copied end stage
    assert not re.search(r'^  "lost" ', dot, re.M)


def test_small_map_keeps_one_box_per_end_stage() -> None:
    from journeydsl.api import loads

    journey = loads(_big_journey_text(rd.BIG_MAP - 10))
    dot = to_dot(journey)
    assert '-> "lost" ' in dot and "filled,dashed" not in dot
    assert "mclimit" not in dot


def test_graphviz_timeout_says_timeout_and_points_to_text_formats(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cli: Callable[..., tuple[int, str, str]]
) -> None:
    def slow(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        raise subprocess.TimeoutExpired(args, rd.GRAPHVIZ_TIMEOUT)

    monkeypatch.setattr(rd.subprocess, "run", slow)
    out = tmp_path / "map.svg"
    with pytest.raises(rd.GraphvizTimeout) as info:
        render(saas(), out, format="svg")
    msg = str(info.value)
    assert "took longer than 120 s" in msg and "--format dot or --format mermaid" in msg
    assert "install" not in msg
    assert not out.exists()
    journey = tmp_path / "j.journey"
    journey.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    code, _, err = cli("render", str(journey), "-o", str(out), "--quiet")
    assert code == 2
    assert "journeydsl render: error: Graphviz 'dot' took longer than 120 s" in err
    assert "install Graphviz" not in err and not out.exists()
