"""How long after an edit the language server republishes diagnostics for a 2,000-line journey.

Run by hand from the repository root (not part of the test suite)::

    python benchmarks/bench_lsp.py                  # 2,000 lines, 7 edits
    python benchmarks/bench_lsp.py --lines 500 --edits 3

It starts ``journeydsl lsp`` as an editor would (a subprocess speaking LSP over
stdio), opens a generated journey of about ``--lines`` lines (phases of
stages with dwell and costs, a transition pair per stage, triggers), then
makes ``--edits`` edits one at a time — alternately a changed share and a
misspelt stage name, so the diagnostics really change — and measures the time
from sending ``didChange`` to receiving ``publishDiagnostics``. The server's
debounce is set to 0 so the figure is the work itself; in an editor the
default 300 ms of quiet after the last keystroke comes on top. It also prints
the in-process split (parse, compile and checks) of one analysis. The goal is
under 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

GOAL_MS = 150.0


def big_journey(lines: int = 2000) -> str:
    """A valid journey of about ``lines`` lines, written the way people write them."""
    out = ['journey "Benchmark" {', "    currency EUR", "    horizon 2 years", "    discount 10% per year", ""]
    stages: list[str] = []
    k = 0
    while len(out) < lines * 0.55:
        out.append(f'    phase "Phase {k}" {{')
        for i in range(8):
            name = f"s{k}_{i}"
            stages.append(name)
            out += [
                f'        stage {name} "Stage {k}.{i}" {{',
                "            entry" if not k and not i else "            dwell gamma(shape 2, mean 5 days)",
                "            cost 1 EUR on enter",
                "        }",
            ]
        out.append("    }")
        k += 1
    out += [
        "    stage won { goal; active; revenue 49 EUR every month }",
        "    stage lost { terminal }",
        "    stage churned { terminal }",
        '    touchpoint mail "Mail" { channel email; cost 0.02 EUR; response 20% }',
        "",
    ]
    for a, b in itertools.pairwise(stages):
        out += [f"    {a} -> {b} 50% via mail", f"    {a} -> lost otherwise"]
    out += [f"    {stages[-1]} -> won 50%", f"    {stages[-1]} -> lost otherwise"]
    out += ["    won -> churned 5% per month", ""]
    i = 0
    while len(out) < lines - 1:
        s = stages[i % len(stages)]
        out += [f"    trigger t{i} {{", f"        when in {s} for 1 day", "        send mail"]
        out += ["        then 10% -> won", "    }"]
        i += 1
    out.append("}")
    return "\n".join(out) + "\n"


async def measure(text: str, edits: int) -> list[float]:
    from lsprotocol import types as lsp
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("bench", "1")
    published: asyncio.Queue[lsp.PublishDiagnosticsParams] = asyncio.Queue()

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
        published.put_nowait(params)

    await client.start_io(sys.executable, "-m", "journeydsl", "lsp")
    await client.initialize_async(
        lsp.InitializeParams(capabilities=lsp.ClientCapabilities(), initialization_options={"debounce": 0})
    )
    client.initialized(lsp.InitializedParams())
    uri = "file:///tmp/bench-lsp.journey"
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri=uri, language_id="journey", version=1, text=text))
    )
    first = await published.get()
    assert not first.diagnostics, [d.message for d in first.diagnostics][:3]
    times = []
    for n in range(edits):
        edited = (
            text.replace("s0_1 -> s0_2 50%", f"s0_1 -> s0_2 {40 + n}%")
            if n % 2 == 0
            else text.replace("        when in s0_3 for 1 day", "        when in s0_3x for 1 day")
        )
        start = time.perf_counter()
        client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=n + 2),
                content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=edited)],
            )
        )
        got = await published.get()
        times.append((time.perf_counter() - start) * 1000)
        expected = 0 if n % 2 == 0 else 1
        assert len(got.diagnostics) == expected, [d.message for d in got.diagnostics]
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return times


def split(text: str) -> dict[str, float]:
    """Milliseconds of each step of one analysis, in this process (grammar already loaded)."""
    from journeydsl.editor.analysis import Analysis
    from journeydsl.language.compile import compile_syntax
    from journeydsl.language.parser import parse
    from journeydsl.language.source import Source

    parse(Source("warm", text))
    t0 = time.perf_counter()
    node = parse(Source("x", text))
    t1 = time.perf_counter()
    compile_syntax(node, "x")
    t2 = time.perf_counter()
    a = Analysis(text.replace("s0_1 -> s0_2 50%", "s0_1 -> s0_2 41%"), "x")
    assert a.diagnostics == []
    t3 = time.perf_counter()
    return {"parse": (t1 - t0) * 1000, "compile + checks": (t2 - t1) * 1000,
            "first analysis (every statement parsed)": (t3 - t2) * 1000}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--lines", type=int, default=2000)
    ap.add_argument("--edits", type=int, default=7)
    args = ap.parse_args()
    text = big_journey(args.lines)
    lines = text.count("\n")
    print(f"journey of {lines:,} lines, {len(text):,} characters; {args.edits} edits, debounce 0")
    parts = split(text)
    print("in process: " + ", ".join(f"{k} {v:.0f} ms" for k, v in parts.items()))
    times = asyncio.run(measure(text, args.edits))
    med = statistics.median(times)
    print("edit -> diagnostics over stdio: " + ", ".join(f"{t:.0f}" for t in times) + " ms")
    verdict = "met" if med < GOAL_MS else "NOT met"
    print(f"median {med:.0f} ms, worst {max(times):.0f} ms (goal < {GOAL_MS:.0f} ms): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
