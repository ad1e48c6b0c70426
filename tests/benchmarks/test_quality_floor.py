"""The group floor of `make bench-quality` (issue 27) and what it says stops a group below it."""

from __future__ import annotations

import pytest

from benchmarks.quality import meets_floor, what_stops_it


def cell(model: float, ceiling: float, reached: float, group_curves: float,
         noise: float = 0.01, reached_noise: float = 0.01, floor_noise: float = 0.01,
         reach_noise: float = 0.01) -> dict:
    return {"model": model, "ceiling": ceiling, "ceiling_reached": reached,
            "group_curves": group_curves, "model_vs_ceiling_noise": noise,
            "model_vs_ceiling_reached_noise": reached_noise, "model_vs_floor_noise": floor_noise,
            "reached_vs_floor_noise": reach_noise}


@pytest.mark.parametrize(("model", "noise", "floor_noise", "meets"), [
    (0.49, 0.01, 0.01, True),   # above 0.8 of 0.6
    (0.46, 0.01, 0.01, False),
    (0.46, 0.15, 0.01, True),   # within noise of the ceiling itself
    (0.46, 0.10, 0.01, False),
    (0.46, 0.01, 0.03, True),   # within noise of the floor, 0.48
    (0.46, 0.01, 0.015, False),
])
def test_the_floor_is_a_share_of_the_ceiling_or_within_noise_of_it_or_of_the_floor(
        model, noise, floor_noise, meets) -> None:
    assert meets_floor(cell(model, 0.6, 0.6, 0.6, noise=noise, floor_noise=floor_noise)) is meets


def test_no_ceiling_above_a_random_slot_is_met_only_by_not_falling_below_it() -> None:
    assert not meets_floor(cell(-0.10, -0.02, -0.02, -0.02))
    assert meets_floor(cell(-0.025, -0.02, -0.02, -0.02))


def test_a_group_at_the_floor_is_said_to_meet_it_and_how() -> None:
    assert what_stops_it(cell(0.5, 0.6, 0.3, 0.1)) == "meets the floor"
    assert what_stops_it(cell(0.47, 0.6, 0.3, 0.1, floor_noise=0.03)) == \
        "meets the floor within noise"


def test_a_group_the_log_cannot_tell_is_named_reach_limited_and_judged_on_reached_slots() -> None:
    # office's night owls: ceiling 0.739, on reached slots 0.564, the model 0.562.
    said = what_stops_it(cell(0.562, 0.739, 0.564, 0.78, floor_noise=0.02, reach_noise=0.02))
    assert said.startswith("reach-limited: on the slots the log reached, even the true curves "
                           "get 0.76 of the ceiling")
    assert said.endswith("the model meets the floor of the reached slots")
    assert "one true curve" not in said


def test_reach_within_noise_of_the_floor_is_not_called_the_limit() -> None:
    # retail's lunch people: the reached slots' ceiling 0.79 of the ceiling, within its noise.
    said = what_stops_it(cell(0.600, 0.806, 0.635, 0.80, floor_noise=0.02, reach_noise=0.02))
    assert "reach-limited" not in said
    assert said.startswith("the model: neither reach nor one curve per group stops it")


def test_a_group_no_weekly_shape_holds_is_named_so() -> None:
    # office's shift workers: one true curve per group gets 0.061 of a ceiling of 0.150.
    said = what_stops_it(cell(0.064, 0.150, 0.153, 0.061, noise=0.033))
    assert "one true curve per group gets 0.41" in said
    assert "reach-limited" not in said
    assert said.endswith("below the floor of the reached slots too")


def test_a_group_below_with_no_structural_cause_is_put_down_to_the_model() -> None:
    # office's flat people: the reached slots hold 0.82 of the ceiling, the model 0.96 of
    # theirs: the two multiply to under the floor, and neither alone is the cause.
    said = what_stops_it(cell(0.708, 0.899, 0.739, 0.95, noise=0.04))
    assert said == ("the model: neither reach nor one curve per group stops it; the model "
                    "meets the floor of the reached slots")


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


def test_groups_under_a_tenth_of_the_population_have_no_floor_in_the_tables() -> None:
    """`retail`'s shift workers are 5 % of it: no floor, whatever their share of the ceiling;
    its lunch people (20 %) are held to it."""
    from benchmarks.quality import table

    low = cell(0.01, 0.5, 0.5, 0.5) | {"share": 0.05, "group_curves_reached": 0.5}
    capture = {c: 0.1 for c in ("model", "forest_ranking", "best_global_slot",
                                "seed_random_forest")}
    by_group = {g: {"contacts": 10, "capture": capture} for g in ("lunch", "shift")}
    result = {"rows_valid": 100, "roc_auc": 0.7,
              "recommendation": {"contacts": 20, "capture": capture, "by_history_depth": {},
                                 "by_group": by_group},
              "bayes_ceiling": {"all": low, "by_history_depth": {}, "unreached_slots": {},
                                "by_group": {"lunch": low, "shift": low}}}
    lines = table("retail", result).splitlines()
    assert "**below**" in next(x for x in lines if x.startswith("| group lunch |"))
    assert "**below**" not in next(x for x in lines if x.startswith("| group shift |"))
    assert next(x for x in lines if x.startswith("| lunch |")).endswith(
        "the model is below the floor of the reached slots too |")
    assert next(x for x in lines if x.startswith("| shift |")).endswith(
        "no floor: under 10% of the population |")
