"""The Monte Carlo engine: simulate a journey's customers, and compare scenarios.

>>> from journeydsl.language.model import Journey, Stage, Transition
>>> j = Journey(name="j", stages=(Stage(name="a", entry=1.0, dwell=None),
...     Stage(name="won", goal=True, terminal=True), Stage(name="lost", terminal=True)),
...     transitions=(Transition(source="a", target="won", share=0.25),
...                  Transition(source="a", target="lost", otherwise=True)))
>>> r = simulate(j, customers=10_000, seed=1)
>>> 0.23 < r.baseline.metrics["conversion_rate"]["mean"] < 0.27
True

Customers are processed in blocks (batches): ``n_blocks = max(20, ceil(N / 2**18))``
of sizes as equal as possible; block b draws from
``np.random.default_rng(np.random.SeedSequence(seed).spawn(n_blocks)[b])``, and
every arm uses the same block seeds (common random numbers). Results depend
only on (journey, N, seed, horizon), whatever the number of workers.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from journeydsl.engine.montecarlo.engine import STAY_OVERHEAD, OverBudget, WorkBudget, simulate_block
from journeydsl.engine.montecarlo.executors import Shared, share_with
from journeydsl.engine.montecarlo.executors import executor_width as _executor_width
from journeydsl.engine.montecarlo.plan import Plan, compile_plan
from journeydsl.engine.montecarlo.queues import QueueFigures, simulate_queue
from journeydsl.engine.montecarlo.sampling import make_rng
from journeydsl.engine.results import ArmResult, Results, Tally, TallyShape, compare, headline_pairs, retention_batch
from journeydsl.engine.results import retention_points as _retention_points
from journeydsl.language.checks import DEFAULT_MAX_WORK, MAX_CUSTOMERS
from journeydsl.language.model import Journey

__all__ = [
    "DEFAULT_MAX_WORK",
    "TooMuchWork",
    "WorkEstimate",
    "block_sizes",
    "estimate_work",
    "run",
    "simulate",
    "simulate_block",
]

BLOCK_TARGET = 2**18
MIN_BLOCKS = 20

# (segment names, segment cumulative shares, segment plans) for each arm
_ArmPlan = tuple[list[str], np.ndarray, list[Plan]]


def block_sizes(customers: int) -> list[int]:
    """Sizes of the blocks ``customers`` are split into (as equal as possible).

    >>> block_sizes(45)[:3], len(block_sizes(45)), sum(block_sizes(45))
    ([3, 3, 3], 20, 45)
    >>> len(block_sizes(10_000_000))
    39
    """
    nb = max(MIN_BLOCKS, math.ceil(customers / BLOCK_TARGET))
    q, r = divmod(customers, nb)
    return [q + (1 if b < r else 0) for b in range(nb)]


#: Converters' values kept for quantiles per arm, over all blocks (beyond it, a weighted sample).
QUANTILE_SAMPLE = 2**21


def _shape(journeys: Sequence[Journey], horizon: float, n_blocks: int = MIN_BLOCKS) -> TallyShape:
    """The names every tally of a run is indexed by (the union over arms, first seen first)."""
    stages: dict[str, None] = {}
    tps: dict[str, None] = {}
    trigs: dict[str, None] = {}
    steps: dict[str, dict[str, None]] = {}
    phases: dict[str, None] = {}
    moves: set[tuple[str, str]] = set()
    for j in journeys:
        phases.update(dict.fromkeys(_phase_labels(j)))
        for _name, _share, sj in j.segment_journeys():
            stages.update(dict.fromkeys(s.name for s in sj.stages))
            tps.update(dict.fromkeys(t.name for t in sj.touchpoints))
            for t in sj.touchpoints:
                steps.setdefault(t.name, {}).update(dict.fromkeys(t.step_names))
            trigs.update(dict.fromkeys(t.name for t in sj.triggers))
            moves.update(t.key for t in sj.transitions)
            moves.update((g.stage, g.then_stage) for g in sj.triggers if g.then_stage is not None)
    sidx = {name: i for i, name in enumerate(stages)}
    return TallyShape(
        stages=tuple(stages),
        touchpoints=tuple(tps),
        triggers=tuple(trigs),
        retention_days=_retention_points(horizon),
        horizon_days=float(horizon),
        sample_cap=max(256, math.ceil(QUANTILE_SAMPLE / n_blocks)),  # about QUANTILE_SAMPLE in all
        phases=tuple(phases),
        edges=tuple(sorted((sidx[a], sidx[b]) for a, b in moves)),
        steps=tuple(tuple(steps.get(t, {})) for t in tps),
    )


def _arm_plan(journey: Journey, shape: TallyShape) -> _ArmPlan:
    segs = journey.segment_journeys()
    names = [name for name, _s, _j in segs]
    shares = np.array([max(share, 0.0) for _n, share, _j in segs])
    cum = np.cumsum(shares) / shares.sum()
    return names, cum, [compile_plan(sj, shape) for _n, _s, sj in segs]


def _run_block(
    arm_plans: Sequence[_ArmPlan],
    n: int,
    seed: np.random.SeedSequence,
    budgets: Sequence[WorkBudget] | None = None,
    on_pass: Callable[[float], None] | None = None,
) -> list[list[Tally]]:
    """One block of every arm, each from a fresh generator on the same seed.

    ``budgets`` (one per arm) count the work; ``on_pass`` hears how far the block has come (0..1).
    """
    out: list[list[Tally]] = []
    n_arms = len(arm_plans)
    for a, (_names, cum, plans) in enumerate(arm_plans):
        rng = make_rng(seed)
        budget = budgets[a] if budgets is not None else None
        tell = None if on_pass is None else (lambda f, a=a: on_pass((a + f) / n_arms))
        if len(plans) == 1:
            out.append([simulate_block(plans[0], n, rng, budget, tell)])
            continue
        seg = np.searchsorted(cum, rng.random(n), side="right")
        np.minimum(seg, len(plans) - 1, out=seg)
        counts = np.bincount(seg, minlength=len(plans))
        out.append([simulate_block(p, int(c), rng, budget, tell) for p, c in zip(plans, counts, strict=True)])
    return out


# --- how much work a run is, before it starts --------------------------------------------

#: Customers of the pilot block that estimates a run's work, and the steps it may spend.
PILOT_CUSTOMERS = 256
PILOT_STEPS = 1_000_000
#: Engine steps per second on one core of the 2-core development machine (see docs/commands/simulate.md).
STEPS_PER_SECOND = 1.5e7
#: Runs estimated above this many steps (about a minute) get a note saying how long they will take.
NOTE_WORK = 1e9


@dataclass(frozen=True)
class WorkEstimate:
    """The estimated work of a run, from a pilot block of its first customers."""

    steps: float  # the whole run (inf: simulated time does not move)
    per_customer: float  # customer-stays, trigger firings and purchases per customer
    customers: int
    complete: bool  # False: the pilot ran out of steps and the figures are extrapolated (lower bounds)
    looping: tuple[str, ...] = ()  # when time does not move: the stages customers circle through

    @property
    def seconds(self) -> float:
        return self.steps / STEPS_PER_SECOND

    def describe(self) -> str:
        """'about 2.1e+11 steps (8.8 million a customer), some 70 minutes on one core'."""
        if not math.isfinite(self.steps):
            where = ", ".join(repr(x) for x in self.looping) or "stages"
            return f"for ever: customers keep moving between {where} without time passing (a loop that takes no time)"
        at_least = "" if self.complete else "at least "
        return (f"{at_least}{_count(self.steps)} steps ({_count(self.per_customer)} a customer:"
                f" stays, trigger firings and purchases), {at_least}{_duration(self.seconds)} on one core")


class TooMuchWork(ValueError):
    """A run estimated to take more than its limit of steps (``estimate`` says how much)."""

    def __init__(self, estimate: WorkEstimate, limit: float) -> None:
        super().__init__(f"this run would take {estimate.describe()}; the limit is {_count(limit)} steps"
                         f" (about {_duration(limit / STEPS_PER_SECOND)})")
        self.estimate = estimate
        self.limit = limit


def _count(x: float) -> str:
    if x >= 1e9:
        return f"{x / 1e9:.3g} billion"
    if x >= 1e6:
        return f"{x / 1e6:.3g} million"
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "for ever"
    if seconds < 90:
        return f"{max(1.0, seconds):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:,.0f} days"


def estimate_work(arm_plans: Sequence[_ArmPlan], customers: int, seed: np.random.SeedSequence,
                  n_blocks: int) -> WorkEstimate:
    """Simulate a pilot block of up to :data:`PILOT_CUSTOMERS` customers of every arm, counting steps.

    Per-customer work (stays, firings, purchases) scales with the customers; the
    per-stay overhead scales with the blocks. A pilot that runs out of its
    :data:`PILOT_STEPS` is extrapolated by the share of the horizon it reached.
    """
    n = min(customers, PILOT_CUSTOMERS)
    steps = 0.0
    per_customer = 0.0
    complete = True
    looping: tuple[str, ...] = ()
    for plan in arm_plans:
        budget = WorkBudget(PILOT_STEPS)
        scale = 1.0
        try:
            _run_block([plan], n, seed, [budget])
        except OverBudget as exc:
            complete = False
            scale = 1.0 / exc.reached if exc.reached > 0 else math.inf
            looping = looping or (exc.stages if exc.reached == 0 else ())
        units = budget.units * scale
        per_customer += units / n
        steps += customers * units / n + n_blocks * STAY_OVERHEAD * budget.calls * scale
    return WorkEstimate(steps=steps, per_customer=per_customer, customers=customers, complete=complete,
                        looping=looping)


def run(
    arms: Sequence[tuple[str, Journey]],
    customers: int,
    seed: int,
    *,
    horizon_days: float | None = None,
    workers: int = 1,
    progress: Callable[[float, int], None] | None = None,
    executor: Executor | None = None,
    max_work: float | None = DEFAULT_MAX_WORK,
    on_estimate: Callable[[WorkEstimate], None] | None = None,
    touch_paths: bool = False,
) -> Results:
    """Simulate every arm on common random numbers; ``arms[0]`` is the baseline.

    ``horizon_days`` overrides the journeys' horizon (default: the baseline's).
    ``workers`` > 1 spreads blocks over that many processes; ``executor`` runs
    them on any :class:`concurrent.futures.Executor` instead (a Dask cluster's,
    see :func:`journeydsl.engine.montecarlo.executors.dask_executor`). The result is the
    same, bit for bit, in every case. ``progress(done_blocks, total_blocks)`` is
    called as blocks finish.

    Before the run a pilot block estimates its work (:func:`estimate_work`);
    ``on_estimate`` hears it, and a run over ``max_work`` steps raises
    :class:`TooMuchWork` (``None``: no limit). With one worker, ``progress``
    also hears fractions of a block as it goes on.
    """
    if not arms:
        raise ValueError("run needs at least one arm")
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be from 1 to {MAX_CUSTOMERS:,}, got {customers:,}")
    base = arms[0][1]
    horizon = float(horizon_days if horizon_days is not None else base.horizon_days)
    if not (horizon > 0 and math.isfinite(horizon)):
        raise ValueError(f"the horizon must be a positive number of days, got {horizon}")
    sizes = block_sizes(customers)
    shape = _shape([j for _n, j in arms], horizon, len(sizes))
    arm_plans = [_arm_plan(j, shape) for _n, j in arms]
    if touch_paths:  # first/last/linear touch: keep each customer's contacts (see attribution)
        arm_plans = [(names, cum, [replace(p, touch_paths=True) for p in plans]) for names, cum, plans in arm_plans]
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    nb = len(sizes)
    if max_work is not None or on_estimate is not None:
        estimate = estimate_work(arm_plans, customers, seeds[0], nb)
        if on_estimate is not None:
            on_estimate(estimate)
        if max_work is not None and estimate.steps > max_work:
            raise TooMuchWork(estimate, max_work)
    arm_plans = _with_waits(arms, arm_plans, shape, customers, seed)  # after the estimate: it is work too
    merger = _Merger(arm_plans, shape)
    if executor is not None:
        _run_on(executor, arm_plans, sizes, seeds, merger, progress, parallel=_executor_width(executor))
    elif workers <= 1:
        for b in range(nb):
            tell = None if progress is None else (lambda f, b=b: progress(b + f, nb))
            merger.add(b, _run_block(arm_plans, sizes[b], seeds[b], on_pass=tell))
            if progress:
                progress(b + 1, nb)
    else:
        width = min(workers, nb, os.cpu_count() or 1)
        with ProcessPoolExecutor(
            max_workers=width, initializer=_die_with_parent, initargs=(os.getpid(),)
        ) as ex:
            _run_on(ex, arm_plans, sizes, seeds, merger, progress, parallel=width)
    return _collect(arms, arm_plans, shape, merger, customers, seed, horizon)


#: Seconds of work one task should hold on an executor: enough that sending it and its
#: answer costs little beside it, few enough tasks left that all workers stay busy.
TASK_SECONDS = 1.0


def _run_blocks(
    arm_plans: Sequence[_ArmPlan] | Any, sizes: Sequence[int], seeds: Sequence[np.random.SeedSequence]
) -> list[list[list[Tally]]]:
    """A task: consecutive blocks of every arm (the plans may arrive scattered, as a :class:`Shared`)."""
    plans = arm_plans.value if isinstance(arm_plans, Shared) else arm_plans
    return [_run_block(plans, n, s) for n, s in zip(sizes, seeds, strict=True)]


def _run_on(
    ex: Executor,
    arm_plans: Sequence[_ArmPlan],
    sizes: Sequence[int],
    seeds: Sequence[np.random.SeedSequence],
    merger: _Merger,
    progress: Callable[[float, int], None] | None,
    *,
    parallel: int,
) -> None:
    """Run every block on ``ex`` in tasks of about :data:`TASK_SECONDS`, folding them in block order.

    Block 0 runs here first, timed: it says how many blocks make a task. Tasks
    only group blocks, whose seeds are fixed, and the merger adds blocks in
    order, so the result does not depend on the executor, the number of workers,
    the task sizes or which task a failing worker had to run again.
    """
    nb = len(sizes)
    start = time.perf_counter()
    merger.add(0, _run_block(arm_plans, sizes[0], seeds[0]))
    per_block = max(time.perf_counter() - start, 1e-6)
    done = 1
    if progress:
        progress(done, nb)
    rest = nb - 1
    if rest == 0:
        return
    per_task = max(1, min(math.ceil(TASK_SECONDS / per_block), rest // (2 * max(parallel, 1)) or 1))
    payload: Any = share_with(ex, arm_plans)
    futures: dict[Future[list[list[list[Tally]]]], int] = {}
    for b0 in range(1, nb, per_task):
        b1 = min(b0 + per_task, nb)
        futures[ex.submit(_run_blocks, payload, sizes[b0:b1], seeds[b0:b1])] = b0
    for fut in as_completed(futures):
        b0 = futures[fut]
        blocks = fut.result()
        for k, block in enumerate(blocks):
            merger.add(b0 + k, block)
        done += len(blocks)
        if progress:
            progress(done, nb)



_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent(parent: int) -> None:
    """Pool initializer: end this worker when the process that started it dies.

    A worker whose parent is killed (SIGKILL leaves no time to shut the pool
    down) would otherwise wait on its pipe for ever, adopted by PID 1. On Linux
    the kernel sends SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``);
    everywhere a daemon thread also checks twice a second that the parent is
    still ours, and ends the worker at once when it is not.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl: the thread below does it
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="journeydsl-parent-watch", daemon=True).start()


class _Merger:
    """Folds block tallies into running per-arm totals, always in block order.

    Blocks may finish in any order (several workers); one that arrives early
    waits until the blocks before it are in, so the sums are added in the same
    order whatever the workers, and memory holds the running totals plus the
    few blocks waiting, not every block of the run.
    """

    def __init__(self, arm_plans: Sequence[_ArmPlan], shape: TallyShape) -> None:
        self.shape = shape
        self.seg_names = [plan[0] for plan in arm_plans]
        self.segments = [{s: Tally(shape) for s in names} for names in self.seg_names]
        self.totals = [Tally(shape) for _ in arm_plans]
        self.batches: list[list[np.ndarray]] = [[] for _ in arm_plans]
        self.ret_batches: list[list[np.ndarray]] = [[] for _ in arm_plans]
        self.waiting: dict[int, list[list[Tally]]] = {}
        self.next = 0

    def add(self, b: int, block: list[list[Tally]]) -> None:
        """Block ``b``'s tallies (per arm, per segment)."""
        self.waiting[b] = block
        while self.next in self.waiting:
            self._fold(self.waiting.pop(self.next))
            self.next += 1

    def _fold(self, block: list[list[Tally]]) -> None:
        for a, arm_tallies in enumerate(block):
            block_total = Tally(self.shape)
            for s, tal in zip(self.seg_names[a], arm_tallies, strict=True):
                self.segments[a][s].merge(tal)
                block_total.merge(tal)
            self.batches[a].append(headline_pairs(block_total))
            ret = retention_batch(block_total)
            if ret is not None:
                self.ret_batches[a].append(ret)
            self.totals[a].merge(block_total)


def _collect(
    arms: Sequence[tuple[str, Journey]],
    arm_plans: Sequence[_ArmPlan],
    shape: TallyShape,
    merger: _Merger,
    customers: int,
    seed: int,
    horizon: float,
) -> Results:
    """One :class:`ArmResult` per arm from the merged block tallies."""
    if merger.waiting:
        raise ValueError(f"blocks {sorted(merger.waiting)} came in but block {merger.next} never did")
    results: list[ArmResult] = []
    base_batches: np.ndarray | None = None
    base_ret: np.ndarray | None = None
    for a, (name, journey) in enumerate(arms):
        seg_tallies = merger.segments[a]
        total = merger.totals[a]
        batch_arr = np.stack(merger.batches[a])
        ret_arr = np.stack(merger.ret_batches[a]) if merger.ret_batches[a] else None
        seg_info = {n: ("Default" if n == "default" else n, sh) for n, sh, _j in journey.segment_journeys()}
        for seg in journey.segments:
            seg_info[seg.name] = (seg.title, seg.share)
        label = "Baseline" if a == 0 and name == "baseline" else name
        if name != "baseline":
            label = _scenario_title(arms[0][1], name) or label
        arm = ArmResult(
            name=name,
            label=label,
            tally=total,
            segment_tallies=seg_tallies,
            segment_info=seg_info,
            batches=batch_arr,
            stage_info=_stage_info(journey, shape),
            touchpoint_info={t: _tp_info(journey, t) for t in shape.touchpoints},
            trigger_info={g: _trigger_title(journey, g) for g in shape.triggers},
            has_active=any(p.has_active for p in arm_plans[a][2]),
            phase_order=_phase_labels(journey),
            retention_batches=ret_arr,
            queues={k: q.to_dict() for k, q in _queues(journey, total, shape, seed).items()},
        )
        if a == 0:
            base_batches, base_ret = batch_arr, ret_arr
        else:
            assert base_batches is not None
            arm.versus_baseline = compare(base_batches, batch_arr, customers, base_ret, ret_arr)
        results.append(arm)
    base = arms[0][1]
    return Results(
        journey=base.name,
        source=base.source,
        customers=customers,
        seed=seed,
        horizon_days=horizon,
        currency=base.currency,
        batches=merger.next,
        arms=results,
    )


#: The seed's child the queues' arrival times come from (the blocks use children 0, 1, ...).
QUEUE_SEED_KEY = 2**31 - 1


def _queues(journey: Journey, total: Tally, shape: TallyShape, seed: int) -> dict[str, QueueFigures]:
    """Each task with a capacity: its queue, simulated on every customer's requests (see
    :mod:`journeydsl.montecarlo.queues`). The arrival times come from one seed of their own,
    the same for every arm, so scenarios compare on the same stream."""
    if journey.arrivals_per_day is None or not total.task_tp:
        return {}
    tp = np.concatenate(total.task_tp)
    who = np.concatenate([w + b for w, b in zip(total.task_who, total.task_base, strict=True)])
    age = np.concatenate(total.task_age)
    out: dict[str, QueueFigures] = {}
    for task in journey.touchpoints:
        if task.capacity_per_day is None or task.name not in shape.touchpoints:
            continue
        sel = tp == shape.touchpoints.index(task.name)
        rng = make_rng(np.random.SeedSequence(seed, spawn_key=(QUEUE_SEED_KEY,)))
        q = simulate_queue(who[sel], age[sel], total.task_customers, journey.arrivals_per_day,
                           task.capacity_per_day, rng)
        if q is not None:
            out[task.name] = q
    return out


#: Customers of the first run whose queues give the waits of the run itself (all, up to this).
QUEUE_PILOT = 50_000
#: Waits each task's wait is drawn from (evenly spaced order statistics of the first run's).
WAIT_SAMPLE = 4096


def _with_waits(
    arms: Sequence[tuple[str, Journey]], arm_plans: list[_ArmPlan], shape: TallyShape, customers: int, seed: int
) -> list[_ArmPlan]:
    """The plans with each task's waits: its queue in a first run of the same journeys (up to
    :data:`QUEUE_PILOT` customers, the same seed) where nobody waits. One step towards the queue
    the waits themselves make: what waiting changes in who asks for tasks is left out."""
    if not any(j.arrivals_per_day is not None and any(t.capacity_per_day for t in j.touchpoints)
               for _n, j in arms):
        return arm_plans
    n = min(customers, QUEUE_PILOT)
    sizes = block_sizes(n)
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    merger = _Merger(arm_plans, shape)
    for b, (size, s) in enumerate(zip(sizes, seeds, strict=True)):
        merger.add(b, _run_block(arm_plans, size, s))
    out: list[_ArmPlan] = []
    for a, ((_name, journey), (names, cum, plans)) in enumerate(zip(arms, arm_plans, strict=True)):
        found = _queues(journey, merger.totals[a], shape, seed)
        if not found:
            out.append((names, cum, plans))
            continue
        waits = [np.zeros(0) for _ in shape.touchpoints]
        for task, q in found.items():
            ordered = np.sort(q.waits)
            keep = np.linspace(0, ordered.size - 1, min(WAIT_SAMPLE, ordered.size)).round().astype(np.int64)
            waits[shape.touchpoints.index(task)] = ordered[keep]
        out.append((names, cum, [replace(p, tp_waits=tuple(waits)) for p in plans]))
    return out


def _phase_labels(journey: Journey) -> tuple[str, ...]:
    """The journey's phases in its order (then any phase a stage names that the list lacks)."""
    labels = dict.fromkeys(journey.phases)
    labels.update(dict.fromkeys(s.phase for s in journey.stages if s.phase is not None))
    return tuple(labels)


def _scenario_title(journey: Journey, name: str) -> str | None:
    """The label of scenario ``name`` if ``journey`` still lists it."""
    for sc in journey.scenarios:
        if sc.name == name:
            return sc.title
    return None


def _stage_info(journey: Journey, shape: TallyShape) -> dict[str, tuple[str, str | None, bool]]:
    by_name = {st.name: st for st in journey.stages}  # one pass, not a scan per stage
    out: dict[str, tuple[str, str | None, bool]] = {}
    for name in shape.stages:
        st = by_name.get(name)
        out[name] = (st.title, st.phase, st.goal) if st is not None else (name, None, False)
    return out


def _tp_info(journey: Journey, name: str) -> tuple[str, str]:
    try:
        tp = journey.touchpoint(name)
        return tp.title, tp.channel
    except KeyError:
        return name, ""


def _trigger_title(journey: Journey, name: str) -> str:
    try:
        return journey.trigger(name).title
    except KeyError:
        return name


def simulate(journey: Journey, customers: int | None = None, seed: int = 0, **kw: object) -> Results:
    """Simulate the baseline of ``journey`` only (``customers`` defaults to ``journey.customers``).

    Keyword arguments are those of :func:`run` (``horizon_days``, ``workers``, ``progress``).
    """
    n = journey.customers if customers is None else customers
    return run([("baseline", journey.with_scenario("baseline"))], n, seed, **kw)  # type: ignore[arg-type]
