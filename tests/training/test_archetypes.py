"""Weekly archetypes: fitted by EM over day type x hour, as many as held-out likelihood supports,
zone-aware, deterministic, shipped intact in metadata, kept out of the test period during
evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference_code.archetypes import N_CELLS, Archetypes, cell_of
from inference_code.features import FeatureParams
from training import archetype_fit, call_log, dataset

SUNDAY, MONDAY, SATURDAY = 0, 1, 6


def _people(kinds: list[str], contacts: int = 600, calls: int = 30, seed: int = 0,
            zones: tuple[str, ...] = ("Asia/Jerusalem",)):
    """Contacts of the given kinds, called at random days 7-21h:
    'workday-evening' answers Monday-Thursday 18-20, 'weekend-morning' answers Saturday 9-11,
    'flat' answers 0.3 everywhere. Returns per-contact counts, zones and kinds."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((contacts, N_CELLS))
    answers = np.zeros((contacts, N_CELLS))
    kind = np.array([kinds[i % len(kinds)] for i in range(contacts)])
    zone = np.array([zones[i % len(zones)] for i in range(contacts)])
    for c in range(contacts):
        dows, hours = rng.integers(0, 7, calls), rng.integers(7, 22, calls)
        for dow, hour in zip(dows.tolist(), hours.tolist(), strict=True):
            if kind[c] == "workday-evening":
                p = 0.7 if 1 <= dow <= 4 and 18 <= hour <= 20 else 0.1
            elif kind[c] == "weekend-morning":
                p = 0.7 if dow == SATURDAY and 9 <= hour <= 11 else 0.1
            else:
                p = 0.3
            cell = int(cell_of(dow, hour))
            counts[c, cell] += 1
            answers[c, cell] += rng.random() < p
    return counts, answers, zone, kind


def test_em_finds_the_weekly_shapes_and_a_new_contact_is_placed_by_its_calls() -> None:
    calls, answers, zones, _ = _people(["workday-evening", "weekend-morning"])
    archetypes, selection = archetype_fit.fit(calls, answers, zones)
    assert selection.k >= 2 and archetypes.shapes == selection.k
    rates = archetypes.shape_rates()
    evening = int(np.argmax(rates[:, cell_of(MONDAY, 19)]))
    weekend = int(np.argmax(rates[:, cell_of(SATURDAY, 10)]))
    assert evening != weekend
    # The evening archetype answers on workday evenings, not on Saturday evenings: a weekly
    # shape, not an hour-of-day one.
    assert rates[evening, cell_of(MONDAY, 19)] > 0.5 > rates[evening, cell_of(SATURDAY, 19)]
    assert rates[weekend, cell_of(SATURDAY, 10)] > 0.5 > rates[weekend, cell_of(MONDAY, 10)]
    # Two answered Monday 19:00 calls and two missed Saturday 10:00 calls: an evening person.
    posterior = archetypes.contact_posterior(
        "Asia/Jerusalem", cell_of(np.array([1, 1, 6, 6]), np.array([19, 19, 10, 10])),
        np.array([True, True, False, False]))
    curve = archetypes.curve(posterior)
    assert curve[cell_of(MONDAY, 19)] > 0.5 > curve[cell_of(SATURDAY, 10)]


def test_the_number_of_archetypes_is_what_held_out_contacts_support() -> None:
    one, one_answers, one_zones, _ = _people(["flat"])
    _, flat = archetype_fit.fit(one, one_answers, one_zones)
    assert flat.k == 1  # one kind of people: more archetypes only fit noise
    three, three_answers, three_zones, _ = _people(
        ["workday-evening", "weekend-morning", "flat"], contacts=900)
    _, mixed = archetype_fit.fit(three, three_answers, three_zones)
    assert 3 <= mixed.k <= 8
    scores = mixed.held_out_log_likelihood
    assert scores[mixed.k] > scores[1] and scores[mixed.k] > scores[2]


def test_zones_get_their_own_mix_of_archetypes() -> None:
    calls, answers, _, kind = _people(["workday-evening", "weekend-morning"])
    zones = np.where(kind == "weekend-morning", "Europe/London", "Asia/Jerusalem")
    archetypes, _ = archetype_fit.fit(calls, answers, zones)
    weekend = int(np.argmax(archetypes.shape_rates()[:, cell_of(SATURDAY, 10)]))
    assert archetypes.shape_shares(archetypes.zone_weights["Europe/London"])[weekend] > 0.8
    assert archetypes.shape_shares(archetypes.zone_weights["Asia/Jerusalem"])[weekend] < 0.2
    # No calls: the zone decides.
    def best_cell(zone: str) -> int:
        no_calls = archetypes.contact_posterior(zone, np.array([], int), np.array([], bool))
        return int(np.argmax(archetypes.curve(no_calls)))

    assert best_cell("Europe/London") in {int(cell_of(SATURDAY, h)) for h in (9, 10, 11)}
    assert best_cell("Asia/Jerusalem") in {int(cell_of(MONDAY, h)) for h in (18, 19, 20)}


def test_fit_is_deterministic_and_survives_metadata() -> None:
    calls, answers, zones, _ = _people(["workday-evening", "weekend-morning"], contacts=200)
    a, _ = archetype_fit.fit(calls, answers, zones)
    b, _ = archetype_fit.fit(calls, answers, zones)
    assert np.array_equal(a.rates, b.rates) and np.array_equal(a.weights, b.weights)
    params = FeatureParams(0.3, archetypes=a.to_dict())
    again = FeatureParams.from_dict(json.loads(json.dumps(params.to_dict())))
    assert again == params
    cells, answered = cell_of(np.array([1, 6]), np.array([19, 10])), np.array([True, False])
    assert np.allclose(again.archetype_model.contact_posterior("Asia/Jerusalem", cells, answered),
                       Archetypes.from_dict(a.to_dict()).contact_posterior(
                           "Asia/Jerusalem", cells, answered))


def test_evaluation_parameters_ignore_the_test_period(demo_log) -> None:
    valid = call_log.load(demo_log[0]).valid
    cut = valid["called_at"].quantile(0.8)
    later = valid["called_at"] >= cut
    flipped = valid.copy()
    flipped.loc[later, "answered"] = ~flipped.loc[later, "answered"]
    cut_epoch = cut.timestamp()
    a = dataset.build(valid, fit_before=cut_epoch).params
    b = dataset.build(flipped, fit_before=cut_epoch).params
    assert a == b
    assert dataset.build(flipped).params != a



def _one_shape_at_many_levels(contacts: int = 1500, seed: int = 3):
    """Evening people only (Monday 18-20 is their best), each answering more or less often
    overall (a personal logit offset, sd 0.8), called at random Monday hours 9-21."""
    rng = np.random.default_rng(seed)
    offset = rng.normal(0, 0.8, contacts)
    calls = np.zeros((contacts, N_CELLS))
    answers = np.zeros((contacts, N_CELLS))
    for c in range(contacts):
        hours = rng.integers(9, 21, 30)
        peak = (hours >= 18) & (hours <= 20)
        p = 1 / (1 + np.exp(-(np.where(peak, 0.8, -1.2) + offset[c])))
        cells = cell_of(np.full(len(hours), MONDAY), hours)
        np.add.at(calls[c], cells, 1)
        np.add.at(answers[c], cells, rng.random(len(hours)) < p)
    return calls, answers, np.full(contacts, "Asia/Jerusalem")


def test_how_often_people_answer_does_not_use_up_archetypes() -> None:
    # One weekly shape, people answering more or less often: without levels one archetype
    # predicts held-out contacts far worse than several (the mixture spends archetypes on how
    # often: a low, a middle and a high evening curve, archetypes a minority's shape then lacks);
    # with levels one archetype is nearly as good as any number.
    calls, answers, zones = _one_shape_at_many_levels()
    _, with_levels = archetype_fit.fit(calls, answers, zones)
    _, without = archetype_fit.fit(calls, answers, zones,
                                   archetype_fit.ArchetypeSettings(levels=(0.0,)))

    def one_archetype_short(selection: archetype_fit.Selection) -> float:
        scores = selection.held_out_log_likelihood
        return max(scores.values()) - scores[1]

    assert one_archetype_short(with_levels) < 0.2 * one_archetype_short(without)
    assert without.k >= 4
    # One archetype: its shape is the evening's, and people are found at every level.
    single, _ = archetype_fit.fit(calls, answers, zones,
                                  archetype_fit.ArchetypeSettings(candidates=(1,)))
    monday = single.shape_rates()[0, cell_of(MONDAY, np.arange(9, 21))]
    assert 9 + int(monday.argmax()) in {18, 19, 20} and monday.max() > 2 * monday[:6].mean()
    assert (single.weights > 0.1).all()


def test_the_m_step_converges_from_far_off() -> None:
    # Three levels' calls whose best common logit is 0, started 3 logits away: a full Newton step
    # overshoots (the curvature vanishes in the tails) and swung between the bounds for ever.
    answers = np.array([[5.0, 10.0, 15.0]])
    calls = np.full((1, 3), 20.0)
    levels = np.array([-1.0, 0.0, 1.0])
    for start in (-3.0, 3.0, -8.0):
        x = archetype_fit._newton(answers, calls, levels, 0.0, np.zeros(1), np.array([start]), 8)
        assert abs(x[0]) < 1e-3, (start, x)
    # A whole fit: one more M-step's Newton moves no cell of any shape by more than a little.
    people, people_answers, zones, _ = _people(["workday-evening", "weekend-morning"])
    fitted, _ = archetype_fit.fit(people, people_answers, zones)
    rates = fitted.rates.reshape(fitted.shapes, len(fitted.levels), N_CELLS)
    assert (rates > 1.001e-3).all() and (rates < 1 - 1.001e-3).all()  # no cell at a bound


def test_a_model_shipped_before_levels_still_ranks_and_refits() -> None:
    # The live model of a deployment made before levels existed: its metadata has no "levels".
    calls, answers, zones, _ = _people(["workday-evening", "weekend-morning"], contacts=200)
    fitted, _ = archetype_fit.fit(calls, answers, zones,
                                  archetype_fit.ArchetypeSettings(levels=(0.0,)))
    stored = fitted.to_dict()
    del stored["levels"], stored["rows"]
    old = Archetypes.from_dict(stored)
    assert old.levels == (0.0,) and old.shapes == old.k == fitted.k
    assert np.allclose(old.rates, fitted.rates, atol=1e-6)
    # A refit (the cross-fitting folds, the every-call refit) keeps its archetypes and one level.
    again = archetype_fit.refit(calls, answers, zones, old)
    assert again.levels == (0.0,) and again.k == old.k
    evening = int(np.argmax(again.rates[:, cell_of(MONDAY, 19)]))
    assert evening == int(np.argmax(old.rates[:, cell_of(MONDAY, 19)]))
    # Rows that are not a whole number of archetypes at the stated levels are refused by name.
    stored["levels"] = [-1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="not a whole number of archetypes at 3 levels"):
        Archetypes.from_dict({**stored, "rates": stored["rates"][:1] * 4,
                              "weights": [0.25] * 4,
                              "zone_weights": {}})
    # Shares that do not match the rows are refused when the model is loaded, not at a request.
    six = {**stored, "rates": stored["rates"][:1] * 6, "weights": [1 / 6] * 6}
    with pytest.raises(ValueError, match=r"zone_weights\['Asia/Jerusalem'\] has 2 shares for 6"):
        Archetypes.from_dict({**six, "zone_weights": {"Asia/Jerusalem": [0.5, 0.5]}})
    for levels in ("x", [], [0.0, "a"], [float("nan")], [True]):
        with pytest.raises(ValueError, match=r"archetypes\.levels must be a non-empty list"):
            Archetypes.from_dict({**six, "levels": levels})
    with pytest.raises(ValueError, match="archetype weights has 3 shares for 6 rows"):
        Archetypes.from_dict({**six, "weights": [1 / 3] * 3, "zone_weights": {}})


def _one_hour_people(contacts: int = 400, calls: int = 40, seed: int = 1, sharp: bool = True):
    """Contacts answering 0.8 at one hour of the day (their own, 10-18) and 0.05 elsewhere, or
    (sharp=False) 0.3 at every hour; called at random days and hours 7-21h."""
    rng = np.random.default_rng(seed)
    counts, answers = np.zeros((contacts, N_CELLS)), np.zeros((contacts, N_CELLS))
    peak = rng.choice([10, 14, 18], contacts)
    for c in range(contacts):
        for dow, hour in zip(rng.integers(0, 7, calls).tolist(),
                             rng.integers(7, 22, calls).tolist(), strict=True):
            p = (0.8 if hour == peak[c] else 0.05) if sharp else 0.3
            cell = int(cell_of(dow, hour))
            counts[c, cell] += 1
            answers[c, cell] += rng.random() < p
    return counts, answers, np.full(contacts, "Asia/Jerusalem")


def test_the_hour_smoothing_is_what_held_out_contacts_support() -> None:
    settings = archetype_fit.ArchetypeSettings(hour_sigma_candidates=(0.3, 3.0),
                                               candidates=(1, 4))
    # One-hour peaks: a three-hour kernel blurs them, and held-out contacts say so.
    people = _one_hour_people()
    chosen, sharp = archetype_fit.fit(*people, settings)
    assert sharp.hour_sigma == 0.3
    assert sharp.by_hour_sigma[0.3] > sharp.by_hour_sigma[3.0]
    # The model shipped is fitted with the chosen smoothing: its curves are as sharp as one
    # fitted with that smoothing alone, far sharper than the other candidate's.
    def sharpness(archetypes: Archetypes) -> float:
        hours = archetypes.shape_rates().reshape(archetypes.shapes, -1, 24)[:, :, 7:22]
        return float(np.abs(np.diff(hours, axis=2)).max())

    def alone(sigma: float) -> Archetypes:
        return archetype_fit.fit(*people, archetype_fit.ArchetypeSettings(
            hour_sigma=sigma, hour_sigma_candidates=(), candidates=(sharp.k,)))[0]

    assert np.array_equal(chosen.rates, alone(0.3).rates)
    assert sharpness(chosen) > 2 * sharpness(alone(3.0))
    # No peaks: both fit alike, and the smoother one is kept (the one-standard-error rule).
    _, flat = archetype_fit.fit(*_one_hour_people(sharp=False), settings)
    assert flat.hour_sigma == 3.0
    stored = flat.to_dict()
    assert stored["hour_sigma"] == 3.0 and set(stored["held_out_log_likelihood_by_hour_sigma"]) \
        == {"0.3", "3.0"}


def test_the_refits_use_the_chosen_smoothing() -> None:
    calls, answers, zones = _one_hour_people(contacts=200)
    archetypes, selection = archetype_fit.fit(calls, answers, zones)
    assert selection.hour_sigma == 0.7  # one-hour peaks: the narrower candidate
    chosen = {**archetypes.to_dict(), "selection": selection.to_dict()}
    start = FeatureParams(0.3, archetypes=chosen)
    refit = dataset.params_from_counts(calls, answers, zones, 0.3, start).archetype_model
    shipped = start.archetype_model  # as metadata keeps it
    expected = archetype_fit.refit(calls, answers, zones, shipped,
                                   archetype_fit.ArchetypeSettings(hour_sigma=selection.hour_sigma))
    assert np.allclose(refit.rates, expected.rates, rtol=0, atol=1e-6)  # metadata's 6 decimals
    assert not np.allclose(refit.rates, archetype_fit.refit(  # not the default smoothing
        calls, answers, zones, shipped, archetype_fit.ArchetypeSettings(hour_sigma=1.0)).rates,
        rtol=0, atol=1e-3)
    # A model fitted before the smoothing was chosen was fitted with the default.
    assert archetype_fit.chosen_hour_sigma({"chosen": 4}) == 1.0
    for bad in ("wide", -1, True, None, float("inf"), float("nan")):
        with pytest.raises(ValueError, match=r"selection\.hour_sigma must be a finite number"):
            archetype_fit.chosen_hour_sigma({"hour_sigma": bad})


def test_within_one_standard_error_the_simplest_candidate_wins() -> None:
    rng = np.random.default_rng(0)
    best = rng.normal(-5, 1, 500)
    noise = rng.normal(0, 0.05, 500)
    noise -= noise.mean()
    close = best - 0.001 - noise  # worse in total (by 0.5), by less than its noise (1.1)
    far = best - 0.5 - noise
    # K: the fewest archetypes; the hour kernel: the smoothest (the largest sigma).
    assert archetype_fit.one_standard_error_choice({4: close, 6: best}) == 4
    assert archetype_fit.one_standard_error_choice({0.7: best, 1.0: close},
                                                   simplest_first=False) == 1.0
    assert archetype_fit.one_standard_error_choice({0.7: best, 1.0: close},
                                                   simplest_first=True) == 0.7
    assert archetype_fit.one_standard_error_choice({0.7: best, 1.0: far},
                                                   simplest_first=False) == 0.7
