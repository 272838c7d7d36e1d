"""The contact gate on its own: contacts decided together are decided as one by one."""

from __future__ import annotations

import numpy as np
import pytest

from journeydsl.engine.montecarlo.gate import ContactGate, GatePlan, gate_draws

N = 400  # customers of the block
TOUCHES = 3  # email, sms, receipt (transactional)


def _gate(plan: GatePlan) -> ContactGate:
    return ContactGate(plan, gate_draws(np.random.SeedSequence(5), N), 365.0,
                       np.zeros(TOUCHES), np.zeros(TOUCHES), np.zeros(TOUCHES))


@pytest.mark.parametrize("delay", [True, False])
@pytest.mark.parametrize("holdout", [0.0, 0.3, 1.0])
def test_the_contacts_of_a_firing_decided_together_are_decided_one_by_one(delay: bool, holdout: float) -> None:
    plan = GatePlan(
        caps=((np.array([True, False, False]), 2, 7.0), (np.array([True, True, False]), 1, 1.0)),
        delay_on_cap=delay, quiet=(21 / 24, 8 / 24), quiet_delay=delay, holdout=holdout,
        exempt=np.array([False, False, True]),
    )
    together, alone = _gate(plan), _gate(plan)
    rng = np.random.default_rng(1)
    ids = np.sort(rng.choice(N, 300, replace=False))  # one stay's customers
    stay = together.for_stay(ids)
    for firing in range(30):
        # every customer of the stay (read in place), or some of them (gathered)
        pos = np.arange(ids.size) if firing % 3 == 0 else np.sort(rng.choice(ids.size, 120, replace=False))
        due = rng.uniform(12.0 * firing, 12.0 * firing + 10.0, pos.size)  # the last ones past the horizon
        touches = (0, 1, 0, 2, 1)  # the email cap (2 a week) and the `any` cap (1 a day) both bind
        for touch, (keep, at) in zip(touches, stay.admit(touches, pos, due), strict=True):
            want_keep, want_at = alone.admit((touch,), ids[pos], due)[0]
            assert (keep is None) == (want_keep is None)
            if keep is not None:
                assert np.array_equal(keep, want_keep)
            assert np.array_equal(at, want_at)
    stay.close()
    for mine, theirs in zip(together.rings, alone.rings, strict=True):
        for a, b in zip(mine, theirs, strict=True):
            assert np.array_equal(a, b)
    for a, b in ((together.held_out, alone.held_out), (together.capped, alone.capped),
                 (together.delayed, alone.delayed)):
        assert np.array_equal(a, b)
    assert together.held_out.sum() > 0 if holdout else together.held_out.sum() == 0
