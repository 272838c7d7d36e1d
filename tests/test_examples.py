"""The example journeys and every ```journey block in the docs are valid journeys.

- every file in ``examples/journeys/`` compiles with no error and no warning,
  has a scenario to compare, states its assumptions in comments at the top,
  and is 40-120 lines long;
- every ```journey block in ``docs/*.md`` and ``README.md`` parses; a block
  whose first line is ``# complete`` is a whole journey and compiles with no
  error; other blocks are fragments and are parsed inside a ``journey`` wrapper;
- the links between the docs pages point at files that exist.
"""

from __future__ import annotations

import importlib
import re
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from journeydsl.language.errors import JourneyError
from journeydsl.language.model import Journey
from journeydsl.language.source import Source

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "journeys").glob("*.journey"))
DOCS = sorted((ROOT / "docs").rglob("*.md")) + [p for p in [ROOT / "README.md"] if p.is_file()]

FENCE = re.compile(r"^[ \t]*```journey[ \t]*\n(.*?)^[ \t]*```[ \t]*$", re.MULTILINE | re.DOTALL)
COMPLETE = "# complete"

#: The worked examples written for strategists (``saas_trial`` is the language's
#: reference example and is kept as language.md writes it).
STRATEGIST_EXAMPLES = (
    "b2b_pipeline",
    "ecommerce_cart",
    "subscription_winback",
    "loyalty_referral",
    "retail_recency",
    "ru_onlineshkola",
    "fitness_app_launch",
)
#: The pages whose links are checked here.
LINKED_PAGES = [ROOT / "docs" / name for name in ("index.md", "tutorial.md", "recipes.md")]


def _compile_module() -> ModuleType:
    try:
        return importlib.import_module("journeydsl.language.compile")
    except ModuleNotFoundError as exc:  # pragma: no cover - only while compile.py is being written
        if exc.name != "journeydsl.language.compile":
            raise
        pytest.skip("journeydsl/language/compile.py does not exist yet")


def _compile(text: str, path: str) -> tuple[Journey, list]:
    """Compile ``text``; fail the test with the formatted diagnostics when it has errors."""
    compile_mod = _compile_module()
    source = Source(path, text)
    try:
        journey, warnings = compile_mod.compile_source(source)
    except JourneyError as exc:
        pytest.fail(f"{path} does not compile:\n{exc}")
    return journey, list(warnings)


def _parse(text: str, path: str) -> None:
    """Parse ``text`` (syntax only); fail the test with the diagnostics when it does not."""
    from journeydsl.language.parser import parse

    try:
        parse(Source(path, text))
    except JourneyError as exc:
        pytest.fail(f"{path} does not parse:\n{exc}")


# --- the example files ---------------------------------------------------------


def test_the_examples_are_there() -> None:
    names = {p.stem for p in EXAMPLES}
    assert set(STRATEGIST_EXAMPLES) <= names, f"missing: {sorted(set(STRATEGIST_EXAMPLES) - names)}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_compiles_without_errors_or_warnings(path: Path) -> None:
    journey, warnings = _compile(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not warnings, "\n".join(str(w.message) for w in warnings)
    assert journey.scenarios, f"{path.name} has no scenario to compare"
    assert journey.currency, f"{path.name} names no currency"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_load_matches_compile_source(path: Path) -> None:
    compile_mod = _compile_module()
    loaded = compile_mod.load(path)
    compiled, _ = _compile(path.read_text(encoding="utf-8"), str(path))
    assert loaded.model_dump() == compiled.model_dump()


@pytest.mark.parametrize("name", STRATEGIST_EXAMPLES)
def test_example_is_readable_and_states_its_assumptions(name: str) -> None:
    path = ROOT / "examples" / "journeys" / f"{name}.journey"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert 40 <= len(lines) <= 120, f"{path.name} has {len(lines)} lines (40-120 wanted)"
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    assert len(header) >= 5, f"{path.name} should open with a comment on what it models"
    assert re.search(r"%", "\n".join(header)), f"{path.name}'s header cites no published range"


def test_some_example_has_segments_and_phases() -> None:
    journeys = [_compile(p.read_text(encoding="utf-8"), p.name)[0] for p in EXAMPLES]
    assert any(j.segments for j in journeys), "no example shows a segment"
    assert all(j.phases for j in journeys), "every example groups its stages into phases"


def test_examples_together_show_every_form_of_the_language() -> None:
    """A strategist can find each form of language.md in a worked example."""
    journeys = [_compile(p.read_text(encoding="utf-8"), p.name)[0] for p in EXAMPLES]
    dists: set[str] = set()
    seen: set[str] = set()
    for j in journeys:
        variants = [j] + [j.with_scenario(sc.name) for sc in j.scenarios]
        variants += [sj for _, _, sj in j.segment_journeys()]
        for v in variants:
            for st in v.stages:
                dists.update(d.kind for d in [st.dwell] if d is not None)
                dists.update(p.worth.kind for p in st.purchases)
                seen.update(f"stage:{flag}" for flag in ("terminal", "goal", "active") if getattr(st, flag))
                seen.update(["entry-share"] if st.entry is not None and st.entry < 1 else [])
                seen.update(["touch"] if st.touches else [])
                seen.update("revenue-every" if c.period_days else "revenue-on-enter" for c in st.revenue)
                seen.update("cost-every" if c.period_days else "cost-on-enter" for c in st.costs)
                seen.update(["purchases"] if st.purchases else [])
            for t in v.transitions:
                dists.update(d.kind for d in [t.after] if d is not None)
                seen.add(t.kind)
                seen.update(["otherwise"] if t.otherwise else [])
                seen.update(["via"] if t.via else [])
                seen.update(["self-loop"] if t.source == t.target else [])
            for tg in v.triggers:
                seen.add(f"when:{tg.when}")
                seen.update(name for name in ("response", "then_stage", "limit") if getattr(tg, name))
        for sc in j.scenarios:
            ov = sc.overrides
            seen.update(f"without:{rm.kind}" for rm in ov.removals)
            seen.update(["scenario:stage"] if ov.stages else [])
            seen.update(["scenario:transition"] if ov.transitions else [])
            seen.update(["scenario:touchpoint"] if ov.touchpoints else [])
            seen.update(["scenario:trigger"] if ov.triggers else [])
    assert dists == {"fixed", "exponential", "gamma", "lognormal", "uniform", "weibull", "normal"}
    wanted = {
        "stage:terminal", "stage:goal", "stage:active", "entry-share", "touch",
        "revenue-every", "revenue-on-enter", "cost-every", "cost-on-enter", "purchases",
        "branch", "rate", "otherwise", "via", "self-loop",
        "when:enter", "when:in", "when:every", "response", "then_stage", "limit",
        "without:trigger", "without:transition",
        "scenario:stage", "scenario:transition", "scenario:touchpoint", "scenario:trigger",
    }  # fmt: skip
    assert wanted <= seen, f"no example shows: {sorted(wanted - seen)}"


def test_russian_example_keeps_its_labels_and_currency() -> None:
    path = ROOT / "examples" / "journeys" / "ru_onlineshkola.journey"
    journey, _ = _compile(path.read_text(encoding="utf-8"), path.name)
    assert journey.currency == "RUB"
    assert journey.name == "Онлайн-школа: вебинарная воронка"
    assert journey.stage("student").title == "Студент (рассрочка)"
    assert "Привлечение" in journey.phases
    assert journey.stage("student").revenue[0].amount == 7500


def test_self_loop_in_recency_example_is_kept() -> None:
    path = ROOT / "examples" / "journeys" / "retail_recency.journey"
    journey, _ = _compile(path.read_text(encoding="utf-8"), path.name)
    loops = [t for t in journey.transitions if t.source == t.target]
    assert [(t.source, t.share) for t in loops] == [("recent", pytest.approx(0.20))]


def test_cart_example_reminders_reach_only_open_carts() -> None:
    path = ROOT / "examples" / "journeys" / "ecommerce_cart.journey"
    journey, _ = _compile(path.read_text(encoding="utf-8"), path.name)
    reminders = {t.name: (t.when, t.stage, t.days) for t in journey.triggers}
    assert reminders["cart_email_1"] == ("in", "cart", 1.0)
    assert reminders["cart_sms_3"] == ("in", "cart", 3.0)
    email_only = journey.with_scenario("email_only")
    assert "cart_sms_3" not in {t.name for t in email_only.triggers}


# --- the ```journey blocks in the docs ----------------------------------------------


def _blocks() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 2  # the block's first line
            found.append((f"{doc.relative_to(ROOT)}:{line}", textwrap.dedent(match.group(1))))
    return found


BLOCKS = _blocks()
COMPLETE_BLOCKS = [(where, body) for where, body in BLOCKS if body.lstrip().startswith(COMPLETE)]


def test_the_docs_have_journey_blocks() -> None:
    where = {w.split(":")[0] for w, _ in BLOCKS}
    assert "docs/tutorial.md" in where and "docs/recipes.md" in where
    assert sum(w.startswith("docs/tutorial.md") for w, _ in COMPLETE_BLOCKS) >= 4
    indented = [w for w, body in BLOCKS if w.startswith("docs/recipes.md") and "understaffed" in body]
    assert indented, "blocks indented inside a list are found too"


def _is_whole_journey(body: str) -> bool:
    for line in body.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped.startswith("journey ")
    return False


FRAGMENTS = [(where, body) for where, body in BLOCKS if not _is_whole_journey(body)]


@pytest.mark.parametrize(("where", "body"), BLOCKS, ids=[w for w, _ in BLOCKS])
def test_doc_block_parses(where: str, body: str) -> None:
    text = body if _is_whole_journey(body) else 'journey "fragment" {\n' + body + "}\n"
    _parse(text, where)


#: What a fragment may lack: the stages, touchpoints and triggers around it, and an entry.
FRAGMENT_GAPS = {"E201", "E202", "E203", "E204", "E403"}


@pytest.mark.parametrize(("where", "body"), FRAGMENTS, ids=[w for w, _ in FRAGMENTS])
def test_doc_fragment_has_no_mistake_of_its_own(where: str, body: str) -> None:
    """A fragment compiles except for the names it leaves to the rest of a journey."""
    compile_mod = _compile_module()
    text = 'journey "fragment" {\n' + body + "}\n"
    try:
        compile_mod.compile_source(Source(where, text))
    except JourneyError as exc:
        own = [d for d in exc.errors if d.code not in FRAGMENT_GAPS]
        assert not own, "\n".join(f"{d.code}: {d.message}" for d in own)


@pytest.mark.parametrize(("where", "body"), COMPLETE_BLOCKS, ids=[w for w, _ in COMPLETE_BLOCKS])
def test_complete_doc_block_compiles(where: str, body: str) -> None:
    journey, warnings = _compile(body, where)
    assert journey.stages
    if where.startswith(("docs/tutorial.md", "docs/recipes.md")):
        assert not warnings, "\n".join(str(w.message) for w in warnings)


def test_tutorial_typo_block_is_reported_with_a_hint() -> None:
    """The tutorial shows the error a typo gives; the real error must say the same."""
    typo = next(body for where, body in BLOCKS if "subscribr" in body)
    compile_mod = _compile_module()
    with pytest.raises(JourneyError) as caught:
        compile_mod.compile_source(Source("mealkit.journey", typo))
    errors = caught.value.errors
    assert len(errors) == 1
    assert "subscribr" in errors[0].message
    assert errors[0].hint is not None and "subscriber" in errors[0].hint
    assert errors[0].span is not None and (errors[0].span.line, errors[0].span.col) == (6, 16)


# --- links between pages -------------------------------------------------------------

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("doc", LINKED_PAGES, ids=lambda p: p.name)
def test_doc_links_point_at_files(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (doc.parent / target).exists(), f"{doc.name} links to missing '{target}'"


# --- the tutorial's complete journeys simulate, and give what algebra says ---------------


def _tutorial_complete() -> list[str]:
    return [body for where, body in COMPLETE_BLOCKS if where.startswith("docs/tutorial.md")]


@pytest.mark.parametrize("body", _tutorial_complete(), ids=lambda b: f"lines{len(b.splitlines())}")
def test_tutorial_journey_simulates_with_every_scenario(body: str) -> None:
    from journeydsl.api import simulate

    journey, _ = _compile(body, "tutorial.journey")
    results = simulate(journey, 2_000, 3, scenarios=None).to_dict()
    assert [s["name"] for s in results["scenarios"]] == ["baseline"] + [sc.name for sc in journey.scenarios]
    for arm in results["scenarios"]:
        assert arm["metrics"]["value_per_customer"]["mean"] is not None


@pytest.mark.parametrize(("step", "exact"), [(0, 0.03), (1, 0.04 * 0.35)])
def test_tutorial_first_steps_convert_as_written(step: int, exact: float) -> None:
    """Step 1 converts 3% of visitors; step 2 converts 4% x 35% (well inside the horizon)."""
    from journeydsl.api import simulate

    journey, _ = _compile(_tutorial_complete()[step], "tutorial.journey")
    n = 40_000
    got = simulate(journey, n, 11).to_dict()["scenarios"][0]["metrics"]["conversion_rate"]["mean"]
    se = (exact * (1 - exact) / n) ** 0.5
    assert abs(got - exact) < 4.5 * se, f"conversion {got:.5f}, algebra {exact:.5f}, se {se:.5f}"
