"""The contact gate: a journey's ``policy`` applied where a trigger sends a touchpoint.

A trigger's contact falls *due* when the trigger fires; the gate decides whether
it is sent, when, or not at all:

- **holdout**: a customer drawn into the holdout gets no marketing contact (a
  touchpoint not marked ``transactional``); the draw is made once per customer,
  from a stream of its own, so the same customers are held out in every arm
  (common random numbers) and nothing else in the simulation changes with it.
- **caps** (``cap CHANNEL N per W``, ``cap any N per W``): a rolling window. A
  contact at time ``s`` is allowed when fewer than ``N`` contacts the cap counts
  were sent (or are waiting to be sent) in the ``W`` before it, i.e. at times in
  ``(s - W, s]`` or later. With ``on cap skip`` a contact that would break a cap
  is dropped; with ``on cap delay`` it is sent at the first moment every cap
  allows it: ``s = max(due, max over caps of (N-th most recent send + W))``.
- **quiet hours** ``HH:MM-HH:MM``: on the customer's clock (each customer
  arrives at a random moment of the day, drawn like the holdout), a contact
  falling in them is delayed to their end (``delay``) or dropped (``skip``).

A delayed contact that would go out at or after the horizon is not sent; it
counts as capped. Transactional touchpoints pass untouched and count toward no
cap. Per customer the gate keeps, for each cap, the times of its last ``N``
sends (a small ring), so a decision costs a few array operations per firing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GATE_KEY", "ContactGate", "GateDraws", "GatePlan", "StayGate", "gate_draws"]

#: The policy's decision on contacts falling due: the positions of those sent (None: all) and
#: their send times.
Decision = tuple[np.ndarray | None, np.ndarray]

#: The positions of the contacts sent when none is (read only: shared).
_NONE = np.zeros(0, np.intp)
_NONE.flags.writeable = False

#: Slack in days when comparing a send with a window's end (sums of day counts round).
_EPS = 1e-9


@dataclass(frozen=True)
class GatePlan:
    """A journey's policy compiled for the engine (indices over the run's touchpoints)."""

    caps: tuple[tuple[np.ndarray, int, float], ...]  # (touchpoints it counts (bool), N, window days)
    delay_on_cap: bool
    quiet: tuple[float, float] | None  # start and end as parts of a day (start > end: over midnight)
    quiet_delay: bool
    holdout: float
    exempt: np.ndarray  # per touchpoint: transactional

    @property
    def clock(self) -> bool:
        return self.quiet is not None


@dataclass(frozen=True)
class GateDraws:
    """Per customer of a block: the holdout draw, the time of day of arrival (part of a day) and
    the rollout draw of a scenario rolled out to a share of the customers."""

    held: np.ndarray  # uniform in [0, 1)
    phase: np.ndarray  # uniform in [0, 1)
    roll: np.ndarray  # uniform in [0, 1)
    week: np.ndarray  # the time of week at time 0, in days from Monday 00:00: uniform in [0, 7)

    def take(self, ids: np.ndarray) -> GateDraws:
        return GateDraws(self.held.take(ids), self.phase.take(ids), self.roll.take(ids), self.week.take(ids))


#: The spawn key that sets the gate's stream apart from a block's own (see :func:`gate_draws`).
GATE_KEY = 0x9A7E


def gate_draws(seed: np.random.SeedSequence | None, n: int) -> GateDraws:
    """The gate's draws for a block of ``n`` customers, from a stream of the block's own seed
    that nothing else uses: a policy or a rollout changes no other draw, and the same customer
    gets the same draws in every arm (common random numbers)."""
    if seed is None:
        seed = np.random.SeedSequence(0)
    child = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, GATE_KEY))
    rng = np.random.default_rng(child)
    held, phase, roll = rng.random(n), rng.random(n), rng.random(n)
    # the week runs on the same clock as the day: the time of week's part of a day is the phase
    week = rng.integers(0, 7, n) + phase
    return GateDraws(held, phase, roll, week)


class ContactGate:
    """The policy's state for the customers of one block, and the decision for each contact.

    ``counts`` receives, per touchpoint, the contacts held out, capped and delayed
    (arrays the caller owns: the block's tally).
    """

    def __init__(self, plan: GatePlan, draws: GateDraws, horizon: float,
                 held_out: np.ndarray, capped: np.ndarray, delayed: np.ndarray,
                 shift: np.ndarray | None = None, rings: list[list[np.ndarray]] | None = None) -> None:
        self.plan = plan
        self.draws = draws
        self.horizon = horizon
        self.held = draws.held < plan.holdout
        self.sendable = ~self.held
        self.any_held = bool(self.held.any())
        self.all_held = self.any_held and bool(self.held.all())  # the holdout's twin: no marketing contact
        self.exempt = plan.exempt.tolist()
        # the customer's clock: time of day (in days) at time 0 of this block
        self.phase = draws.phase if shift is None else (draws.phase + shift) % 1.0
        # quiet hours as (time since they began, their length): a contact at time t is in them
        # when frac(phase + t - start) < length, and waits length - that
        self.since_quiet: np.ndarray | None = None
        self.quiet_length = 0.0
        if plan.quiet is not None:
            a, b = plan.quiet
            self.since_quiet = self.phase - a
            self.quiet_length = (b - a) % 1.0
        n = draws.held.size
        # per cap, its last N send times per customer: N columns, oldest first in every row
        self.rings = rings if rings is not None else [
            [np.full(n, -np.inf) for _ in range(cnt)] for _m, cnt, _w in plan.caps
        ]
        nt = plan.exempt.size
        self.caps_of = [[(k, w) for k, (mask, _c, w) in enumerate(plan.caps) if mask[t]] for t in range(nt)]
        self.held_out, self.capped, self.delayed = held_out, capped, delayed

    def follow(self, ids: np.ndarray, start: np.ndarray, horizon: float, held_out: np.ndarray,
               capped: np.ndarray, delayed: np.ndarray) -> ContactGate:
        """The gate for customers ``ids`` followed afresh from times ``start`` (LTV after conversion):
        the same holdout, clock and recent contacts, on the new clock."""
        rings = [[col[ids] - start for col in ring] for ring in self.rings]
        return ContactGate(self.plan, self.draws.take(ids), horizon, held_out, capped, delayed,
                           shift=start, rings=rings)

    def admit(self, touches: tuple[int, ...], ids: np.ndarray, due: np.ndarray) -> list[Decision]:
        """Contacts of each of ``touches`` falling due together for customers ``ids`` (of this
        block) at times ``due``, decided in that order (the contacts of one firing).

        Returns per touchpoint the positions (into ``ids``) of the contacts sent (None: all of
        them) and their send times (``due`` itself when nothing changes).
        """
        return self._admit(self.sendable, self.since_quiet, self.rings, touches, ids, due, whole=False)

    def for_stay(self, ids: np.ndarray) -> StayGate:
        """The gate's state of the customers ``ids`` of one stay, copied out (see :class:`StayGate`)."""
        return StayGate(self, ids)

    def _admit(self, sendable: np.ndarray, since_quiet: np.ndarray | None, rings: list[list[np.ndarray]],
               touches: tuple[int, ...], ids: np.ndarray, due: np.ndarray, *, whole: bool) -> list[Decision]:
        """:meth:`admit` on the state ``sendable``, ``since_quiet`` and ``rings``, which ``ids`` index.

        What the contacts share is read once: who is held out, the customers' clock, and each
        cap's recent sends (kept here as the contacts before have left them, and written back
        once at the end). ``whole``: ``ids`` are all the state's positions in order (0, 1, ...),
        so the state is read as it is, not gathered.
        """
        out: list[Decision] = []
        pos: np.ndarray | None = None  # those not held out (None: all), their ids and due times
        mine: tuple[np.ndarray, np.ndarray] | None = None
        clock: list[np.ndarray] = []  # their time since quiet hours began, at time 0
        cols: dict[int, list[np.ndarray]] = {}  # per cap: its columns at `mine`'s ids
        for touch in touches:
            if touch < 0 or ids.size == 0 or self.exempt[touch]:
                out.append((None, due))
                continue
            if self.all_held:
                self.held_out[touch] += ids.size
                out.append((_NONE, due[:0]))
                continue
            if mine is None:
                mine = ids, due
                if self.any_held:
                    pos = np.flatnonzero(sendable if whole else sendable[ids])
                    if pos.size < ids.size:
                        mine = ids[pos], due[pos]
                        whole = False
                    else:
                        pos = None
            if pos is not None:
                self.held_out[touch] += ids.size - pos.size
            if not mine[0].size:
                out.append((pos, mine[1]))
                continue
            out.append(self._decide(touch, pos, *mine, since_quiet, clock, rings, cols, whole))
        if cols:
            assert mine is not None
            at = Ellipsis if whole else mine[0]
            for k, local in cols.items():
                for col, vals in zip(rings[k], local, strict=True):
                    col[at] = vals
        return out

    def _decide(self, touch: int, pos: np.ndarray | None, ids: np.ndarray, due: np.ndarray,
                since_quiet: np.ndarray | None, clock: list[np.ndarray], rings: list[list[np.ndarray]],
                cols: dict[int, list[np.ndarray]], whole: bool) -> Decision:
        """One contact of :meth:`_admit` for customers ``ids`` (at positions ``pos``, None: all)
        not held out. ``clock`` and ``cols`` hold what the contacts share (filled on first use);
        the arrays in ``cols`` are replaced, never written into."""
        plan = self.plan
        send = due
        caps = self.caps_of[touch]
        dropped: np.ndarray | None = None
        if caps:
            lower = None
            for k, window in caps:
                local = cols.get(k)
                if local is None:
                    local = cols[k] = list(rings[k]) if whole else [col[ids] for col in rings[k]]
                edge = local[0] + window
                lower = edge if lower is None else np.maximum(lower, edge, out=lower)
            assert lower is not None
            if plan.delay_on_cap:  # (a shift under _EPS is not counted as a delay below)
                send = np.maximum(send, lower, out=lower)
            else:
                over = lower > send + _EPS
                if over.any():
                    dropped = over
        if since_quiet is not None:
            if not clock:
                clock.append(since_quiet if whole else since_quiet[ids])
            x = clock[0] + send
            x -= np.floor(x)  # time since the last start of quiet hours, in days
            if plan.quiet_delay:  # wait to their end: length - x when x < length
                wait = np.subtract(self.quiet_length, x, out=x)
                np.maximum(wait, 0.0, out=wait)
                if send is due:
                    send = send + wait
                else:  # a fresh array already (the caps' delay)
                    send += wait
            else:
                quiet = x < self.quiet_length
                if dropped is not None:
                    quiet &= ~dropped
                dropped = quiet if dropped is None else dropped | quiet
        if send.size and float(send.max()) >= self.horizon:
            late = send >= self.horizon
            dropped = late if dropped is None else dropped | late
        keep: np.ndarray | None = None
        if dropped is not None and dropped.any():
            self.capped[touch] += int(np.count_nonzero(dropped))
            keep = np.flatnonzero(~dropped)
            pos = keep if pos is None else pos[keep]
            due, send = due[keep], send[keep]
        if send is not due:
            self.delayed[touch] += int(np.count_nonzero(send > due + _EPS))
        for k, _w in caps:  # book the sends: keep each customer's last N, oldest first
            local = cols[k]
            if len(local) == 1 and plan.delay_on_cap:  # delayed behind its cap: later than the one kept
                new = [send]
            else:
                old = local if keep is None else [c[keep] for c in local]
                last = len(old) - 1
                # the (i+2)-th smallest of the N old times and the new one
                new = [np.maximum(old[i], np.minimum(old[i + 1], send)) for i in range(last)]
                new.append(np.maximum(old[last], send))
            if keep is not None:  # the others' times stay as they were
                for i, vals in enumerate(new):
                    col = local[i].copy()
                    col[keep] = vals
                    new[i] = col
            cols[k] = new
        return pos, send


class StayGate:
    """A :class:`ContactGate`'s state for the customers of one stay, copied out while the stay's
    triggers fire and written back by :meth:`close`.

    Nothing else contacts a customer through the gate during their stay, so the decisions are
    the gate's own; what changes is where the state lives: arrays the size of the stay, indexed
    by positions in it (which firings take in increasing order), instead of the block's arrays
    indexed by customer, so each send reads and writes memory close together.
    """

    def __init__(self, gate: ContactGate, ids: np.ndarray) -> None:
        self.gate = gate
        self.ids = ids
        # a whole holdout decides before reading any state (nor writing it: nothing is sent)
        self.copied = not gate.all_held
        self.sendable = gate.sendable[ids] if gate.any_held and self.copied else gate.sendable
        self.since_quiet = None if gate.since_quiet is None or not self.copied else gate.since_quiet[ids]
        self.rings = [[col[ids] for col in ring] for ring in gate.rings] if self.copied else gate.rings

    def admit(self, touches: tuple[int, ...], pos: np.ndarray, due: np.ndarray) -> list[Decision]:
        """:meth:`ContactGate.admit` for the customers at positions ``pos`` of the stay."""
        # positions in increasing order, as many as the stay's: all of them
        whole = pos.size == self.ids.size
        return self.gate._admit(self.sendable, self.since_quiet, self.rings, touches, pos, due, whole=whole)

    def silences(self, touches: tuple[int, ...]) -> bool:
        """Whether the gate holds out every contact of ``touches`` (the holdout's twin: everyone
        held out, and none of them transactional). Then :meth:`held` decides each of them."""
        gate = self.gate
        return gate.all_held and bool(touches) and not any(gate.exempt[t] for t in touches)

    def held(self, touch: int, n: int) -> np.ndarray:
        """:meth:`admit` of ``n`` contacts of ``touch`` that :meth:`silences` holds out: none is
        sent (the positions of those sent, empty), all are counted held out."""
        self.gate.held_out[touch] += n
        return _NONE

    def close(self) -> None:
        """Write the stay's recent contacts back to the block's gate."""
        if not self.copied:
            return
        ids = self.ids
        for ring, local in zip(self.gate.rings, self.rings, strict=True):
            for col, mine in zip(ring, local, strict=True):
                col[ids] = mine
