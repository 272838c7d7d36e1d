"""Reading a CRM export into one table of stage entries.

Every supported shape (see ``docs/commands/fit.md``) ends as the same
:class:`Events`: one row per time a case entered a stage, with the line of the
file it came from. The shape is told by the header; the encoding (UTF-8 with
or without a byte-order mark, else CP1251) and the separator (comma,
semicolon or tab) by the bytes. Rows may come in any order. A row that cannot
be used is kept out and reported as a :class:`~journeydsl.language.errors.Diagnostic`
pointing at its line and field, never silently dropped.
"""

from __future__ import annotations

import csv
import io
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from journeydsl.language.errors import Diagnostic
from journeydsl.language.source import Source, Span

__all__ = ["SHAPES", "Events", "FitDataError", "detect_shape", "parse_time", "read_events"]

SHAPES = ("entries", "transitions", "kommo", "hubspot", "salesforce")
DAY = 86_400.0

#: amoCRM/Kommo's fixed status ids for the closed stages of every pipeline
KOMMO_WON, KOMMO_LOST = "142", "143"
KOMMO_NAMES = {KOMMO_WON: "Успешно реализовано", KOMMO_LOST: "Закрыто и не реализовано"}


class FitDataError(Exception):
    """The export cannot be read at all (no rows, unknown header, unreadable file)."""

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = (), source: Source | None = None):
        super().__init__(message)
        self.diagnostics = list(diagnostics)
        self.source = source


# --- columns of each shape ------------------------------------------------------------------------

#: role -> accepted header names (compared after :func:`_norm`); the first role set that fits wins
_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "salesforce": {
        "case": ("opportunityid", "opportunity_id"),
        "stage": ("stagename", "stage_name", "stage"),
        "time": ("createddate", "created_date"),
    },
    "hubspot": {
        "case": ("deal_id", "dealid", "record_id", "hs_object_id", "deal"),
        "stage": ("stage", "dealstage", "deal_stage", "value", "hs_pipeline_stage"),
        "time": ("timestamp", "changed_at", "date", "hs_timestamp"),
    },
    "kommo": {
        "case": ("entity_id", "lead_id", "id_сделки", "id_сущности"),
        "time": ("created_at", "дата_создания", "дата", "date"),
        "before": ("status_before", "value_before", "значение_до", "статус_до", "старый_статус"),
        "after": ("status_after", "value_after", "значение_после", "статус_после", "новый_статус"),
    },
    "transitions": {
        "case": ("case_id",),
        "before": ("from_stage",),
        "after": ("to_stage",),
        "time": ("changed_at",),
    },
    "entries": {
        "case": ("case_id",),
        "stage": ("stage",),
        "time": ("entered_at",),
    },
}
_OPTIONAL: dict[str, tuple[str, ...]] = {
    "amount": ("amount", "сумма", "бюджет", "budget", "price"),
    "segment": ("segment", "сегмент"),
    "type": ("type", "event_type", "тип_события", "тип"),
}
_EXPECTED = {
    "entries": "case_id, stage, entered_at",
    "transitions": "case_id, from_stage, to_stage, changed_at",
    "kommo": "entity_id, created_at, status_before, status_after (or value_before/value_after)",
    "hubspot": "deal_id, stage, timestamp",
    "salesforce": "OpportunityId, StageName, CreatedDate",
}


def _norm(name: str) -> str:
    """A header name for matching: lowercase, stripped, spaces and dashes as ``_``."""
    return re.sub(r"[\s\-]+", "_", name.strip().strip('"').lower())


def _roles(header: Sequence[str], shape: str) -> dict[str, int] | None:
    """Column index per role for ``shape``, or ``None`` when a required column is missing."""
    names = [_norm(h) for h in header]
    found: dict[str, int] = {}
    for role, aliases in _COLUMNS[shape].items():
        idx = next((names.index(a) for a in aliases if a in names), None)
        if idx is None:
            return None
        found[role] = idx
    for role, aliases in _OPTIONAL.items():
        idx = next((names.index(a) for a in aliases if a in names), None)
        if idx is not None and idx not in found.values():
            found[role] = idx
    return found


def detect_shape(header: Sequence[str]) -> str | None:
    """The export shape a header belongs to, or ``None``.

    >>> detect_shape(["case_id", "stage", "entered_at"])
    'entries'
    >>> detect_shape(["OpportunityId", "StageName", "Amount", "CreatedDate"])
    'salesforce'
    """
    names = {_norm(h) for h in header}
    if {"from_stage", "to_stage"} <= names and _roles(header, "transitions"):
        return "transitions"
    if "entered_at" in names and _roles(header, "entries"):
        return "entries"
    for shape in ("salesforce", "kommo", "hubspot"):
        if _roles(header, shape):
            return shape
    return None


# --- timestamps --------------------------------------------------------------------------------------

_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def parse_time(text: str) -> float | None:
    """Seconds since 1970 (UTC) for one timestamp, or ``None`` when it is not one.

    ISO 8601 dates and datetimes with or without a zone (no zone: read as
    UTC), ``DD.MM.YYYY [HH:MM[:SS]]`` (Russian Excel), unix seconds, and unix
    milliseconds (13 digits, as HubSpot writes them).

    >>> parse_time("2026-01-02"), parse_time("1767312000"), parse_time("02.01.2026 00:00")
    (1767312000.0, 1767312000.0, 1767312000.0)
    >>> parse_time("2026-01-02T03:00:00+03:00"), parse_time("yesterday")
    (1767312000.0, None)
    """
    s = text.strip()
    if not s:
        return None
    if _NUMBER.match(s):
        value = float(s)
        if value > 1e11:  # milliseconds
            value /= 1000.0
        return value if 1e8 < value < 1e10 else None
    m = _DMY.match(s)
    try:
        if m:
            d, mo, y, hh, mm, ss = m.groups()
            dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        else:
            dt = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def format_day(seconds: float) -> str:
    """``2026-06-30`` for a time in seconds since 1970 (UTC)."""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d")


# --- decoding ----------------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding's name: UTF-8 (a BOM dropped), else CP1251 (Russian Excel)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "UTF-8 with BOM"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace"), "CP1251"


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (";", ",", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


# --- the table ---------------------------------------------------------------------------------------


@dataclass
class Events:
    """Stage entries read from one export, in file order.

    ``case``/``stage`` are codes into ``case_ids``/``stage_names``; ``time``
    is seconds since 1970 (NaN: the case was already in that stage when the
    export starts, its entry time unknown); ``line`` is the 1-based line of
    the row the entry came from.
    """

    path: str
    shape: str
    encoding: str
    delimiter: str
    source: Source
    case: np.ndarray
    stage: np.ndarray
    time: np.ndarray
    line: np.ndarray
    amount: np.ndarray
    before: np.ndarray
    segment: np.ndarray  # segment code per row (-1: none given)
    segment_names: list[str]
    case_ids: list[str]
    stage_names: list[str]
    rows: int = 0
    problems: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _lines: list[str] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.case.size)

    def line_text(self, line: int) -> str:
        """One line of the export (the text is split once, on the first call)."""
        if self._lines is None:
            self._lines = self.source.text.split("\n")
        return self._lines[line - 1].removesuffix("\r") if 0 < line <= len(self._lines) else ""


class _Builder:
    """Collects entries row by row, with code tables and the problems found."""

    def __init__(self, path: str, source: Source, lines: list[str]):
        self.path = path
        self.source = source
        self.lines = lines
        self.case_code: dict[str, int] = {}
        self.stage_code: dict[str, int] = {}
        self.case: list[int] = []
        self.stage: list[int] = []
        self.time: list[float] = []
        self.line: list[int] = []
        self.amount: list[float] = []
        self.problems: list[Diagnostic] = []
        self._times: dict[str, float | None] = {}
        self.header: list[str] = []
        self.header_at = 0
        self.segment: list[int] = []
        self.segment_code: dict[str, int] = {}
        self.case_list: list[str] | None = None  # the case ids in code order, when read column by column
        self.delimiter = ","
        self.before: list[int] = []

    def problem(self, line: int, value: str, message: str, hint: str | None = None,
                severity: str = "error") -> None:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        col = text.find(value) + 1 if value else 0
        span = Span(line, col, line, col + len(value)) if col > 0 else Span(line, 1, line, max(2, len(text) + 1))
        self.problems.append(Diagnostic(span, severity, "F100", message, hint, self.path))  # type: ignore[arg-type]

    def when(self, text: str) -> float | None:
        try:
            return self._times[text]
        except KeyError:
            value = self._times[text] = parse_time(text)
            return value

    def add(self, case: str, stage: str, time: float, line: int, amount: float, segment: str = "") -> None:
        c = self.case_code.setdefault(case, len(self.case_code))
        s = self.stage_code.setdefault(stage, len(self.stage_code))
        self.case.append(c)
        self.stage.append(s)
        self.time.append(time)
        self.line.append(line)
        self.amount.append(amount)
        self.before.append(-1)
        self.segment.append(self.segment_code.setdefault(segment, len(self.segment_code)) if segment else -1)


#: event types that set a lead's status: a change, or the lead's creation in its first status
_KOMMO_TYPES = frozenset({"lead_status_changed", "lead_added", "Изменение этапа продажи", "Изменение статуса",
                          "Новая сделка", "Сделка создана"})
_KOMMO_CREATED = frozenset({"lead_added", "Новая сделка", "Сделка создана"})
_KOMMO_STATUS = re.compile(r'"?(?:status_id|id)"?\s*[:=]\s*"?(\d+)')


def _kommo_status(value: str) -> str:
    """A status by name or id, also out of the API's JSON (``[{"lead_status": {"id": 142, ...}}]``)."""
    v = value.strip()
    if v.startswith(("[", "{")):
        m = _KOMMO_STATUS.search(v)
        v = m.group(1) if m else v
    return KOMMO_NAMES.get(v, v)


def read_events(path: str | Path, shape: str = "auto", *, data: bytes | None = None) -> Events:
    """Read an export into :class:`Events` (raises :class:`FitDataError` when it cannot be read at all).

    ``shape`` is one of :data:`SHAPES` or ``auto`` (told by the header).
    """
    import gc

    # millions of small row lists would set off the cyclic garbage collector again and again: it has
    # nothing to find here, and pausing it makes reading 10^6 rows several times faster
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _read_events(path, shape, data)
    finally:
        if was_enabled:
            gc.enable()


def _read_events(path: str | Path, shape: str, data: bytes | None) -> Events:
    p = str(path)
    raw: bytes | None = Path(path).read_bytes() if data is None else data
    assert raw is not None
    text, encoding = decode(raw)
    source = Source(p, text)
    lines = text.split("\n")
    if "\r" in text:
        lines = [ln.removesuffix("\r") for ln in lines]
    header_at = next((i for i, ln in enumerate(lines) if ln.strip()), 0)
    first = lines[header_at] if lines else ""
    if not first:
        raise FitDataError(f"{p}: the file is empty")
    delim = _delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        header = next(reader)
    except StopIteration:  # pragma: no cover - caught by the empty check
        raise FitDataError(f"{p}: the file is empty") from None
    if shape == "auto":
        found = detect_shape(header)
        if found is None:
            shown = ", ".join(h.strip() for h in header[:8])
            raise FitDataError(
                f"{p}:1: the header ({shown}) is not one of the known export shapes; expected one of: "
                + "; ".join(f"{k} ({v})" for k, v in _EXPECTED.items())
                + " (or pass --from with --map for other names)"
            )
        shape = found
    roles = _roles(header, shape)
    if roles is None:
        raise FitDataError(f"{p}:1: a '{shape}' export needs the columns {_EXPECTED[shape]}; the header has "
                           + ", ".join(h.strip() for h in header))
    b = _Builder(p, source, lines)
    del lines, raw  # the builder keeps the lines only as long as it needs them
    b.header = [h.strip() for h in header]
    b.header_at = header_at
    b.delimiter = delim
    rows = _ROW_READERS[shape](reader, roles, b, len(header))
    if not len(b.case):
        raise FitDataError(f"{p}: no usable rows", b.problems, source)
    events = Events(
        path=p, shape=shape, encoding=encoding, delimiter=delim, source=source,
        case=np.asarray(b.case, dtype=np.int64), stage=np.asarray(b.stage, dtype=np.int64),
        time=np.asarray(b.time, dtype=np.float64), line=np.asarray(b.line, dtype=np.int64),
        amount=np.asarray(b.amount, dtype=np.float64), before=np.asarray(b.before, dtype=np.int64),
        segment=np.asarray(b.segment, dtype=np.int64), segment_names=list(b.segment_code),
        case_ids=b.case_list if b.case_list is not None else list(b.case_code),
        stage_names=list(b.stage_code), rows=rows, problems=b.problems,
    )
    if shape in ("hubspot", "salesforce"):
        _collapse_repeats(events)
    return events


def _cell(row: list[str], idx: int | None) -> str:
    return row[idx].strip() if idx is not None and idx < len(row) else ""


def _common(row: list[str], roles: dict[str, int], b: _Builder, line: int, width: int,
            time_col: str) -> tuple[str, float, float] | None:
    """Case id, time and amount of a row, or ``None`` after reporting what is wrong with it."""
    if len(row) < width and len(row) <= max(roles.values()):
        b.problem(line, "", f"the row has {len(row)} fields, the header {width}",
                  "a separator inside a value needs quotes around the value")
        return None
    case = _cell(row, roles["case"])
    if not case:
        b.problem(line, "", "no case id in this row", "every row needs the id of its lead or deal")
        return None
    stamp = _cell(row, roles["time"])
    t = b.when(stamp)
    if t is None:
        b.problem(line, stamp, f"'{stamp}' in '{time_col}' is not a time" if stamp else f"no time in '{time_col}'",
                  "write ISO dates (2026-06-30 or 2026-06-30T14:05:00+03:00), DD.MM.YYYY HH:MM or unix seconds")
        return None
    amount = float("nan")
    if "amount" in roles:
        raw = _cell(row, roles["amount"]).replace("\u00a0", "").replace(" ", "")
        if raw:
            try:
                amount = float(raw.replace(",", "."))
            except ValueError:
                b.problem(line, raw, f"'{raw}' is not an amount", "write amounts as plain numbers (1250.50)",
                          severity="warning")
    return case, t, amount


def _read_entries(reader: Any, roles: dict[str, int], b: _Builder, width: int) -> int:
    names: list[str] = [r for r in ("case", "stage", "time", "amount", "segment") if r in roles]
    wanted = [roles[r] for r in names]
    if '"' not in b.source.text:  # no quoting: each line is a row, split by the separator (fast)
        got = _unquoted_columns(b, width, wanted)
        if got is not None:
            b.lines = []  # 10^6 line strings: not needed once split (a problem row re-splits the text)
            by_role, numbers_found = dict(zip(names, got[0], strict=True)), got[1]
            del got  # the columns live only in by_role, which _fast_entries empties as it goes
            if _fast_entries(by_role, numbers_found, b):
                return int(numbers_found.size)
            b.lines = [ln.removesuffix("\r") for ln in b.source.text.split("\n")]
        lines, start = b.lines, b.header_at + 1
        numbers = [i + 1 for i in range(start, len(lines)) if lines[i].strip()]
        rows = [lines[n - 1].split(b.delimiter) for n in numbers]
    else:
        pairs = [(reader.line_num, row) for row in reader]
        pairs = [(line, row) for line, row in pairs if len(row) > 1 or (row and row[0].strip())]
        numbers = [line for line, _ in pairs]
        rows = [row for _, row in pairs]
        if rows and min(map(len, rows)) >= width:
            columns = list(zip(*rows, strict=False))
            if _fast_entries({r: list(columns[i]) for r, i in zip(names, wanted, strict=True)},
                             np.asarray(numbers, dtype=np.int64), b):
                return len(rows)
    time_col = b.header[roles["time"]]
    for line, row in zip(numbers, rows, strict=True):
        got_row = _common(row, roles, b, line, width, time_col)
        if got_row is None:
            continue
        stage = _cell(row, roles["stage"])
        if not stage:
            b.problem(line, "", "no stage in this row")
            continue
        b.add(got_row[0], stage, got_row[1], line, got_row[2], _cell(row, roles.get("segment")))
    return len(rows)


def _unquoted_columns(b: _Builder, width: int, wanted: list[int],
                      chunk: int = 100_000) -> tuple[list[list[str]], np.ndarray] | None:
    """The wanted columns of an unquoted file, a chunk of lines at a time.

    Each chunk is joined and split once (in C), and a column is every
    ``width``-th field of it; ``None`` when any line has another number of
    fields (the row-by-row reader then says which).
    """
    lines, delim = b.lines, b.delimiter
    cols: list[list[str]] = [[] for _ in wanted]
    numbers = []
    count = operator.methodcaller("count", delim)
    for lo in range(b.header_at + 1, len(lines), chunk):
        part = lines[lo : lo + chunk]
        filled = list(map(bool, map(str.strip, part)))
        if all(filled):
            kept, at = part, np.arange(len(part), dtype=np.int64)
        else:
            at = np.flatnonzero(filled)
            kept = [part[k] for k in at.tolist()]
        if not kept:
            continue
        if set(map(count, kept)) != {width - 1}:
            return None
        flat = delim.join(kept).split(delim)
        for col, idx in zip(cols, wanted, strict=True):
            col.extend(flat[idx::width])
        numbers.append(at + (lo + 1))
    return cols, (np.concatenate(numbers) if numbers else np.zeros(0, dtype=np.int64))


_FIXED_ISO = {  # length -> positions of the separators (and the zone letter) of a fixed-width ISO time
    10: {4: b"-", 7: b"-"},
    16: {4: b"-", 7: b"-", 10: b"T ", 13: b":"},
    19: {4: b"-", 7: b"-", 10: b"T ", 13: b":", 16: b":"},
    20: {4: b"-", 7: b"-", 10: b"T ", 13: b":", 16: b":", 19: b"Z"},
}
_MONTH_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _fixed_iso_times(stamps: list[str]) -> np.ndarray | None:
    """Seconds since 1970 of same-width ISO times (``2026-06-30[T14:05[:09][Z]]``), all at once, or ``None``.

    The digits are read as bytes and the calendar computed with numpy (days
    from the civil date, H. Hinnant's algorithm), about 50 times faster than
    parsing each string; anything unusual returns ``None``.
    """
    width = len(stamps[0])
    seps = _FIXED_ISO.get(width)
    if seps is None:
        return None
    try:
        buf = "".join(stamps).encode("ascii")
    except UnicodeEncodeError:
        return None
    if len(buf) != width * len(stamps):
        return None  # not all the same width
    a = np.frombuffer(buf, dtype=np.uint8).reshape(len(stamps), width)
    for pos, allowed in seps.items():
        col = a[:, pos]
        if not np.isin(col, np.frombuffer(allowed, dtype=np.uint8)).all():
            return None
    digit_pos = [i for i in range(min(width, 19)) if i not in seps]
    d = a[:, digit_pos] - np.uint8(48)  # bytes below '0' wrap around to large values
    del buf, a
    if (d > 9).any():
        return None

    def num(*cols: int) -> np.ndarray:
        out = np.zeros(len(stamps), dtype=np.int64)
        for c in cols:
            out = out * 10 + d[:, digit_pos.index(c)]
        return out

    y, m, day = num(0, 1, 2, 3), num(5, 6), num(8, 9)
    hh = num(11, 12) if width >= 16 else 0
    mm = num(14, 15) if width >= 16 else 0
    ss = num(17, 18) if width >= 19 else 0
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    if ((m < 1) | (m > 12)).any():
        return None
    if ((day < 1) | (day > _MONTH_DAYS[m]) | ((m == 2) & (day == 29) & ~leap)).any():
        return None
    if width >= 16 and ((np.asarray(hh) > 23) | (np.asarray(mm) > 59) | (np.asarray(ss) > 59)).any():
        return None
    yy = y - (m <= 2)
    era = np.floor_divide(yy, 400)
    yoe = yy - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return (days * 86400 + hh * 3600 + mm * 60 + ss).astype(np.float64)


def _fast_times(stamps: list[str]) -> np.ndarray | None:
    """Every timestamp at once when they are all unix numbers or zone-less/UTC ISO times; else ``None``."""
    import warnings

    first = stamps[0] if stamps else ""
    try:
        if _NUMBER.match(first):
            values = np.asarray(stamps, dtype=np.float64)
            values = np.where(values > 1e11, values / 1000.0, values)
            return values if bool(np.all((values > 1e8) & (values < 1e10))) else None
        fixed = _fixed_iso_times(stamps)
        if fixed is not None:
            return fixed
        if any(x.isdigit() for x in stamps):  # numpy would read '1767225600' as a year; mixed go row by row
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            # numpy reads a trailing 'Z' (UTC) but calls zones deprecated; other offsets go row by row
            warnings.filterwarnings("ignore", message=".*timezone.*")
            if any(("+" in x[10:] or x[10:].count("-")) for x in (stamps[0], stamps[-1])):
                return None
            parsed = np.asarray(stamps, dtype="datetime64[us]")
    except (ValueError, TypeError, Warning):
        return None
    if np.isnat(parsed).any():
        return None
    return parsed.astype(np.int64).astype(np.float64) / 1e6


def _fast_entries(columns: dict[str, list[str]], numbers: np.ndarray, b: _Builder) -> bool:
    """Code a clean file column by column (numpy parses the times); ``False`` to fall back row by row.

    ``columns`` holds the case, stage and time columns, and the amount and segment ones when given.
    """
    if not columns["case"]:
        return False
    # each column is dropped once coded, so that the strings of only one column are alive with its array
    cases = np.asarray(list(map(str.strip, columns["case"])))
    case_ids, case_codes = np.unique(cases, return_inverse=True)  # a sort: faster than a dict of 10^6 ids
    del cases
    stage_col = list(map(str.strip, columns["stage"]))
    stage_index = {name: i for i, name in enumerate(dict.fromkeys(stage_col))}  # few stages: a dict is quickest
    stage_codes = np.fromiter(map(stage_index.__getitem__, stage_col), dtype=np.int64, count=len(stage_col))
    del stage_col
    if (case_ids.size and case_ids[0] == "") or "" in stage_index:
        return False
    times = _fast_times(list(map(str.strip, columns["time"])))
    if times is None:
        return False
    amounts = np.full(numbers.size, np.nan)
    if "amount" in columns:
        raw = [x.strip().replace(",", ".") or "nan" for x in columns["amount"]]
        try:
            amounts = np.asarray(raw, dtype=np.float64)
        except ValueError:
            return False
    segments = np.full(numbers.size, -1, dtype=np.int64)
    if "segment" in columns:
        seg_col = list(map(str.strip, columns["segment"]))
        seg_index = {name: i for i, name in enumerate(k for k in dict.fromkeys(seg_col) if k)}
        seg_index[""] = -1
        segments = np.fromiter(map(seg_index.__getitem__, seg_col), dtype=np.int64, count=len(seg_col))
        del seg_index[""]
        b.segment_code = seg_index
    columns.clear()
    b.case_list = case_ids.tolist()
    b.stage_code = stage_index
    b.case = case_codes.astype(np.int64)  # type: ignore[assignment]
    b.stage = stage_codes.astype(np.int64)  # type: ignore[assignment]
    b.time = times  # type: ignore[assignment]
    b.line = numbers  # type: ignore[assignment]
    b.amount = amounts  # type: ignore[assignment]
    b.before = np.full(numbers.size, -1, dtype=np.int64)  # type: ignore[assignment]
    b.segment = segments  # type: ignore[assignment]
    return True


def _read_changes(reader: Any, roles: dict[str, int], b: _Builder, width: int, *, kommo: bool = False) -> int:
    """Rows that move a case from one stage to another; an empty from-stage is the case's creation."""
    rows = 0
    time_col = b.header[roles["time"]]
    before_first: dict[str, tuple[str, float, int]] = {}
    created: dict[str, float] = {}  # creation times of leads whose creation row names no status
    for row in reader:
        line = reader.line_num
        if not row or not any(c.strip() for c in row):
            continue
        rows += 1
        if kommo and "type" in roles:
            kind = _cell(row, roles["type"])
            if kind and kind not in _KOMMO_TYPES:
                continue
        got = _common(row, roles, b, line, width, time_col)
        if got is None:
            continue
        case, t, amount = got
        after = _cell(row, roles["after"])
        before = _cell(row, roles["before"])
        if kommo:
            after, before = _kommo_status(after) if after else "", _kommo_status(before) if before else ""
        if not after:
            if kommo and _cell(row, roles.get("type")) in _KOMMO_CREATED:
                created[case] = min(t, created.get(case, t))  # its status: the first change's 'before'
                continue
            b.problem(line, "", "no stage the case moved to in this row")
            continue
        b.add(case, after, t, line, amount, _cell(row, roles.get("segment")))
        if before:
            b.before[-1] = b.stage_code.setdefault(before, len(b.stage_code))
            seen = before_first.get(case)
            if seen is None or t < seen[1]:
                before_first[case] = (before, t, line)
    # the from-stage of each case's earliest change: the case was there before the export starts,
    # unless an earlier row (with an empty from-stage, or a later row set) shows it entering
    first_time: dict[int, float] = {}
    first_stage: dict[int, int] = {}
    for c, s, t in zip(b.case, b.stage, b.time, strict=True):
        if c not in first_time or t < first_time[c]:
            first_time[c], first_stage[c] = t, s
    names = list(b.stage_code)
    for case, (before, t, line) in before_first.items():
        c = b.case_code[case]
        if t <= first_time[c] and not (t == first_time[c] and names[first_stage[c]] == before):
            start = created.get(case, float("nan"))  # unknown unless the lead's creation row was seen
            b.add(case, before, start if start <= t else float("nan"), line, float("nan"))
    return rows


def _collapse_repeats(events: Events) -> None:
    """Drop rows that repeat a case's current stage (an amount or date changed, not the stage)."""
    order = np.lexsort((events.line, events.time, events.case))
    case, stage = events.case[order], events.stage[order]
    repeat = np.zeros(order.size, dtype=bool)
    repeat[1:] = (case[1:] == case[:-1]) & (stage[1:] == stage[:-1])
    if repeat.any():
        keep = np.sort(order[~repeat])
        events.notes.append(f"{int(repeat.sum()):,} rows repeat the stage the case was already in "
                            "(an amount or date changed); they are not stage changes")
        for name in ("case", "stage", "time", "line", "amount", "before", "segment"):
            setattr(events, name, getattr(events, name)[keep])


_ROW_READERS: dict[str, Callable[..., int]] = {
    "entries": _read_entries,
    "hubspot": _read_entries,
    "salesforce": _read_entries,
    "transitions": _read_changes,
    "kommo": lambda reader, roles, b, width: _read_changes(reader, roles, b, width, kommo=True),
}
