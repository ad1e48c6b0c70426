"""The demo generator: deterministic, dirty where intended, truth in the contact's local time; a
long tail of thin histories, weekly shapes that differ by day type, zones whose weekend differs,
and three populations of different shape (the third with minorities the majority's hours do not
suit)."""

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
    values = truth.drop(columns=["contact_id", "group"]).to_numpy()
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


def _surface(truth: pd.DataFrame) -> np.ndarray:
    return truth.drop(columns=["contact_id", "group"]).to_numpy().reshape(-1, 7, 24)


def test_most_contacts_have_few_calls_and_a_long_tail_has_many() -> None:
    log, _ = simulate(SimulationConfig(n_contacts=2000, calls_per_contact=15, seed=4))
    per_contact = call_log.validate(log).valid.groupby("contact_id").size()
    assert (per_contact <= 5).mean() > 0.15  # thin histories are common...
    assert (per_contact > 40).mean() > 0.03  # ...and some contacts have many calls
    assert per_contact.median() < per_contact.mean()


def test_weekly_shapes_differ_by_day_type_and_the_weekend_by_zone() -> None:
    log, truth = simulate(SimulationConfig(n_contacts=1500, seed=5))
    surface = _surface(truth)
    zone = log.assign(tz=log["timezone"].replace("", "Asia/Jerusalem")).groupby(
        "contact_id")["tz"].first().reindex(truth["contact_id"]).to_numpy()
    evening = (truth["group"] == "evening").to_numpy()
    # Evening people answer best after work on workdays and earlier on their weekend.
    jerusalem, london = evening & (zone == "Asia/Jerusalem"), evening & (zone == "Europe/London")
    workday_peak = surface[jerusalem, 2].argmax(axis=1).mean()  # Tuesday
    weekend_peak = surface[jerusalem, 6].argmax(axis=1).mean()  # Saturday
    assert workday_peak - weekend_peak > 2
    # Sunday is a workday in Jerusalem and a weekend day in London.
    assert np.allclose(surface[jerusalem, 0], surface[jerusalem, 2])
    assert abs(surface[london, 0].argmax(axis=1).mean() - surface[london, 6].argmax(axis=1).mean()
               ) < 1
    assert not np.allclose(surface[london, 0], surface[london, 2])


def test_the_two_populations_differ_in_shape() -> None:
    office, office_truth = simulate(SimulationConfig(n_contacts=1000, population="office", seed=6))
    retail, retail_truth = simulate(SimulationConfig(n_contacts=1000, population="retail", seed=6))
    assert set(office["timezone"]) != set(retail["timezone"])
    office_share = office_truth["group"].value_counts(normalize=True)
    retail_share = retail_truth["group"].value_counts(normalize=True)
    assert abs(office_share["evening"] - retail_share["evening"]) > 0.05
    with pytest.raises(ValueError, match="population='mall'"):
        SimulationConfig(population="mall")


def test_the_minorities_population_has_what_real_populations_have() -> None:
    """Issue 27's third setting: minorities whose good hours are where the majority's are poor,
    each contact's curve shifted by its own hour or so, a dialer keeping to its office hours."""
    log, truth = simulate(SimulationConfig(n_contacts=3000, population="minorities", seed=8))
    office_log, office_truth = simulate(SimulationConfig(n_contacts=3000, seed=8))
    share = truth["group"].value_counts(normalize=True)
    workday = _surface(truth)[:, 2, 9:21]  # Tuesday, local time, inside the calling window
    mean_curve = workday.mean(axis=0)
    majority_best = mean_curve.argmax()
    for minority in ("morning", "lunch"):
        assert 0.1 <= share[minority] <= 0.2
        own = workday[(truth["group"] == minority).to_numpy()]
        best = own.mean(axis=0).argmax()
        # Where the minority answers best, the population answers poorly...
        assert mean_curve[best] < 0.75 * mean_curve[majority_best], (minority, best)
        # ...and the population's best hour is a poor one for the minority.
        assert own[:, majority_best].mean() < 0.6 * own[:, best].mean(), minority
    # Each contact's peak shifted by its own hour or so: a group's peaks spread wider.
    morning = _surface(truth)[:, 2][(truth["group"] == "morning").to_numpy()].argmax(axis=1)
    office_morning = _surface(office_truth)[:, 2][
        (office_truth["group"] == "morning").to_numpy()].argmax(axis=1)
    assert morning.std() > 1.3 * office_morning.std()

    # The legacy dialer: fewer calls outside its business hours (Sun-Thu 9-20, Fri 9-13; the
    # same-day retries, 1-4 hours after a miss, still spill past 20:00).
    def outside_hours(calls: pd.DataFrame) -> float:
        when = pd.to_datetime(call_log.validate(calls).valid["called_at"], utc=True)
        local = when.dt.tz_convert("Asia/Jerusalem")
        return float(((local.dt.hour < 9) | (local.dt.hour >= 20)).mean())

    assert outside_hours(log) < 0.6 * outside_hours(office_log)
