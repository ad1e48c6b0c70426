"""Answer-by-hour archetypes: fitted from contacts' counts, deterministic, kept out of the test
period during evaluation, and shipped intact in metadata."""

from __future__ import annotations

import json

import numpy as np

from inference_code.features import FeatureParams, archetype_posterior
from training import call_log, dataset


def _two_kinds_of_people(seed: int = 0):
    """300 morning people (answer at 8-10) and 300 evening people (answer at 18-20)."""
    rng = np.random.default_rng(seed)
    codes, hours, answered = [], [], []
    for contact in range(600):
        evening = contact % 2 == 1
        for hour in rng.integers(7, 22, size=30):
            peak = 18 <= hour <= 20 if evening else 8 <= hour <= 10
            codes.append(contact)
            hours.append(hour)
            answered.append(rng.random() < (0.7 if peak else 0.1))
    return np.array(codes), np.array(hours), np.array(answered, dtype=float)


def test_em_finds_the_morning_and_the_evening_archetype() -> None:
    codes, hours, answered = _two_kinds_of_people()
    params = dataset.fit_params(codes, hours, answered, n_archetypes=2)
    rates = np.array(params.archetype_rates)
    peaks = sorted(int(np.argmax(r[7:22])) + 7 for r in rates)
    assert 8 <= peaks[0] <= 10 and 18 <= peaks[1] <= 20
    assert np.allclose(params.archetype_weights, 0.5, atol=0.05)
    # A new contact who answered at 19:00 twice and missed at 9:00 twice is an evening person.
    calls = np.zeros((1, 24))
    answers = np.zeros((1, 24))
    calls[0, [19, 9]] = 2
    answers[0, 19] = 2
    posterior = archetype_posterior(calls, answers, rates, np.array(params.archetype_weights))
    evening = int(np.argmax(rates[:, 19]))
    assert posterior[0, evening] > 0.9


def test_fit_is_deterministic_and_serializable() -> None:
    codes, hours, answered = _two_kinds_of_people()
    a = dataset.fit_params(codes, hours, answered)
    b = dataset.fit_params(codes, hours, answered)
    assert a == b
    assert FeatureParams.from_dict(json.loads(json.dumps(a.to_dict()))) == a


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
