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
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, Future, wait
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from journeydsl.engine.montecarlo.engine import STAY_OVERHEAD, OverBudget, WorkBudget, simulate_block
from journeydsl.engine.montecarlo.executors import Shared, share_each
from journeydsl.engine.montecarlo.executors import executor_width as _executor_width
from journeydsl.engine.montecarlo.gate import GateDraws, gate_draws
from journeydsl.engine.montecarlo.plan import Plan, StageMemo, compile_plan
from journeydsl.engine.montecarlo.queues import QueueFigures, simulate_queue
from journeydsl.engine.montecarlo.sampling import make_rng
from journeydsl.engine.results import ArmResult, Results, Tally, TallyShape, compare, headline_pairs, retention_batch
from journeydsl.engine.results import retention_points as _retention_points
from journeydsl.language.checks import DEFAULT_MAX_WORK, MAX_CUSTOMERS
from journeydsl.language.model import Journey, Policy

__all__ = [
    "DEFAULT_MAX_WORK",
    "TooMuchWork",
    "WorkEstimate",
    "block_seed",
    "block_sizes",
    "estimate_work",
    "no_marketing",
    "run",
    "run_many",
    "run_units",
    "simulate",
    "simulate_block",
    "task_units",
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
    everyone = [*journeys, *(j.rollout_base for j in journeys if j.rollout_base is not None)]
    for j in everyone:
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


def _arm_plan(journey: Journey, shape: TallyShape, memo: StageMemo | None = None) -> _ArmPlan:
    segs = journey.segment_journeys()
    names = [name for name, _s, _j in segs]
    shares = np.array([max(share, 0.0) for _n, share, _j in segs])
    cum = np.cumsum(shares) / shares.sum()
    plans = [compile_plan(sj, shape, memo) for _n, _s, sj in segs]
    if journey.rollout_base is not None and journey.rollout is not None:
        # rolled out to a share: each segment's customers outside it stay on the base's segment
        base = {name: sj for name, _s, sj in journey.rollout_base.segment_journeys()}
        plans = [replace(p, rollout=journey.rollout, rollout_base=compile_plan(base[name], shape, memo))
                 if name in base else p for name, p in zip(names, plans, strict=True)]
    return names, cum, plans


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
    shared: GateDraws | None = None  # the same for every arm (made once: nothing writes to them)
    for a, (_names, cum, plans) in enumerate(arm_plans):
        rng = make_rng(seed)
        budget = budgets[a] if budgets is not None else None
        tell = None if on_pass is None else (lambda f, a=a: on_pass((a + f) / n_arms))
        # each customer's policy and rollout draws, from a stream of the block's seed of its own
        draws = None
        if any(p.needs_draws for p in plans):
            draws = shared = shared if shared is not None else gate_draws(seed, n)
        if len(plans) == 1:
            out.append([simulate_block(plans[0], n, rng, budget, tell, draws)])
            continue
        seg = np.searchsorted(cum, rng.random(n), side="right")
        np.minimum(seg, len(plans) - 1, out=seg)
        if draws is None:
            counts = np.bincount(seg, minlength=len(plans))
            out.append([simulate_block(p, int(c), rng, budget, tell) for p, c in zip(plans, counts, strict=True)])
        else:
            members = [np.flatnonzero(seg == k) for k in range(len(plans))]
            out.append([simulate_block(p, ids.size, rng, budget, tell, draws.take(ids))
                        for p, ids in zip(plans, members, strict=True)])
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

    steps: float  # the whole run (inf: simulated time does not move), all its runs together
    per_customer: float  # customer-stays, trigger firings and purchases per customer (in one run)
    customers: int
    complete: bool  # False: the pilot ran out of steps and the figures are extrapolated (lower bounds)
    looping: tuple[str, ...] = ()  # when time does not move: the stages customers circle through
    runs: int = 1  # runs of the journey in the job (parameter draws: the plain run and each draw)

    def times(self, runs: int) -> WorkEstimate:
        """This estimate of one run, for ``runs`` such runs (the plain forecast and its draws)."""
        return replace(self, steps=self.steps * runs, runs=self.runs * runs)

    @property
    def seconds(self) -> float:
        return self.steps / STEPS_PER_SECOND

    def describe(self) -> str:
        """'about 2.1e+11 steps (8.8 million a customer), some 70 minutes on one core'."""
        if not math.isfinite(self.steps):
            where = ", ".join(repr(x) for x in self.looping) or "stages"
            return f"for ever: customers keep moving between {where} without time passing (a loop that takes no time)"
        at_least = "" if self.complete else "at least "
        runs = f" in each of {self.runs:,} runs" if self.runs > 1 else ""
        return (f"{at_least}{_count(self.steps)} steps ({_count(self.per_customer)} a customer{runs}:"
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
    return run_many([arms], customers, seed, horizon_days=horizon_days, workers=workers, progress=progress,
                    executor=executor, max_work=max_work, on_estimate=on_estimate, touch_paths=touch_paths)[0]


def run_many(
    runs: Sequence[Sequence[tuple[str, Journey]]],
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
    finish: Callable[[int, Results], Any] | None = None,
) -> list[Any]:
    """Several runs (each a list of arms, like :func:`run`'s) on the same customers and seeds, as one job.

    Each run gives exactly what :func:`run` gives for it alone. Every arm of
    every run is compiled once here, and the work is cut into (run, arm, block)
    units spread over one process, ``workers`` processes or ``executor``
    (:func:`run_units`). ``finish(r, results)`` is called once run ``r`` is
    complete, and its answer kept instead of the results (parameter draws keep
    a few figures, not every draw's tallies); the list is in run order.
    ``max_work`` and ``on_estimate`` concern the whole job: a pilot of the first
    run, times the number of runs (the runs of one job are alike), judged before
    the other runs are set up. ``progress`` counts blocks of all runs together.
    """
    if not runs or any(not arms for arms in runs):
        raise ValueError("run needs at least one arm")
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be from 1 to {MAX_CUSTOMERS:,}, got {customers:,}")
    sizes = block_sizes(customers)
    nb = len(sizes)
    setups: list[tuple[list[tuple[str, Journey]], list[_ArmPlan], TallyShape, float]] = []
    holdouts: list[tuple[int, _Twins]] = []  # per run: arms asked for, twins
    for r, asked_arms in enumerate(runs):
        if r == 1:  # the first run is set up: judge the whole job's work before setting up the others
            _check_work(setups[0][1], customers, seed, nb, len(runs), max_work, on_estimate)
        arms, arm_plans, shape, horizon, twins = _setup(asked_arms, horizon_days, nb, touch_paths)
        holdouts.append((len(asked_arms), twins))
        setups.append((arms, arm_plans, shape, horizon))
    if len(runs) == 1:
        _check_work(setups[0][1], customers, seed, nb, 1, max_work, on_estimate)
    # tasks with a queue: the waits their requests are drawn from, from a first run (after the
    # estimate: it is work too)
    setups = [(arms, _with_waits(arms, arm_plans, shape, customers, seed), shape, h)
              for arms, arm_plans, shape, h in setups]
    flat: list[_ArmPlan] = []
    where: list[tuple[int, int]] = []  # plan k is arm a of run r
    for r, (_arms, arm_plans, _shape_r, _h) in enumerate(setups):
        flat.extend(arm_plans)
        where.extend((r, a) for a in range(len(arm_plans)))
    mergers: list[_Merger | None] = [_Merger(plans, shape) for _a, plans, shape, _h in setups]
    left = [len(plans) * nb for _a, plans, _s, _h in setups]
    out: list[Any] = [None] * len(runs)

    def deliver(k: int, b: int, tallies: list[Tally]) -> None:
        r, a = where[k]
        merger = mergers[r]
        assert merger is not None
        merger.add_arm(a, b, tallies)
        left[r] -= 1
        if left[r] == 0:  # the run is complete: collect it and let its tallies go
            arms, arm_plans, shape, horizon = setups[r]
            res = _collect(arms, arm_plans, shape, merger, customers, seed, horizon)
            res = _holdout_uplift(res, arms, *holdouts[r], customers)
            mergers[r] = None
            out[r] = res if finish is None else finish(r, res)

    run_units(flat, customers, seed, deliver, workers=workers, executor=executor, progress=progress,
              arms_per_run=[len(plans) for _a, plans, _s, _h in setups])
    return out


_Twins = list[tuple[int, tuple[str, Journey]]]


def _setup(asked_arms: Sequence[tuple[str, Journey]], horizon_days: float | None, n_blocks: int,
           touch_paths: bool = False) -> tuple[list[tuple[str, Journey]], list[_ArmPlan], TallyShape, float, _Twins]:
    """One run's arms (with each holdout arm's twin), their compiled plans, tally shape and horizon."""
    # an arm with a holdout runs beside its twin with everyone held out: the uplift is their difference
    twins = [(a, (f"{name} (everyone held out)", no_marketing(j))) for a, (name, j) in enumerate(asked_arms)
             if j.policy is not None and 0.0 < j.policy.holdout < 1.0]
    arms = [*asked_arms, *(t for _a, t in twins)]
    base = arms[0][1]
    horizon = float(horizon_days if horizon_days is not None else base.horizon_days)
    if not (horizon > 0 and math.isfinite(horizon)):
        raise ValueError(f"the horizon must be a positive number of days, got {horizon}")
    shape = _shape([j for _n, j in arms], horizon, n_blocks)
    memo: StageMemo = {}  # stage plans shared by arms and segments
    arm_plans = [_arm_plan(j, shape, memo) for _n, j in arms]
    if touch_paths:  # first/last/linear touch: keep each customer's contacts (see attribution)
        arm_plans = [(names, cum, [replace(p, touch_paths=True) for p in plans]) for names, cum, plans in arm_plans]
    return arms, arm_plans, shape, horizon, twins


def check_job(arms: Sequence[tuple[str, Journey]], customers: int, seed: int, runs: int, *,
              horizon_days: float | None = None, max_work: float | None = DEFAULT_MAX_WORK,
              on_estimate: Callable[[WorkEstimate], None] | None = None) -> None:
    """Judge a job of ``runs`` runs like ``arms`` before making them (parameter draws: before
    compiling each draw), as :func:`run_many` would: ``on_estimate`` hears the estimate and
    a job over ``max_work`` raises :class:`TooMuchWork`. Then give run_many no limit."""
    if max_work is None and on_estimate is None:  # nothing to judge: compile nothing
        return
    nb = len(block_sizes(customers))
    _check_work(_setup(arms, horizon_days, nb)[1], customers, seed, nb, runs, max_work, on_estimate)


def _check_work(arm_plans: Sequence[_ArmPlan], customers: int, seed: int, n_blocks: int, runs: int,
                max_work: float | None, on_estimate: Callable[[WorkEstimate], None] | None) -> None:
    """The job's work from a pilot of its first run, times its runs; TooMuchWork over ``max_work``."""
    if max_work is None and on_estimate is None:
        return
    estimate = estimate_work(arm_plans, customers, block_seed(seed, 0), n_blocks).times(runs)
    if on_estimate is not None:
        on_estimate(estimate)
    if max_work is not None and estimate.steps > max_work:
        raise TooMuchWork(estimate, max_work)


def block_seed(seed: int, b: int) -> np.random.SeedSequence:
    """The seed of block ``b``: ``SeedSequence(seed).spawn(n)[b]``, made from its spawn key alone.

    >>> s = np.random.SeedSequence(7).spawn(30)[17]
    >>> bool((block_seed(7, 17).generate_state(4) == s.generate_state(4)).all())
    True
    """
    return np.random.SeedSequence(seed, spawn_key=(b,))


def _holdout_uplift(results: Results, arms: Sequence[tuple[str, Journey]], asked: int,
                    twins: Sequence[tuple[int, tuple[str, Journey]]], customers: int) -> Results:
    """Each holdout arm's uplift against its twin (everyone held out), then the twins dropped."""
    for k, (a, _twin) in enumerate(twins):
        arm, twin = results.arms[a], results.arms[asked + k]
        pol = arms[a][1].policy
        assert pol is not None
        arm.holdout = {"share": pol.holdout, "uplift": compare(
            twin.batches, arm.batches, customers, twin.retention_batches, arm.retention_batches)}
    results.arms = results.arms[:asked]
    return results


def no_marketing(journey: Journey) -> Journey:
    """``journey`` with every customer held out: no trigger sends a marketing touchpoint."""
    def held(j: Journey) -> Journey:
        pol = j.policy
        return j.model_copy(update={"policy": pol.model_copy(update={"holdout": 1.0}) if pol else Policy(holdout=1.0)})

    out = held(journey)
    if journey.rollout_base is not None:
        out = out.model_copy(update={"rollout_base": held(journey.rollout_base)})
    return out


#: Seconds of work one task should hold at most on an executor: enough that sending it and
#: its answer costs little beside it (a few milliseconds on Dask, less in a local pool).
TASK_SECONDS = 1.0
#: Tasks kept handed out per worker: one running and one waiting, so that no worker waits
#: for this process to merge an answer and send the next task.
TASKS_PER_WORKER = 2

#: Receives one unit's tallies (one per segment): plan ``k``, block ``b``.
Deliver = Callable[[int, int, list[Tally]], None]

#: In a local pool's worker: the plans of the job, given once when the process starts
#: (inherited without copying where processes fork), so that tasks carry only unit numbers.
_POOL_PLANS: Sequence[_ArmPlan] = ()


def _run_units(plans: Sequence[_ArmPlan | Shared] | None, k0: int, i0: int, i1: int, customers: int,
               seed: int) -> tuple[float, list[list[Tally]]]:
    """A task: units ``i0 .. i1 - 1`` (unit ``i`` is block ``i % nb`` of plan ``i // nb``).

    ``plans`` are the plans ``k0, k0 + 1, ...`` the units need (on Dask, scattered ones;
    ``None``: this pool worker's :data:`_POOL_PLANS`, all of them, so ``k0`` is 0); each
    block's size and seed are worked out here from ``customers`` and ``seed``. Returns the
    seconds the units took here (to size the next tasks) and their tallies.
    """
    start = time.perf_counter()
    if plans is None:
        plans, k0 = _POOL_PLANS, 0
    sizes = block_sizes(customers)
    nb = len(sizes)
    out: list[list[Tally]] = []
    for i in range(i0, i1):
        k, b = divmod(i, nb)
        plan = plans[k - k0]
        arm = plan.value if isinstance(plan, Shared) else plan
        out.append(_run_block([arm], sizes[b], block_seed(seed, b))[0])
    return time.perf_counter() - start, out


def run_units(
    plans: Sequence[_ArmPlan],
    customers: int,
    seed: int,
    deliver: Deliver,
    *,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Callable[[float, int], None] | None = None,
    arms_per_run: Sequence[int] | None = None,
) -> None:
    """Simulate block ``b`` of plan ``k`` for every ``k`` and ``b``: the (arm, block) units of a job.

    ``deliver(k, b, tallies)`` hears each unit in block order for each plan, however
    the units were spread: here in this process, over ``workers`` processes or on
    ``executor``, in tasks of at most about :data:`TASK_SECONDS` (:func:`task_units`).
    A unit's randomness is its block's seed (:func:`block_seed`), whichever task
    runs it, so the result does not depend on the executor, the workers, the task
    sizes or which task a failing worker had to run again. ``arms_per_run``
    (default: one run of every plan) says how plans group into runs, for
    ``progress(done_blocks, total_blocks)``.
    """
    nb = len(block_sizes(customers))
    groups = list(arms_per_run) if arms_per_run is not None else [len(plans)]
    if sum(groups) != len(plans):
        raise ValueError("arms_per_run does not add up to the plans")
    total_blocks = len(groups) * nb
    run_of = [r for r, g in enumerate(groups) for _ in range(g)]
    ordered = _InOrder(len(plans), deliver)
    if executor is None and workers <= 1:
        _run_units_here(plans, groups, customers, seed, ordered, progress, total_blocks)
        return
    if executor is not None:
        _run_units_on(executor, plans, customers, seed, ordered, progress, run_of, groups, total_blocks,
                      parallel=_executor_width(executor))
        return
    # imported here: the process pool's modules (multiprocessing, subprocess, sockets) are a few
    # milliseconds of every command's start-up, and most runs use one process
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    width = min(workers, len(plans) * nb, os.cpu_count() or 1)
    # forked workers start at once with every module and the plans already in memory;
    # elsewhere (spawn) they import journeydsl and receive the plans once each
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
    with ProcessPoolExecutor(max_workers=width, mp_context=context, initializer=_pool_worker,
                             initargs=(os.getpid(), plans)) as ex:
        _run_units_on(ex, plans, customers, seed, ordered, progress, run_of, groups, total_blocks, parallel=width,
                      in_workers=True)


class _InOrder:
    """Hands units on in block order for each plan, holding the few that finished early."""

    def __init__(self, n_plans: int, deliver: Deliver) -> None:
        self.deliver = deliver
        self.next = [0] * n_plans
        self.waiting: list[dict[int, list[Tally]]] = [{} for _ in range(n_plans)]

    def add(self, k: int, b: int, tallies: list[Tally]) -> None:
        waiting = self.waiting[k]
        waiting[b] = tallies
        while self.next[k] in waiting:
            self.deliver(k, self.next[k], waiting.pop(self.next[k]))
            self.next[k] += 1


def _run_units_here(plans: Sequence[_ArmPlan], groups: Sequence[int], customers: int, seed: int,
                    ordered: _InOrder, progress: Callable[[float, int], None] | None, total: int) -> None:
    """One process: run by run, block by block, every arm of the block (progress moves within blocks)."""
    sizes = block_sizes(customers)
    nb = len(sizes)
    k0 = 0
    for r, n_arms in enumerate(groups):
        arms = plans[k0 : k0 + n_arms]
        for b in range(nb):
            done = r * nb + b
            tell = None if progress is None else (lambda f, done=done: progress(done + f, total))
            for a, tallies in enumerate(_run_block(arms, sizes[b], block_seed(seed, b), on_pass=tell)):
                ordered.add(k0 + a, b, tallies)
            if progress:
                progress(done + 1, total)
        k0 += n_arms


def _run_units_on(
    ex: Executor,
    plans: Sequence[_ArmPlan],
    customers: int,
    seed: int,
    ordered: _InOrder,
    progress: Callable[[float, int], None] | None,
    run_of: Sequence[int],
    groups: Sequence[int],
    total_blocks: int,
    *,
    parallel: int,
    in_workers: bool = False,
) -> None:
    """The units on ``ex``, in tasks of consecutive units handed out as workers free up.

    Every unit runs on ``ex`` (none here: this process only hands out tasks and
    merges). :data:`TASKS_PER_WORKER` tasks per worker are out at any time; each
    next task's size comes from :func:`task_units`, from how long the units that
    came back took on the workers. ``in_workers``: the workers already hold the
    plans (a local pool's initializer gave them), so tasks name units only.
    """
    sizes = block_sizes(customers)
    nb = len(sizes)
    n_units = len(plans) * nb
    blocks_done = 0.0
    broadcast = len(plans) <= SCATTER_EVERYWHERE
    shared: Sequence[Any] | None = None
    if not in_workers:
        shared = share_each(ex, list(plans), broadcast=broadcast)
    generation = 0  # how many times the plans were shared again after a worker took them down
    out_at_once = max(1, parallel) * TASKS_PER_WORKER
    # each task out: its first and past-the-last unit, and the generation of plans it was given
    pending: dict[Future[tuple[float, list[list[Tally]]]], tuple[int, int, int]] = {}
    handed = 0  # units handed out so far (tasks hold consecutive units, in order)
    timed_units, timed_seconds = 0, 0.0

    def submit(i0: int, i1: int) -> None:
        k0, k1 = i0 // nb, (i1 - 1) // nb + 1
        task_plans = None if shared is None else shared[k0:k1]
        pending[ex.submit(_run_units, task_plans, k0, i0, i1, customers, seed)] = (i0, i1, generation)

    def hand_out() -> None:
        nonlocal handed
        while handed < n_units and len(pending) < out_at_once:
            per_unit = timed_seconds / timed_units if timed_units else None
            i0 = handed
            i1 = i0 + task_units(n_units - i0, per_unit, parallel)
            submit(i0, i1)
            handed = i1

    hand_out()
    try:
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i0, i1, given = pending.pop(fut)
                try:
                    seconds, units = fut.result()
                except CancelledError:
                    # Dask cancels the tasks whose scattered plans went down with a worker
                    # (dask/distributed#3149) instead of computing them elsewhere: share the
                    # plans again (once per loss) and hand the same units out anew. Units are
                    # seeded by their index, so the numbers do not change.
                    if shared is None or generation >= RESHARES:
                        raise
                    if given == generation:
                        generation += 1
                        shared = share_each(ex, list(plans), broadcast=broadcast)
                    submit(i0, i1)
                    continue
                timed_units += len(units)
                timed_seconds += seconds
                hand_out()  # the next task first: the workers need not wait for the merging below
                for j, tallies in enumerate(units):
                    k, b = divmod(i0 + j, nb)
                    ordered.add(k, b, tallies)
                    blocks_done += 1.0 / groups[run_of[k]]  # a unit is one arm's share of its run's block
                    if progress:
                        progress(min(blocks_done, float(total_blocks)), total_blocks)
    finally:
        for fut in pending:
            fut.cancel()


#: How many times a run shares its plans again when workers holding them die (see _run_units_on).
RESHARES = 5

#: Up to this many plans are scattered to every worker at once; more (parameter draws)
#: go where their tasks run, each to a worker at most once.
SCATTER_EVERYWHERE = 64


def task_units(remaining: int, per_unit: float | None, parallel: int) -> int:
    """How many units the next task holds, with ``remaining`` units not yet handed out.

    Guided self-scheduling: a share of what is left (one part in
    ``TASKS_PER_WORKER * parallel``), so tasks shrink towards the end and the
    workers finish together; at most about :data:`TASK_SECONDS` of work at
    ``per_unit`` seconds a unit; at least one unit. Until a task has come back
    (``per_unit`` is ``None``) a task is one unit: the first tasks time the units.
    Which units a task holds never changes the numbers, only when they are ready.

    >>> task_units(378, 0.02, 2)  # 10^8 customers, one arm, two workers: 50 units (1 s) a task
    50
    >>> task_units(120, 0.02, 2), task_units(3, 0.02, 2), task_units(35, None, 2)
    (30, 1, 1)
    """
    if per_unit is None:
        return 1
    share = math.ceil(remaining / (TASKS_PER_WORKER * max(parallel, 1)))
    most = math.floor(TASK_SECONDS / per_unit) if per_unit > 0 else remaining
    return max(1, min(share, most, remaining))


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _pool_worker(parent: int, plans: Sequence[_ArmPlan]) -> None:
    """Pool initializer: keep the job's plans here (see :data:`_POOL_PLANS`), keep freed memory
    for the next block, and die with the parent."""
    global _POOL_PLANS
    _POOL_PLANS = plans
    _keep_freed_memory()
    _die_with_parent(parent)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # from glibc's <malloc.h>


def _keep_freed_memory() -> None:
    """glibc: serve a block's arrays from the heap and keep what they free for the next block.

    A new process starts with glibc's mmap threshold at 128 KiB and raises it only
    as it frees mapped chunks, trimming the heap's top as it goes: a fresh pool
    worker maps, faults in and zeroes its first blocks' arrays (2 MiB each) page by
    page, about twice the page faults of one process doing all the work (80,000
    against 37,000 at 10^7 customers). Fixed thresholds (32 MiB, 256 MiB) skip that;
    a pool worker lives for one job. Elsewhere nothing is done.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)
    except (OSError, AttributeError):  # pragma: no cover - not glibc: its allocator, its defaults
        pass


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
    few blocks waiting, not every block of the run. Each arm keeps its own order.
    """

    def __init__(self, arm_plans: Sequence[_ArmPlan], shape: TallyShape) -> None:
        self.shape = shape
        self.seg_names = [plan[0] for plan in arm_plans]
        self.segments = [{s: Tally(shape) for s in names} for names in self.seg_names]
        self.totals = [Tally(shape) for _ in arm_plans]
        self.batches: list[list[np.ndarray]] = [[] for _ in arm_plans]
        self.ret_batches: list[list[np.ndarray]] = [[] for _ in arm_plans]
        self.waiting: list[dict[int, list[Tally]]] = [{} for _ in arm_plans]
        self.folded = [0] * len(arm_plans)

    @property
    def next(self) -> int:
        """The first block not yet folded in for every arm."""
        return min(self.folded)

    def add(self, b: int, block: list[list[Tally]]) -> None:
        """Block ``b``'s tallies (per arm, per segment)."""
        for a, tallies in enumerate(block):
            self.add_arm(a, b, tallies)

    def add_arm(self, a: int, b: int, tallies: list[Tally]) -> None:
        """Block ``b``'s tallies of arm ``a`` (per segment)."""
        waiting = self.waiting[a]
        waiting[b] = tallies
        while self.folded[a] in waiting:
            self._fold(a, waiting.pop(self.folded[a]))
            self.folded[a] += 1

    def _fold(self, a: int, arm_tallies: list[Tally]) -> None:
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
    early = sorted({b for waiting in merger.waiting for b in waiting})
    if early or len(set(merger.folded)) > 1:
        raise ValueError(f"blocks {early} came in but block {merger.next} never did")
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
    # only arms whose customers may ask for a task run (each arm's run is its own: the same
    # generator whatever the others), and only as far as their requests
    asking = [a for a, ((_n, j), (_names, _cum, plans)) in enumerate(zip(arms, arm_plans, strict=True))
              if j.arrivals_per_day is not None and any(t.capacity_per_day for t in j.touchpoints)
              and any(p.asks_for_tasks for p in plans)]
    if not asking:
        return arm_plans
    pilots = [(names, cum, _requests_only(plans)) for names, cum, plans in (arm_plans[a] for a in asking)]
    n = min(customers, QUEUE_PILOT)
    sizes = block_sizes(n)
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    merger = _Merger(pilots, shape)
    for b, (size, s) in enumerate(zip(sizes, seeds, strict=True)):
        merger.add(b, _run_block(pilots, size, s))
    out: list[_ArmPlan] = []
    for a, ((_name, journey), (names, cum, plans)) in enumerate(zip(arms, arm_plans, strict=True)):
        found = _queues(journey, merger.totals[asking.index(a)], shape, seed) if a in asking else {}
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


def _requests_only(plans: list[Plan]) -> list[Plan]:
    """An arm's plans for a queue's first run: its blocks stop once the customers' stays are
    simulated. The segments of an arm, and the two parts of a rollout, draw from one generator
    one after the other: only the last to run may stop early (the others' LTV draws come first)."""
    last = plans[-1]
    if last.rollout_base is not None:
        last = replace(last, rollout_base=replace(last.rollout_base, requests_only=True))
    else:
        last = replace(last, requests_only=True)
    return [*plans[:-1], last]


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
