"""Stage entries -> stays: how long each case stayed in each stage, and where it went.

The cases' rows are put in time order (the file's order does not matter); a
stay runs from one entry to the case's next entry. A case's last stay ends
at the cut-off (``--as-of``) unless its stage is terminal: that stay is still
open, right-censored, and counts as such in every estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from journeydsl.analysis.fit.readers import DAY, Events, format_day
from journeydsl.language.errors import Diagnostic

__all__ = ["Stays", "build_stays"]


@dataclass
class Stays:
    """One row per stay; stage keys are codes into ``names``."""

    names: list[str]
    stage: np.ndarray
    dest: np.ndarray  # -1: still open at the cut-off
    days: np.ndarray
    start: np.ndarray  # seconds since 1970; NaN: entered before the export starts
    case: np.ndarray
    amount: np.ndarray
    as_of: float
    segment: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # the stay's case's
    case_segment: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: per case: the first stage, its entry time (NaN: unknown), and every stage it reached with the time
    case_first_stage: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    case_first_time: np.ndarray = field(default_factory=lambda: np.zeros(0))
    entries_stage: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    entries_case: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    entries_time: np.ndarray = field(default_factory=lambda: np.zeros(0))
    entries_amount: np.ndarray = field(default_factory=lambda: np.zeros(0))
    problems: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def build_stays(
    events: Events,
    key_of: np.ndarray,
    names: list[str],
    terminal: set[int],
    *,
    as_of: float,
    since: float | None = None,
    self_loops: frozenset[int] = frozenset(),
    may_be_terminal: frozenset[int] = frozenset(),
) -> Stays:
    """Turn entries into stays. ``key_of`` maps each data stage code to a stage key in ``names``.

    Of the keys in ``may_be_terminal``, those no case ever leaves are added to ``terminal`` (in place).
    """
    problems: list[Diagnostic] = []
    notes: list[str] = []
    time = events.time
    late = time > as_of
    if late.any():
        n = int(late.sum())
        notes.append(f"{n:,} row{'s' if n != 1 else ''} after the cut-off {format_day(as_of - 1e-3)} "
                     f"{'are' if n != 1 else 'is'} ignored")
    keep = ~late
    case, key, line = events.case[keep], key_of[events.stage[keep]], events.line[keep]
    time, amount, seg = time[keep], events.amount[keep], events.segment[keep]
    before = np.where(events.before[keep] >= 0, key_of[np.maximum(events.before[keep], 0)], -1)
    order_time = np.where(np.isnan(time), -np.inf, time)
    order = np.lexsort((line, order_time, case))
    case, key, line, time, amount, before, seg = (a[order] for a in (case, key, line, time, amount, before, seg))
    same = np.zeros(case.size, dtype=bool)
    same[1:] = case[1:] == case[:-1]

    # a row whose from-stage is not where the case's previous row put it: out of order, or a row is missing
    bad_chain = same & (before >= 0) & (np.roll(key, 1) != before)
    for i in np.flatnonzero(bad_chain)[:200]:
        problems.append(_row_problem(
            events, int(line[i]),
            f"case '{events.case_ids[case[i]]}' leaves '{names[before[i]]}' here, but its previous row "
            f"(line {int(line[i - 1])}) put it in '{names[key[i - 1]]}'",
            "a time going backwards or a missing row; the rows are used in time order"))

    # repeated rows of the same stage (duplicates, or two CRM stages mapped onto one journey stage)
    repeat = same & (np.roll(key, 1) == key)
    if self_loops:
        repeat &= ~(np.isin(key, list(self_loops)) & (np.roll(time, 1) != time))
    if repeat.any():
        notes.append(f"{int(repeat.sum()):,} rows repeat the stage the case was already in and are merged")
        keep = ~repeat
        case, key, line, time, amount, seg = case[keep], key[keep], line[keep], time[keep], amount[keep], seg[keep]
        same = np.zeros(case.size, dtype=bool)
        same[1:] = case[1:] == case[:-1]

    if may_be_terminal:
        followed = np.zeros(case.size, dtype=bool)
        followed[:-1] = same[1:]
        terminal |= set(may_be_terminal) - set(np.unique(key[followed]).tolist())

    # rows after a terminal stage: the case was reopened; its later rows are left out
    is_term = np.isin(key, list(terminal)) if terminal else np.zeros(key.size, dtype=bool)
    after_term = np.zeros(case.size, dtype=bool)
    if is_term.any():
        first = np.flatnonzero(~same)
        group = np.cumsum(~same) - 1
        term_seen = np.maximum.accumulate(np.where(is_term, np.arange(case.size), -1))
        after_term = same & (term_seen >= first[group]) & (term_seen < np.arange(case.size))
        for i in np.flatnonzero(after_term & ~np.roll(after_term, 1))[:200]:
            problems.append(_row_problem(
                events, int(line[i]),
                f"case '{events.case_ids[case[i]]}' moves on from the terminal stage '{names[key[i - 1]]}'",
                "a reopened lead; its rows after the terminal stage are left out", severity="warning"))
        keep = ~after_term
        case, key, line, time, amount, seg = case[keep], key[keep], line[keep], time[keep], amount[keep], seg[keep]
        same = np.zeros(case.size, dtype=bool)
        same[1:] = case[1:] == case[:-1]

    starts = ~same
    first_idx = np.flatnonzero(starts)
    if since is not None:
        first_time = time[first_idx]
        old = np.isnan(first_time) | (first_time < since)
        old_cases = case[first_idx][old]
        if old_cases.size:
            one = old_cases.size == 1
            notes.append(f"{old_cases.size:,} case{'' if one else 's'} that started before {format_day(since)} "
                         f"{'is' if one else 'are'} left out (--since)")
            keep = ~np.isin(case, old_cases)
            case, key, line, time, amount, seg = case[keep], key[keep], line[keep], time[keep], amount[keep], seg[keep]
            same = np.zeros(case.size, dtype=bool)
            same[1:] = case[1:] == case[:-1]
            starts = ~same
            first_idx = np.flatnonzero(starts)

    nxt = np.zeros(case.size, dtype=bool)
    nxt[:-1] = same[1:]
    dest = np.where(nxt, np.roll(key, -1), -1)
    end = np.where(nxt, np.roll(time, -1), as_of)
    stay = nxt | ~np.isin(key, list(terminal))
    days = (end - time) / DAY
    # a case's segment: the first one its rows name (customers are drawn into one segment on entry)
    named = seg >= 0
    case_seg = np.full(len(events.case_ids), -1, dtype=np.int64)
    rev = np.flatnonzero(named)[::-1]
    case_seg[case[rev]] = seg[rev]
    return Stays(
        names=names,
        stage=key[stay], dest=dest[stay], days=days[stay], start=time[stay], case=case[stay],
        amount=amount[stay], as_of=as_of, segment=case_seg[case[stay]], case_segment=case_seg[case[first_idx]],
        case_first_stage=key[first_idx], case_first_time=time[first_idx],
        entries_stage=key, entries_case=case, entries_time=time, entries_amount=amount,
        problems=problems, notes=notes,
    )


def _row_problem(events: Events, line: int, message: str, hint: str | None = None,
                 severity: str = "warning") -> Diagnostic:
    from journeydsl.language.source import Span

    text = _line_text(events, line)
    return Diagnostic(Span(line, 1, line, max(2, len(text) + 1)), severity, "F200", message, hint,  # type: ignore[arg-type]
                      events.path)


def _line_text(events: Events, line: int) -> str:
    return events.line_text(line)
