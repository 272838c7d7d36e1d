"""The HTML report: complete, self-contained, escaped, and it renders in a real browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from journeydsl.api import loads, simulate
from journeydsl.outputs.htmlreport import SECTIONS, build_report

HOSTILE = r"""
journey "<script>alert('x')</script> & \"Co\"" {
    currency EUR
    stage visitor "<b>Visitor</b> <script>alert(1)</script>" { entry; dwell 2 days; touch ads on enter }
    stage customer "Клиент & \"VIP\"" { goal; active; revenue 10 EUR every month }
    stage lost "</svg><img src=x onerror=alert(1)>" { terminal }
    touchpoint ads "<i>ads</i>" { channel paid_social; cost 1 EUR }
    param close "<script>p()</script> & \"close\"" = 30% ± 5%
    visitor -> customer close
    visitor -> lost otherwise
    customer -> lost 10% per month
    scenario cheaper "<script>evil()</script>" { touchpoint ads { cost 0.5 EUR } }
    plan launch "<img src=x onerror=alert(2)> & plan" { start 2027-01; months 3; arrivals 100 per month }
    targets "<script>t()</script>" { conversion_rate 20%; cac at most 5 EUR }
}
"""

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Structure(HTMLParser):
    """Records tags, ids and unbalanced closes while parsing."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: set[str] = set()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.ids |= {v for k, v in attrs if k == "id" and v}
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def hostile_html() -> str:
    from journeydsl.analysis.forecast import forecast

    journey = loads(HOSTILE, "hostile.journey")
    results = simulate(journey, customers=2000, seed=1, scenarios=None)
    return build_report(journey, results, forecast(journey, None, customers=2000, seed=1))


def _parse(html: str) -> _Structure:
    parser = _Structure()
    parser.feed(html)
    parser.close()
    return parser


def test_report_parses_and_has_every_section(hostile_html: str) -> None:
    doc = _parse(hostile_html)
    assert doc.problems == []
    assert doc.stack == []
    assert {sid for sid, _ in SECTIONS} <= doc.ids
    text = " ".join(doc.text)
    for heading in ("Headline figures", "Retention", "LTV distribution", "Funnel", "Assumptions", "Definitions"):
        assert heading in text
    assert hostile_html.count("<svg") >= 4  # map, retention, LTV per arm, funnel per arm


def test_report_is_self_contained(hostile_html: str) -> None:
    assert "<script" not in hostile_html.lower()
    assert "<link" not in hostile_html.lower()
    # nothing to fetch: no src/href that leaves the page (SVG namespaces are names, not fetches)
    assert re.findall(r'(?:src|href)\s*=\s*"(?:https?:)?//', hostile_html) == []
    assert "@import" not in hostile_html


def test_labels_from_the_file_are_escaped(hostile_html: str) -> None:
    assert "<img" not in hostile_html
    assert "<b>Visitor</b>" not in hostile_html and "<i>ads</i>" not in hostile_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_html
    assert "Клиент &amp; &quot;VIP&quot;" in hostile_html
    text = " ".join(_parse(hostile_html).text)
    assert "<script>evil()</script>" in text  # shown as text, exactly as written
    # the targets, forecast and uncertainty sections too: the plan's and the parameter's labels stay text
    for section in ("targets", "forecast", "uncertainty"):
        assert f'<section id="{section}">' in hostile_html, section
    assert "&lt;img src=x onerror=alert(2)&gt; &amp; plan" in hostile_html
    assert "<script>p()</script>" in text and "<img src=x onerror=alert(2)> & plan" in text


def test_report_states_the_assumptions(tmp_path: Path) -> None:
    path = tmp_path / "a.journey"
    path.write_text(HOSTILE, encoding="utf-8")
    from journeydsl.api import load

    journey = load(path)
    html = build_report(journey, simulate(journey, customers=1000, seed=5))
    import hashlib

    assert hashlib.sha256(path.read_bytes()).hexdigest() in html
    assert "1,000" in html and "<td class=\"num\">5</td>" in html


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_report_renders_in_headless_chromium(hostile_html: str, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run installs Debian's 'chromium'")
        pytest.skip("Chromium is not installed (apt-get install chromium); CI runs this test")
    page = tmp_path / "report.html"
    page.write_text(hostile_html, encoding="utf-8")
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
            "--window-size=1200,2400", f"--screenshot={shot}", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # a blank page compresses to almost nothing; a page of tables and charts does not
    assert len(data) > 50_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 2400)


# --- layout in a real browser: nothing wider than the page, no text over text -----------------

#: Nine arms with long labels, segments and phases: the layout a five-arm channel test broke.
MANY_ARMS = """
journey "Channel test with many arms and rather long labels for every one of them" {
    currency EUR
    phase "Acquisition" { stage visitor "Visitor from a paid campaign" { entry; touch ads on enter } }
    phase "Retention" { stage buyer "Paying customer" { goal; active; revenue 20 EUR every month } }
    stage lost "Lost" { terminal }
    touchpoint ads "Paid social" { channel social; cost 1 EUR }
    touchpoint sms "SMS reminder" { channel sms; cost 0.05 EUR; response 10% }
    visitor -> buyer 20%
    visitor -> lost otherwise
    buyer -> lost 10% per month
    trigger nudge "Nudge" { when in visitor for 1 day; send sms; then 20% -> buyer }
    segment young "Young customers" 40% { visitor -> buyer 30% }
""" + "".join(
    f'    scenario arm{i} "Arm {i}: a channel mix with a long descriptive name" '
    f"{{ touchpoint ads {{ cost {1 + i / 10:g} EUR }} }}\n" for i in range(1, 9)
) + "}\n"

_CHECK_LAYOUT = """
<script>
window.addEventListener('load', () => {
  const W = document.documentElement.clientWidth;
  const problems = [];
  if (document.documentElement.scrollWidth > W + 1)
    problems.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + W);
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.scroll, .mapbox, .figure')) continue;   // inside a box that scrolls on its own
    const r = el.getBoundingClientRect();
    if (r.width && (r.right > W + 1 || r.left < -1))
      problems.push('wider than the page: <' + el.tagName.toLowerCase() + ' class=' + el.className + '> '
                    + Math.round(r.left) + '..' + Math.round(r.right));
  }
  const boxes = [];
  for (const el of document.querySelectorAll('h1,h2,h3,p,th,td,dt,dd,li,label,nav a,footer')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden') boxes.push([el, r]);
  }
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, ra] = boxes[i], [b, rb] = boxes[j];
    if (a.contains(b) || b.contains(a)) continue;
    const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
    const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
    if (w > 2 && h > 2) problems.push('text over text: "' + a.textContent.slice(0, 40) + '" / "'
                                      + b.textContent.slice(0, 40) + '"');
  }
  document.body.setAttribute('data-layout', JSON.stringify(problems.slice(0, 20)));
});
</script>
"""


def _browser_or_skip() -> str:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run installs Debian's 'chromium'")
        pytest.skip("Chromium is not installed (apt-get install chromium); CI runs this test")
    return browser


def _run_browser(browser: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
         "--disable-background-networking", "--disable-component-update", f"--user-data-dir={tmp_path / 'p'}",
         *args],
        capture_output=True, text=True, timeout=180, check=False,
    )


@pytest.fixture(scope="module")
def many_arms_html() -> str:
    journey = loads(MANY_ARMS, "many.journey")
    return build_report(journey, simulate(journey, customers=2000, seed=1, scenarios=None))


def test_nine_arms_fit_the_report(many_arms_html: str) -> None:
    kpis = many_arms_html[many_arms_html.index('<section id="kpis">'):many_arms_html.index('<section id="scenarios">')]
    assert '<div class="scroll"><table class="wide">' in kpis  # figures as rows, arms as columns, scrolls sideways
    assert kpis.count("<th>") == 10
    for section in ("stages", "touchpoints", "triggers", "phases"):  # a tab per arm, switched by CSS alone
        start = many_arms_html.index(f'<section id="{section}">')
        body = many_arms_html[start:many_arms_html.index("</section>", start)]
        assert body.count(f'name="tabs-{section}"') == 9, section
    assert "Young customers" in many_arms_html and "Other customers" in many_arms_html


@pytest.fixture(scope="module")
def planned_ru_html(planned_text: str) -> str:
    """A Russian report with every section: targets, the month table and layer cake, the tornado."""
    from journeydsl.analysis.forecast import forecast

    journey = loads(planned_text, "planned.journey")
    results = simulate(journey, customers=1500, seed=1, scenarios=None)
    return build_report(journey, results, forecast(journey, None, customers=1500, seed=1))


@pytest.mark.parametrize("width", [1280, 820])
def test_report_layout_has_no_overflow_or_overlap(many_arms_html: str, hostile_html: str, planned_ru_html: str,
                                                   tmp_path: Path, width: int) -> None:
    browser = _browser_or_skip()
    for name, html in (("many", many_arms_html), ("hostile", hostile_html), ("planned-ru", planned_ru_html)):
        page = tmp_path / f"{name}.html"
        page.write_text(html.replace("</body>", _CHECK_LAYOUT + "</body>"), encoding="utf-8")
        proc = _run_browser(browser, tmp_path, f"--window-size={width},1000", "--virtual-time-budget=10000",
                            "--dump-dom", page.as_uri())
        assert proc.returncode == 0, proc.stderr[-2000:]
        found = re.search(r'data-layout="([^"]*)"', proc.stdout)
        assert found, "the layout check did not run"
        import html as htmllib
        import json

        assert json.loads(htmllib.unescape(found.group(1))) == [], name


def test_report_prints_on_a4_landscape(many_arms_html: str, tmp_path: Path) -> None:
    browser = _browser_or_skip()
    page = tmp_path / "many.html"
    page.write_text(many_arms_html, encoding="utf-8")
    pdf = tmp_path / "many.pdf"
    proc = _run_browser(browser, tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    assert proc.returncode == 0 and pdf.exists(), proc.stderr[-2000:]
    data = pdf.read_bytes()
    found = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    boxes = {tuple(round(float(v)) for v in m) for m in found}
    assert boxes == {(842, 595)}, boxes  # A4 landscape in points, every page
    pages = len(re.findall(rb"/Type\s*/Page\b", data))
    assert 3 <= pages <= 40, pages


def test_report_calls_things_by_their_labels_or_with_ids_by_their_names() -> None:
    journey = loads(MANY_ARMS, "many.journey")
    results = simulate(journey, customers=500, seed=1, scenarios=["arm1"])
    page = build_report(journey, results)
    assert "Arm 1: a channel mix" in page and "Visitor from a paid campaign" in page
    assert ">arm1<" not in page.replace("<code>arm1</code>", "")
    with_ids = build_report(journey, results, ids=True)
    stages = with_ids[with_ids.index('<section id="stages">'):with_ids.index('<section id="phases">')]
    assert "<td>visitor</td>" in stages and "Visitor from a paid campaign" not in stages


def test_a_handful_of_converters_is_called_too_few_not_none() -> None:
    """Six converters are too few for a retention curve, but they are not 'no converted customers'."""
    journey = loads('journey "Rare" { stage a { entry }; stage b { goal; active }; stage c { terminal }\n'
                    "a -> b 0.5%; a -> c otherwise; b -> c 10% per month }")
    page = build_report(journey, simulate(journey, customers=1200, seed=2, scenarios=None))
    section = page[page.index('<section id="retention">'):page.index('<section id="ltv">')]
    assert "Too few converted customers are followed to draw retention curves" in section
    assert "no converted customers to follow" not in section


def test_every_section_screenshots_with_ink(planned_ru_html: str, tmp_path: Path) -> None:
    """A screenshot per section (the page with that section alone), kept in tmp_path to look at:
    each one draws its heading and content, not a blank page."""
    from PIL import Image

    browser = _browser_or_skip()
    ids = re.findall(r'<section id="([a-z]+)">', planned_ru_html)
    assert {"map", "kpis", "targets", "forecast", "uncertainty", "definitions"} <= set(ids)
    for sid in ids:
        page = tmp_path / f"{sid}.html"
        alone = f"<style>body > *:not(#{sid}) {{ display: none; }}</style></head>"
        page.write_text(planned_ru_html.replace("</head>", alone, 1), encoding="utf-8")
        shot = tmp_path / f"{sid}.png"
        proc = _run_browser(browser, tmp_path, "--window-size=1280,900", f"--screenshot={shot}", page.as_uri())
        assert proc.returncode == 0 and shot.exists(), (sid, proc.stderr[-1000:])
        with Image.open(shot) as img:
            grey = img.convert("L")
            ink = sum(grey.histogram()[:200]) / (grey.width * grey.height)
        assert ink > 0.0005, f"section {sid} looks blank ({ink:.4f} of the pixels inked)"


def test_map_drawn_beside_the_charts_gives_the_same_page(planned_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Graphviz lays the map out in a thread while the charts draw: a pure speed-up, so the page
    (a Russian one, with targets, forecast and tornado) is byte for byte the one drawn in order."""
    from concurrent.futures import Future

    from journeydsl.analysis.forecast import forecast
    from journeydsl.outputs import htmlreport

    journey = loads(planned_text, "planned.journey")
    results = simulate(journey, customers=1500, seed=1, scenarios=None)
    fc = forecast(journey, None, customers=1500, seed=1)
    beside = build_report(journey, results, fc)

    class InOrder:  # runs the map when it is asked for, in this thread
        def __init__(self, **_kwargs: object) -> None:
            pass

        def __enter__(self) -> InOrder:
            return self

        def __exit__(self, *_exc: object) -> None:
            return None

        def submit(self, fn, *args):  # type: ignore[no-untyped-def]
            done: Future[str] = Future()
            done.set_result(fn(*args))
            return done

    monkeypatch.setattr(htmlreport, "ThreadPoolExecutor", InOrder)
    in_order = build_report(journey, results, fc)
    assert '<section id="map">' in beside and "<svg" in beside.split('<section id="map">')[1][:20000]
    assert beside == in_order


def test_page_drawn_by_the_report_worker_is_the_same_page(planned_text: str) -> None:
    """`journeydsl report` draws the page in a forked process that imports matplotlib while the
    simulation runs: a pure speed-up, so the page (Russian, with targets, forecast and tornado) is
    byte for byte the one built here; and a worker that is gone leaves the page to this process."""
    import sys

    from journeydsl.analysis.forecast import forecast
    from journeydsl.outputs.report_worker import ReportWorker

    journey = loads(planned_text, "planned.journey")
    worker = ReportWorker.start()  # before any thread of this test runs
    results = simulate(journey, customers=1500, seed=1, scenarios=None)
    fc = forecast(journey, None, customers=1500, seed=1)
    if sys.platform.startswith("linux") and worker._proc is None:
        worker.close()
        # another test left a thread running in this process, so it must not fork: compare in a
        # fresh interpreter instead, where the worker is forked (so the forked path is always tested)
        script = (
            "import sys\n"
            "from journeydsl.api import loads, simulate\n"
            "from journeydsl.analysis.forecast import forecast\n"
            "from journeydsl.outputs.htmlreport import build_report\n"
            "from journeydsl.outputs.report_worker import ReportWorker\n"
            "journey = loads(sys.stdin.read(), 'planned.journey')\n"
            "worker = ReportWorker.start()\n"
            "assert worker._proc is not None, 'the worker was not forked'\n"
            "results = simulate(journey, customers=1500, seed=1, scenarios=None)\n"
            "fc = forecast(journey, None, customers=1500, seed=1)\n"
            "same = worker.build(journey, results, fc, lang='ru') == build_report(journey, results, fc, lang='ru')\n"
            "print('same' if same else 'different')\n"
        )
        done = subprocess.run([sys.executable, "-c", script], input=planned_text, capture_output=True, text=True,
                              timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "same"
    else:
        assert worker.build(journey, results, fc, lang="ru") == build_report(journey, results, fc, lang="ru")

    gone = ReportWorker.start()
    if gone._proc is not None:
        gone._proc.kill()
        gone._proc.join()
    assert gone.build(journey, results, fc, ids=True) == build_report(journey, results, fc, ids=True)


def test_report_worker_is_stopped_when_the_page_is_not_needed() -> None:
    from journeydsl.outputs.report_worker import ReportWorker

    worker = ReportWorker.start()
    proc = worker._proc
    worker.close()
    assert worker._proc is None and (proc is None or not proc.is_alive())
