"""Slots are ranked best first by the contact's weekly answer curve; equal probabilities go to the
earlier day of the week (Sunday first), then the earlier hour. The curve weighs the population's
archetypes by the contact's own calls: no calls, the zone's population; telling calls, its own."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np

from inference_code.archetypes import N_CELLS, Archetypes, cell_of
from inference_code.features import DAY_NAMES, FeatureParams, LocalCall, localize
from inference_code.ranking import DEFAULT_WINDOW, rank, window_mask

AS_OF = 1_780_000_000.0  # a Wednesday in 2026
JERUSALEM = ZoneInfo("Asia/Jerusalem")
SUNDAY, MONDAY, FRIDAY = (DAY_NAMES.index(d) for d in ("sunday", "monday", "friday"))


def _params(*curves: dict[tuple[int, int], float], weights: list[float] | None = None,
            zone_weights: dict[str, list[float]] | None = None) -> FeatureParams:
    """Archetypes answering 0.2 everywhere but at the given (day of week, hour) cells."""
    rates = np.full((len(curves), N_CELLS), 0.2)
    for k, curve in enumerate(curves):
        for (dow, hour), p in curve.items():
            rates[k, cell_of(dow, hour)] = p
    share = np.array(weights or [1 / len(curves)] * len(curves))
    archetypes = Archetypes(rates, share, {z: np.array(w) for z, w in (zone_weights or {}).items()})
    return FeatureParams(0.3, archetypes=archetypes.to_dict())


def _order(params: FeatureParams, history: list[LocalCall] | None = None,
           zone: ZoneInfo = JERUSALEM) -> list[tuple[str, int]]:
    ranked = rank(params, history or [], zone, AS_OF, window_mask(DEFAULT_WINDOW))
    return [(s["day"], s["hour"]) for s in ranked.top(200)]


def test_equal_probabilities_go_to_the_earlier_day_then_the_earlier_hour() -> None:
    expected = [(day, hour) for day in DAY_NAMES if day in DEFAULT_WINDOW
                for hour in range(*DEFAULT_WINDOW[day])]
    assert _order(FeatureParams(0.3)) == expected  # sunday 9, sunday 10, ... friday 13
    # Float noise far below the 9 decimals the ranking rounds to does not reorder them.
    noisy = _params({(SUNDAY, 9): 0.2 + 1e-12, (FRIDAY, 13): 0.2 - 1e-12})
    assert _order(noisy) == expected


def test_a_better_slot_comes_first_and_ties_behind_it_keep_the_rule() -> None:
    order = _order(_params({(FRIDAY, 10): 0.9, (SUNDAY, 15): 0.9}))
    assert order[:3] == [("sunday", 15), ("friday", 10), ("sunday", 9)]


def _calls(dow: int, hour: int, answered: bool, n: int, zone: ZoneInfo = JERUSALEM
           ) -> list[LocalCall]:
    """n calls on the given local weekday and hour in the weeks before AS_OF."""
    out = []
    epoch = AS_OF - 7 * 86400
    while len(out) < n:
        d, h, day = localize(epoch, zone)
        if (d, h) == (dow, hour):
            out.append(LocalCall(epoch, d, h, day, answered))
            epoch -= 7 * 86400
        else:
            epoch -= 3600
    return out


def test_without_telling_calls_the_contact_gets_the_population_best_and_with_them_its_own() -> None:
    # Most people answer on Monday evenings; a few only on Sunday mornings.
    params = _params({(MONDAY, 19): 0.7}, {(SUNDAY, 10): 0.7}, weights=[0.8, 0.2])
    assert _order(params)[0] == ("monday", 19)
    # One answered Sunday-morning call is not enough to overturn a 4:1 prior...
    assert _order(params, _calls(SUNDAY, 10, True, 1))[0] == ("monday", 19)
    # ...three are: the evidence and the prior are weighed, not a rule of thumb.
    assert _order(params, _calls(SUNDAY, 10, True, 3))[0] == ("sunday", 10)
    # A call at a cell both archetypes rate alike says nothing: the population's best stays.
    assert _order(params, _calls(MONDAY, 12, True, 5))[0] == ("monday", 19)


def test_the_prior_is_the_contact_s_zone_population() -> None:
    params = _params({(MONDAY, 19): 0.7}, {(SUNDAY, 10): 0.7}, weights=[0.8, 0.2],
                     zone_weights={"Europe/London": [0.1, 0.9]})
    assert _order(params, zone=ZoneInfo("Europe/London"))[0] == ("sunday", 10)
    # A zone the training log never saw gets the whole population's prior.
    assert _order(params, zone=ZoneInfo("Asia/Tokyo"))[0] == ("monday", 19)


def test_calls_after_as_of_do_not_count() -> None:
    params = _params({(MONDAY, 19): 0.7}, {(SUNDAY, 10): 0.7}, weights=[0.8, 0.2])
    later = [LocalCall(c.epoch + 60 * 86400, c.dow, c.hour, c.day + 60, True)
             for c in _calls(SUNDAY, 10, True, 5)]
    assert all(c.epoch > AS_OF for c in later)
    assert _order(params, later)[0] == ("monday", 19)
