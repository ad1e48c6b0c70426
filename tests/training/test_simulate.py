"""The demo generator: deterministic, dirty where intended, truth in the contact's local time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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


@pytest.mark.parametrize("log_format", ["csv", "parquet"])
def test_a_log_written_in_parts_validates_as_the_single_file_does(tmp_path, log_format) -> None:
    from training.simulate import write

    config = SimulationConfig(n_contacts=150, seed=3)
    single, _ = write(config, tmp_path / "one")
    folder, _ = write(config, tmp_path / "parts", parts=4, log_format=log_format)
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == [f"part-{i:05d}.{log_format}" for i in range(4)]
    whole = call_log.load(single)
    split = call_log.load_parts([(f.name, f.read_bytes()) for f in files])
    assert split.rejected_by_reason == whole.rejected_by_reason
    key = ["contact_id", "called_at"]
    pd.testing.assert_frame_equal(
        split.valid.drop(columns="source_row").sort_values(key).reset_index(drop=True),
        whole.valid.drop(columns="source_row").sort_values(key).reset_index(drop=True))
    # Split by time: a contact's calls span parts.
    first = call_log.read_raw(files[0].read_bytes(), "p0")["contact_id"]
    last = call_log.read_raw(files[-1].read_bytes(), "p3")["contact_id"]
    assert len(set(first) & set(last)) > 10
