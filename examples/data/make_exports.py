"""Make the sample CRM exports in this folder from known journeys (seeded, so they never change).

    python examples/data/make_exports.py        # rewrites amocrm_leads.csv and hubspot_deals.csv

Each lead is followed through a *true* journey whose figures are written
below; the export holds only what a CRM would have recorded by the cut-off
(2026-06-30), so many leads are still open. ``journeydsl fit`` should find
the true figures again within its intervals. The same functions make the
synthetic exports of ``tests/test_fit.py``.

The true journeys time each exit by its own distribution (slow wins, quick
losses), as real pipelines do: this is what makes a fit that leaves the open
leads out biased.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

Sampler = Callable[[np.random.Generator, int], np.ndarray]
HERE = Path(__file__).resolve().parent
CUT = datetime(2026, 7, 1, tzinfo=timezone.utc)  # the end of 2026-06-30
START = CUT - timedelta(days=365)


def gamma(shape: float, mean: float) -> Sampler:
    return lambda rng, n: rng.gamma(shape, mean / shape, n)


def lognormal(mean: float, sd: float) -> Sampler:
    s2 = np.log1p((sd / mean) ** 2)
    return lambda rng, n: rng.lognormal(np.log(mean) - s2 / 2, np.sqrt(s2), n)


def exponential(mean: float) -> Sampler:
    return lambda rng, n: rng.exponential(mean, n)


#: a journey: stage -> ("branch", [(target, share, time to that exit)]) or ("rate", [(target, per day)])
Truth = dict[str, tuple[str, list[tuple]]]

#: amoCRM: a school's sales pipeline (statuses as amoCRM shows them; 142/143 are won/lost)
AMO_TRUTH: Truth = {
    "Новая заявка": ("branch", [("Квалификация", 0.70, gamma(2, 2.0)),
                                 ("Закрыто и не реализовано", 0.30, gamma(2, 2.0))]),
    "Квалификация": ("branch", [("Переговоры", 0.50, gamma(1.5, 6.0)),
                                 ("Закрыто и не реализовано", 0.50, gamma(1.5, 6.0))]),
    "Переговоры": ("branch", [("Успешно реализовано", 0.25, lognormal(30, 15)),
                               ("Закрыто и не реализовано", 0.75, exponential(12))]),
}
AMO_FIRST = "Новая заявка"

#: HubSpot: default deal pipeline stage ids, then paying customers who churn at 4% a month
HUBSPOT_TRUTH: Truth = {
    "appointmentscheduled": ("branch", [("qualifiedtobuy", 0.60, gamma(2, 5.0)), ("closedlost", 0.40, gamma(2, 5.0))]),
    "qualifiedtobuy": ("branch", [("presentationscheduled", 0.55, gamma(2, 8.0)), ("closedlost", 0.45, gamma(2, 8.0))]),
    "presentationscheduled": ("branch", [("contractsent", 0.50, gamma(3, 10.0)), ("closedlost", 0.50, gamma(3, 10.0))]),
    "contractsent": ("branch", [("closedwon", 0.70, lognormal(14, 7)), ("closedlost", 0.30, exponential(20))]),
}
HUBSPOT_FIRST = "appointmentscheduled"


def simulate(truth: Truth, first: str, cases: int, *, seed: int, start: datetime = START, cut: datetime = CUT,
             first_choices: list[tuple[str, float]] | None = None) -> list[tuple[int, str, float]]:
    """(case, stage, unix seconds) of every stage entry a CRM would have recorded by the cut-off."""
    rng = np.random.default_rng(seed)
    t0, t1 = start.timestamp(), cut.timestamp()
    when = np.sort(rng.uniform(t0, t1, cases))
    if first_choices:
        names = [n for n, _ in first_choices]
        probs = np.array([p for _, p in first_choices])
        where = np.array(names, dtype=object)[rng.choice(len(names), cases, p=probs / probs.sum())]
    else:
        where = np.full(cases, first, dtype=object)
    rows = [(i, str(where[i]), float(when[i])) for i in range(cases)]
    alive = np.ones(cases, dtype=bool)
    for _ in range(100):
        alive &= np.array([w in truth for w in where])
        if not alive.any():
            break
        for stage, (form, exits) in truth.items():
            who = np.flatnonzero(alive & (where == stage))
            if who.size == 0:
                continue
            if form == "branch":
                shares = np.array([e[1] for e in exits])
                pick = rng.choice(len(exits), who.size, p=shares / shares.sum())
                delay = np.zeros(who.size)
                for k, e in enumerate(exits):
                    sel = pick == k
                    delay[sel] = e[2](rng, int(sel.sum()))
            else:
                hazards = np.array([e[1] for e in exits])
                delay = rng.exponential(1 / hazards.sum(), who.size)
                pick = rng.choice(len(exits), who.size, p=hazards / hazards.sum())
            when[who] += delay * 86_400
            done = when[who] > t1
            alive[who[done]] = False
            for i, k in zip(who[~done], pick[~done], strict=True):
                where[i] = exits[k][0]
                rows.append((int(i), exits[k][0], float(when[i])))
    return rows


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def entries_csv(rows: list[tuple[int, str, float]], seed: int = 0) -> str:
    """``case_id,stage,entered_at``, rows shuffled (exports come in any order)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["case_id", "stage", "entered_at"])
    for k in np.random.default_rng(seed).permutation(len(rows)):
        c, s, t = rows[k]
        w.writerow([f"L{c:05d}", s, _iso(t)])
    return out.getvalue()


def _changes(rows: list[tuple[int, str, float]]) -> list[tuple[int, str, str, float]]:
    """(case, from, to, time), from empty at creation."""
    last: dict[int, str] = {}
    out = []
    for c, s, t in sorted(rows, key=lambda r: (r[0], r[2])):
        out.append((c, last.get(c, ""), s, t))
        last[c] = s
    return out


def transitions_csv(rows: list[tuple[int, str, float]], seed: int = 0) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["case_id", "from_stage", "to_stage", "changed_at"])
    changes = _changes(rows)
    for k in np.random.default_rng(seed).permutation(len(changes)):
        c, a, b, t = changes[k]
        w.writerow([f"L{c:05d}", a, b, _iso(t)])
    return out.getvalue()


def kommo_csv(rows: list[tuple[int, str, float]], seed: int = 0) -> str:
    """An amoCRM events list export as Russian Excel saves it: ``;``, DD.MM.YYYY HH:MM:SS, newest first."""
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    w.writerow(["ID события", "Дата создания", "Тип события", "ID сделки", "Значение до", "Значение после", "Автор"])
    events = []
    for c, a, b, t in _changes(rows):
        kind = "Новая сделка" if not a else "Изменение этапа продажи"
        events.append((t, c, kind, a, b))
        if rng.random() < 0.3:  # managers' notes: other event types the reader must skip
            events.append((t + 3600, c, "Новое примечание", "", "Перезвонить"))
    events.sort(key=lambda e: -e[0])
    for n, (t, c, kind, a, b) in enumerate(events, start=1):
        stamp = datetime.fromtimestamp(t, tz=timezone.utc).strftime("%d.%m.%Y %H:%M:%S")
        w.writerow([100_000 + n, stamp, kind, 20_000_000 + c, a, b, rng.choice(["Анна", "Олег", "Робот"])])
    return out.getvalue()


def hubspot_csv(rows: list[tuple[int, str, float]], seed: int = 0) -> str:
    """A HubSpot deal stage history: ``Deal ID, Deal Stage, Timestamp`` (unix ms) and the amount."""
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["Deal ID", "Deal Stage", "Timestamp", "Amount"])
    amount = {c: round(float(rng.lognormal(np.log(4000), 0.5)), 2) for c, _, _ in rows}
    for k in rng.permutation(len(rows)):
        c, s, t = rows[k]
        w.writerow([9_000_000 + c, s, int(t * 1000), amount[c]])
    return out.getvalue()


def salesforce_csv(rows: list[tuple[int, str, float]], seed: int = 0) -> str:
    """OpportunityHistory: one row per change (also Amount-only changes, repeating the stage)."""
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["OpportunityId", "StageName", "Amount", "CloseDate", "CreatedDate"])
    for c, s, t in sorted(rows, key=lambda r: r[2]):
        oid = f"006{c:012d}"
        stamp = datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        w.writerow([oid, s, 5000, "2026-12-31", stamp])
        if rng.random() < 0.2:
            later = datetime.fromtimestamp(t + 600, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
            w.writerow([oid, s, 6500, "2026-12-31", later])
    return out.getvalue()


def main() -> None:
    amo = simulate(AMO_TRUTH, AMO_FIRST, 1_200, seed=2026)
    (HERE / "amocrm_leads.csv").write_bytes(kommo_csv(amo, seed=1).encode("cp1251"))
    hub = simulate(HUBSPOT_TRUTH, HUBSPOT_FIRST, 900, seed=7)
    (HERE / "hubspot_deals.csv").write_text(hubspot_csv(hub, seed=2), encoding="utf-8")
    print(f"amocrm_leads.csv: {len(amo):,} stage entries; hubspot_deals.csv: {len(hub):,}")


if __name__ == "__main__":
    main()
