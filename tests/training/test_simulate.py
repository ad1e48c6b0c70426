"""The demo generator: deterministic, dirty where intended, truth in the contact's local time."""

from __future__ import annotations

import numpy as np

from training import call_log
from training.simulate import SimulationConfig, simulate


def test_deterministic_by_seed_and_different_across_seeds() -> None:
    a, ta = simulate(SimulationConfig(n_contacts=50, seed=1))
    b, tb = simulate(SimulationConfig(n_contacts=50, seed=1))
    c, _ = simulate(SimulationConfig(n_contacts=50, seed=2))
    assert a.equals(b) and ta.equals(tb)
    assert not a.equals(c)


def test_log_has_dirty_rows_of_every_kind_and_truth_is_a_probability() -> None:
    log, truth = simulate(SimulationConfig(n_contacts=300, dirty_fraction=0.02, seed=3))
    result = call_log.validate(log)
    counts = result.rejected_by_reason
    for reason in ("missing_field", "unparseable_timestamp", "unknown_timezone", "bad_answered",
                   "negative_duration", "duplicate"):
        assert counts[reason] > 0, reason
    values = truth.drop(columns="contact_id").to_numpy()
    assert values.shape == (300, 168)
    assert ((values >= 0) & (values <= 1)).all()
    # People differ: the best hour is not the same for everyone.
    best_hour = values.argmax(axis=1) % 24
    assert len(np.unique(best_hour)) > 6
