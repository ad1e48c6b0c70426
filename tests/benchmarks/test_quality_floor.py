"""The group floor of `make bench-quality` (issue 27) and what it says stops a group below it."""

from __future__ import annotations

import pytest

from benchmarks.quality import meets_floor, what_stops_it


def cell(model: float, ceiling: float, reached: float, group_curves: float,
         noise: float = 0.01, reached_noise: float = 0.01) -> dict:
    return {"model": model, "ceiling": ceiling, "ceiling_reached": reached,
            "group_curves": group_curves, "model_vs_ceiling_noise": noise,
            "model_vs_ceiling_reached_noise": reached_noise}


@pytest.mark.parametrize(("model", "noise", "meets"), [
    (0.48, 0.01, True),   # 0.8 of 0.6
    (0.47, 0.01, False),
    (0.47, 0.13, True),   # within noise of the ceiling itself
    (0.47, 0.12, False),  # noise reaching only to 0.8 of it is not enough
])
def test_the_floor_is_a_share_of_the_ceiling_or_within_noise_of_it(model, noise, meets) -> None:
    assert meets_floor(cell(model, 0.6, 0.6, 0.6, noise=noise)) is meets


def test_a_group_at_the_floor_is_said_to_meet_it() -> None:
    assert what_stops_it(cell(0.5, 0.6, 0.3, 0.1)) == "meets the floor"


def test_a_group_the_log_cannot_tell_is_named_reach_limited_and_judged_on_reached_slots() -> None:
    # office's night owls: ceiling 0.739, on reached slots 0.564, the model 0.562.
    said = what_stops_it(cell(0.562, 0.739, 0.564, 0.70))
    assert "the log lacks it" in said
    assert "the model is at the floor of the reached slots" in said
    assert "one true curve" not in said


def test_a_group_no_weekly_shape_holds_is_named_so() -> None:
    # office's shift workers: one true curve per group gets 0.061 of a ceiling of 0.150.
    said = what_stops_it(cell(0.064, 0.150, 0.153, 0.061, noise=0.033 / 8))
    assert "one true curve per group does not reach it either" in said
    assert "the log lacks it" not in said
    assert "below the floor of the reached slots too" in said


def test_a_group_the_model_loses_on_reached_slots_is_the_models() -> None:
    # office's lunch people: reach-limited, and the model at 0.59 of the reached slots' ceiling.
    said = what_stops_it(cell(0.207, 0.603, 0.348, 0.611, reached_noise=0.03))
    assert said.startswith("the log lacks it")
    assert said.endswith("the model is below the floor of the reached slots too")


def test_the_ceiling_weighs_the_true_curves_of_the_contacts_zone_but_its_own(monkeypatch) -> None:
    """The Bayes ceiling's expected curve, in blocks of held-out contacts (so 50,000 contacts
    fit in memory), equals Bayes' rule written out contact by contact."""
    import numpy as np

    from benchmarks import quality

    rng = np.random.default_rng(3)
    n, slots = 40, 168
    curves = rng.uniform(0.05, 0.9, (n, slots))
    zone = np.array(["Asia/Jerusalem", "Europe/London"])[rng.integers(0, 2, n)]
    calls = rng.integers(0, 3, (n, slots)).astype(float)
    answers = np.minimum(calls, rng.integers(0, 2, (n, slots)))
    test = np.array([0, 3, 7, 8, 21, 39])
    expected = []
    for i in test:
        others = [j for j in range(n) if zone[j] == zone[i] and j != i]
        log_lik = np.array([np.sum(answers[i] * np.log(curves[j])
                                   + (calls[i] - answers[i]) * np.log1p(-curves[j]))
                            for j in others])
        weights = np.exp(log_lik - log_lik.max())
        expected.append(weights @ curves[others] / weights.sum())
    monkeypatch.setattr(quality, "CEILING_BLOCK", 4)  # blocks of 4, 2 held-out contacts
    got = quality.ceiling_curves(curves, zone, test, calls, answers)
    assert np.allclose(got, np.array(expected), rtol=1e-10, atol=1e-12)
