"""``journeydsl fit``: a CRM export (and optionally the strategist's journey) -> a calibrated journey."""

from __future__ import annotations

import csv
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from journeydsl.analysis.fit.estimators import (
    MIN_SEGMENT_CASES,
    SegmentFit,
    StageFit,
    fit_segment_shares,
    fit_stage,
)
from journeydsl.analysis.fit.readers import DAY, Events, FitDataError, format_day, parse_time, read_events
from journeydsl.analysis.fit.stays import Stays, build_stays
from journeydsl.analysis.fit.writer import Plan, Written, stage_id, write_into, write_new
from journeydsl.language.errors import Diagnostic, JourneyError, did_you_mean
from journeydsl.language.model import Journey
from journeydsl.language.source import Source

__all__ = ["FitResult", "fit_export", "parse_day"]


def parse_day(text: str, *, end_of_day: bool = True) -> float:
    """A ``--as-of``/``--since`` date or time in seconds; a date alone means the end of that day.

    >>> format_day(parse_day("2026-06-30") - 1)
    '2026-06-30'
    """
    t = parse_time(text)
    if t is None:
        raise ValueError(f"'{text}' is not a date (write 2026-06-30 or 2026-06-30T18:00)")
    if end_of_day and re.fullmatch(r"\s*(\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4})\s*", text):
        t += DAY
    return t


@dataclass
class FitResult:
    """A fitted journey's text with the evidence behind every figure."""

    text: str
    journey: Journey
    events: Events
    stays: Stays
    fits: dict[str, StageFit]
    names: list[str]
    labels: dict[str, str]
    as_of: float
    written: list[Written] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)
    segments: list[SegmentFit] = field(default_factory=list)
    goal: set[str] = field(default_factory=set)
    terminal: set[str] = field(default_factory=set)
    seconds: float = 0.0
    base_path: str | None = None
    order: list[str] = field(default_factory=list)


def _norm_label(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("ё", "е").replace("Ё", "Е")).strip().casefold()


def read_map(path: str) -> dict[str, str]:
    """``--map`` CSV: ``data_name,stage`` per line (a header line naming them is skipped)."""
    raw = Path(path).read_bytes()
    from journeydsl.analysis.fit.readers import decode

    text, _ = decode(raw)
    first = text.split("\n", 1)[0]
    delim = ";" if first.count(";") > first.count(",") else ","
    out: dict[str, str] = {}
    for no, row in enumerate(csv.reader(text.splitlines(), delimiter=delim), start=1):
        if not row or not any(c.strip() for c in row) or row[0].strip().startswith("#"):
            continue
        if len(row) < 2 or not row[1].strip():
            raise FitDataError(f"{path}:{no}: a --map line is 'data_name,stage'; this one has {len(row)} field(s)")
        if no == 1 and row[0].strip().lower() in ("data_name", "name", "crm_stage") and row[1].strip().lower() in (
                "stage", "journey_stage"):
            continue
        out[row[0].strip()] = row[1].strip()
    return out


def _match(data_names: list[str], base: Journey, mapping: dict[str, str], warnings: list[str]) -> dict[str, str]:
    """Data stage name -> base stage name, by id, then label, then ``--map``."""
    by_id = {s.name: s.name for s in base.stages}
    by_label = {_norm_label(s.label): s.name for s in base.stages if s.label}
    found: dict[str, str] = {}
    for name in data_names:
        if name.strip() in by_id:
            found[name] = by_id[name.strip()]
        elif _norm_label(name) in by_label:
            found[name] = by_label[_norm_label(name)]
    for data_name, stage in mapping.items():
        if stage not in by_id:
            hint = did_you_mean(stage, by_id)
            raise FitDataError(f"--map: '{data_name}' is mapped to '{stage}', which is not a stage of the journey"
                               + (f"; {hint}" if hint else ""))
        if data_name in found and found[data_name] != stage:
            warnings.append(f"--map: '{data_name}' already matches stage '{found[data_name]}' by its id or label; "
                            f"the map line to '{stage}' is ignored")
            continue
        if data_name not in data_names:
            hint = did_you_mean(data_name, data_names)
            warnings.append(f"--map: no stage '{data_name}' in the data" + (f"; {hint}" if hint else ""))
            continue
        found[data_name] = stage
    pool = [s.name for s in base.stages] + [s.label for s in base.stages if s.label]
    for name in data_names:
        if name not in found:
            hint = did_you_mean(name, pool)
            warnings.append(f"the data's stage '{name}' matches no stage of the journey by id or label"
                            + (f"; {hint}" if hint else "") + "; map it with --map (CSV 'data_name,stage')")
    seen = set(found.values())
    for s in base.stages:
        if s.name not in seen:
            warnings.append(f"stage '{s.name}' never appears in the data; its figures are kept as written")
    return found


def fit_export(
    events_path: str | Path,
    *,
    into: str | Path | None = None,
    as_of: str | float | None = None,
    shape: str = "auto",
    map_path: str | Path | None = None,
    goal: str | None = None,
    since: str | float | None = None,
    strict: bool = False,
    money: bool = False,
    seed: int = 0,
) -> FitResult:
    """Fit a journey to a CRM export; see ``docs/commands/fit.md``.

    Raises :class:`FitDataError` when the export cannot be used (every bad
    row is in its ``diagnostics``), ``JourneyError`` for an invalid base.
    """
    started = time.perf_counter()
    events = read_events(events_path, shape)
    problems = list(events.problems)
    if strict and problems:
        raise FitDataError(f"{events.path}: {len(problems):,} bad row(s) (--strict)", problems, events.source)
    known = events.time[np.isfinite(events.time)]
    if known.size == 0:
        raise FitDataError(f"{events.path}: no row has a usable time", problems, events.source)
    cut = (parse_day(as_of) if isinstance(as_of, str) else float(as_of)) if as_of is not None else float(known.max())
    start_cut = None if since is None else (parse_day(since, end_of_day=False) if isinstance(since, str) else since)
    if cut < float(known.min()):
        raise FitDataError(f"--as-of {format_day(cut)} is before the export's first row ({format_day(known.min())})")
    warnings: list[str] = []
    day = format_day(cut - 1e-3)  # a date's cut-off is the end of that day

    base: Journey | None = None
    appearance: list[int] = []
    node = None
    base_text = ""
    if into is not None:
        from journeydsl.language.compile import compile_source
        from journeydsl.language.parser import parse

        src = Source.read(into)
        base, _ = compile_source(src)
        node = parse(src)
        base_text = src.text
        mapping = read_map(str(map_path)) if map_path else {}
        matched = _match(events.stage_names, base, mapping, warnings)
        names = [s.name for s in base.stages]
        labels = {s.name: s.label or s.name for s in base.stages}
        taken = set(names)
        key_of = np.zeros(len(events.stage_names), dtype=np.int64)
        extra: dict[str, int] = {}
        for code, data_name in enumerate(events.stage_names):
            if data_name in matched:
                key_of[code] = names.index(matched[data_name])
            else:
                if data_name not in extra:
                    extra[data_name] = len(names)
                    names.append(stage_id(data_name, taken))
                    labels[names[-1]] = data_name
                key_of[code] = extra[data_name]
        terminal = {names.index(s.name) for s in base.stages if s.terminal}
        self_loops = frozenset(names.index(t.source) for t in base.transitions if t.source == t.target)
        goal_names = {s.name for s in base.stages if s.goal}
    else:
        if map_path:
            warnings.append("--map is only used with --into; the stages keep the data's names")
        appearance = _first_appearance(events)
        taken: set[str] = set()  # type: ignore[no-redef]
        names = ["" for _ in events.stage_names]
        for code in appearance:
            names[code] = stage_id(events.stage_names[code], taken)
        labels = {names[c]: events.stage_names[c] for c in range(len(names))}
        key_of = np.arange(len(names), dtype=np.int64)
        terminal = set()
        self_loops = frozenset()
        goal_names = set()

    # stages no case ever leaves are terminal (for a base: only those the journey does not know)
    base_count = len(base.stages) if base is not None else 0
    stays = build_stays(events, key_of, names, terminal, as_of=cut, since=start_cut, self_loops=self_loops,
                        may_be_terminal=frozenset(range(base_count, len(names))))
    problems += stays.problems
    if strict and stays.problems:
        raise FitDataError(f"{events.path}: {len(stays.problems):,} bad row(s) (--strict)", problems, events.source)

    fits: dict[str, StageFit] = {}
    for key in np.unique(stays.stage).tolist():
        if key in terminal:
            continue
        pick = stays.stage == key
        known_start = pick & np.isfinite(stays.start)
        fit = fit_stage(key, stays.days[known_start], stays.dest[known_start],
                        unknown_start=int((pick & ~known_start).sum()), amounts=stays.amount[known_start], seed=seed)
        if fit.entries:
            fits[names[key]] = fit

    plan = Plan(fits=fits, names=names, day=day, segments=_fit_segments(events, stays, fits, warnings), money=money)
    has_amount = np.isfinite(stays.entries_amount)
    for key in np.unique(stays.entries_stage[has_amount]).tolist():
        pick = has_amount & (stays.entries_stage == key)
        plan.amounts[names[key]] = (float(stays.entries_amount[pick].mean()), int(pick.sum()))
    known_start = np.isfinite(stays.case_first_time)
    firsts, counts = np.unique(stays.case_first_stage[known_start], return_counts=True)
    plan.entry_shares = {names[k]: (float(c / counts.sum()), int(c)) for k, c in zip(firsts, counts, strict=True)}
    if base is not None and node is not None:
        text = write_into(base_text, node, base, plan)
        out_path = str(into)
    else:
        goal_key = _goal_key(goal, names, labels, events, warnings)
        if goal_key is not None:
            goal_names = {names[goal_key]}
        entries = _entry_shares(stays)
        header = [f"Fitted by journeydsl fit from {Path(events.path).name} ({events.shape}), cut-off {day}:",
                  f"{len(events.case_ids):,} cases, {int(stays.entries_stage.size):,} stage entries."]
        text = write_new(f"Fitted from {Path(events.path).name}", plan, {i: labels[n] for i, n in enumerate(names)},
                         appearance, entries, goal_key, terminal, header, _rate_ok)
        out_path = "<fitted>"
    text, journey = _finish(text, out_path)
    if base is not None and base.triggers:
        warnings.append(
            f"the journey has {len(base.triggers)} trigger(s): if they were live while the data was recorded, the "
            "fitted shares and times already include their effect, and simulating the triggers on top counts it "
            "twice (fit a period without them, or keep them as a scenario)")
    if base is not None and goal is not None:
        warnings.append("--goal is only used without --into; the journey's own goal stages are kept")
    seconds = time.perf_counter() - started
    return FitResult(
        text=text, journey=journey, events=events, stays=stays, fits=fits, names=names, labels=labels,
        as_of=cut, written=plan.written, segments=plan.segments,
        warnings=warnings + events.notes + stays.notes + plan.warnings,
        problems=problems, goal=goal_names, terminal={names[k] for k in terminal}, seconds=seconds,
        base_path=str(into) if into is not None else None,
        order=names if base is not None else [names[c] for c in appearance],
    )


def _fit_segments(events: Events, stays: Stays, fits: dict[str, StageFit], warnings: list[str]) -> list[SegmentFit]:
    """Each segment of the data (a ``segment`` column) with the exit shares that differ from everyone's."""
    out: list[SegmentFit] = []
    total = int(stays.case_segment.size)
    for code, name in enumerate(events.segment_names):
        count = int(np.sum(stays.case_segment == code))
        if count < MIN_SEGMENT_CASES:
            warnings.append(f"segment '{name}' has {count:,} cases (fewer than {MIN_SEGMENT_CASES}): "
                            "it is not fitted apart")
            continue
        seg = SegmentFit(name, count, count / total if total else 0.0)
        for fit in fits.values():
            pick = (stays.stage == fit.key) & (stays.segment == code) & np.isfinite(stays.start)
            for s, everyone in fit_segment_shares(fit, stays.days[pick], stays.dest[pick]):
                seg.differs.append((fit.key, s, everyone))
        out.append(seg)
    return out


def _finish(text: str, path: str) -> tuple[str, Journey]:
    """Lay the text out with fmt and compile it; a failure here is a bug, reported with the text."""
    from journeydsl.language.compile import compile_source
    from journeydsl.language.fmt import format_source

    try:
        formatted = format_source(text, path)
        journey, _ = compile_source(Source(path, formatted))
    except JourneyError as exc:
        raise RuntimeError(
            "the fitted journey does not compile: " + "; ".join(d.message for d in exc.diagnostics)
        ) from None
    return formatted, journey


def _first_appearance(events: Events) -> list[int]:
    """Data stage codes by the time each first appears (file order breaks ties)."""
    k = len(events.stage_names)
    t = np.where(np.isnan(events.time), -np.inf, events.time)
    first_time = np.full(k, np.inf)
    np.minimum.at(first_time, events.stage, t)
    first_line = np.full(k, np.iinfo(np.int64).max)
    np.minimum.at(first_line, events.stage, events.line)
    return [int(c) for c in np.lexsort((first_line, first_time))]


def _entry_shares(stays: Stays) -> dict[int, float]:
    known = np.isfinite(stays.case_first_time)
    first = stays.case_first_stage[known] if known.any() else stays.case_first_stage
    keys, counts = np.unique(first, return_counts=True)
    total = counts.sum()
    shares = {int(k): float(c / total) for k, c in zip(keys, counts, strict=True)}
    if len(shares) > 1:  # rounded to 0.1% so that they add up to exactly 100%
        rounded = {k: round(v * 100, 1) for k, v in shares.items()}
        big = max(rounded, key=lambda k: rounded[k])
        rounded[big] = round(rounded[big] + 100 - sum(rounded.values()), 1)
        shares = {k: v / 100 for k, v in rounded.items()}
    return shares


def _goal_key(goal: str | None, names: list[str], labels: dict[str, str], events: Events,
              warnings: list[str]) -> int | None:
    from journeydsl.analysis.fit.readers import KOMMO_NAMES, KOMMO_WON

    if goal is None:
        won = KOMMO_NAMES[KOMMO_WON]
        if won in events.stage_names:
            return events.stage_names.index(won)
        warnings.append("no --goal: the journey has no goal stage, so its conversion figures are zero")
        return None
    for i, name in enumerate(names):
        if goal == name or _norm_label(goal) == _norm_label(labels[name]):
            return i
    hint = did_you_mean(goal, names + list(labels.values()))
    raise FitDataError(f"--goal: no stage '{goal}' in the data" + (f"; {hint}" if hint else ""))


def _rate_ok(fit: StageFit) -> bool:
    """One exit with a constant hazard (exponential within 2 AIC of the best): written as a rate."""
    if len(fit.targets) != 1 or not fit.dwell:
        return False
    expo = next((c for c in fit.dwell if c.kind == "exponential"), None)
    return expo is not None and expo.aic - fit.dwell[0].aic <= 2.0 and math.isfinite(expo.aic)

