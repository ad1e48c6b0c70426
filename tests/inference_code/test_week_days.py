"""A zone's week decides which day type (and so which archetype cell) each of its days is: Sunday
is a working day in Jerusalem and a rest day in London. A model ships the week it was trained
with; a model shipped before zones' weeks were told apart keeps reading every zone by the
default week."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from inference_code.archetypes import HOURS, N_CELLS, Archetypes
from inference_code.features import DAY_NAMES, FeatureParams
from inference_code.ranking import DEFAULT_WINDOW, rank, window_mask
from inference_code.time_zones import iana_zones
from inference_code.week_days import (
    FIRST_REST_DAY,
    FRIDAY,
    LAST_REST_DAY,
    LAST_WORKING_DAY,
    REST_DAYS,
    SATURDAY,
    SUNDAY,
    WEEK,
    WORKING_DAY,
    day_types,
)
from training import archetype_fit, dataset

AS_OF = 1_780_000_000.0


def test_rest_days_give_the_day_types() -> None:
    assert day_types((SATURDAY, SUNDAY)) == (0, 1, 1, 1, 1, 2, 3)  # the default week
    assert day_types((SATURDAY,)) == (1, 1, 1, 1, 1, 2, 3)  # Israel: Sunday works
    assert day_types((FRIDAY, SATURDAY)) == (1, 1, 1, 1, 2, 3, 0)
    assert day_types((FRIDAY,)) == (1, 1, 1, 1, 2, 3, 1)
    assert day_types((FRIDAY, SUNDAY)) == (3, 1, 1, 1, 2, 3, 2)  # two rests apart (Brunei)
    for rest in [(), (0, 1, 2), (7,), (-1,)]:
        with pytest.raises(ValueError, match="rest days must be one or two days"):
            day_types(rest)


def test_every_zone_of_the_table_is_one_the_endpoint_accepts_and_its_links_agree() -> None:
    assert set(REST_DAYS) <= iana_zones()
    # A zone and its backward links (the same rules under another name) rest alike.
    for link, zone in [("Asia/Tel_Aviv", "Asia/Jerusalem"), ("Israel", "Asia/Jerusalem"),
                       ("Egypt", "Africa/Cairo"), ("Libya", "Africa/Tripoli"),
                       ("Asia/Dacca", "Asia/Dhaka"), ("Iran", "Asia/Tehran")]:
        assert WEEK[link] == WEEK[zone], link


def _model(week: dict[str, tuple[int, ...]]) -> Archetypes:
    """One archetype answering 0.9 at 10:00 on the first rest day, 0.2 elsewhere."""
    rates = np.full((1, N_CELLS), 0.2)
    rates[0, FIRST_REST_DAY * HOURS + 10] = 0.9
    return Archetypes(rates, np.ones(1), {}, (0.0,), week)


def test_a_day_s_cell_follows_the_zone_s_week() -> None:
    model = _model(WEEK)
    sunday, monday = np.array([SUNDAY, 1]), np.array([19, 19])
    jerusalem, london = model.cells("Asia/Jerusalem", sunday, monday), model.cells(
        "Europe/London", sunday, monday)
    assert jerusalem[0] == WORKING_DAY * HOURS + 19 == jerusalem[1] == london[1]
    assert london[0] == LAST_REST_DAY * HOURS + 19
    assert model.cells("Asia/Riyadh", FRIDAY, 10) == FIRST_REST_DAY * HOURS + 10
    assert model.cells("Europe/London", FRIDAY, 10) == LAST_WORKING_DAY * HOURS + 10
    # Rows of many zones at once, as training reads them, agree with one zone at a time.
    zones = np.array(["Asia/Jerusalem", "Europe/London", "Asia/Riyadh", "Pacific/Fiji"],
                     dtype=object)
    dow, hour = np.array([SUNDAY, SUNDAY, FRIDAY, SUNDAY]), np.array([9, 9, 10, 9])
    one_by_one = [int(model.cells(z, d, h)) for z, d, h in zip(zones, dow, hour, strict=True)]
    assert model.row_cells(zones, dow, hour).tolist() == one_by_one
    codes, names = np.array([2, 0, 1, 0]), ["Europe/London", "Asia/Riyadh", "Asia/Jerusalem"]
    assert model.row_cells((codes, names), dow, hour).tolist() == [
        int(model.cells(names[c], d, h)) for c, d, h in zip(codes, dow, hour, strict=True)]
    assert model.slot_cells("Asia/Riyadh")[FRIDAY * HOURS + 10] == FIRST_REST_DAY * HOURS + 10


def test_training_counts_a_call_in_its_zone_s_day_type() -> None:
    calls, answers, _ = dataset.dense_cell_counts(
        np.array([0, 1]), np.array([SUNDAY, SUNDAY]), np.array([12, 12]),
        np.array(["Asia/Jerusalem", "Europe/London"], dtype=object), np.array([1, 0]))
    assert calls[0, WORKING_DAY * HOURS + 12] == answers[0, WORKING_DAY * HOURS + 12] == 1
    assert calls[1, LAST_REST_DAY * HOURS + 12] == 1 and answers[1].sum() == 0
    # What training fits ships the week its counts were made with.
    fitted, _ = archetype_fit.fit(calls, answers, np.array(["Asia/Jerusalem", "Europe/London"]))
    assert fitted.week == WEEK


def test_recommendations_read_the_curve_in_the_contact_s_week() -> None:
    params = FeatureParams(0.3, archetypes=_model(WEEK).to_dict())

    def best(zone: str) -> tuple[str, int]:
        top = rank(params, [], ZoneInfo(zone), AS_OF, window_mask(DEFAULT_WINDOW)).top(1)[0]
        return top["day"], top["hour"]

    assert best("Asia/Riyadh") == (DAY_NAMES[FRIDAY], 10)  # Riyadh's first rest day
    assert best("Europe/London") != (DAY_NAMES[FRIDAY], 10)  # London's last working day


def test_a_model_shipped_before_weeks_reads_every_zone_by_the_default_week() -> None:
    stored = _model(WEEK).to_dict()
    assert json.loads(json.dumps(stored))["week"]["Asia/Jerusalem"] == [1, 1, 1, 1, 1, 2, 3]
    assert Archetypes.from_dict(stored).week == WEEK
    del stored["week"]
    old = Archetypes.from_dict(stored)
    assert old.week == {}
    assert old.cells("Asia/Jerusalem", SUNDAY, 19) == old.cells("Europe/London", SUNDAY, 19) \
        == LAST_REST_DAY * HOURS + 19
    params = FeatureParams(0.3, archetypes=stored)
    top = rank(params, [], ZoneInfo("Asia/Riyadh"), AS_OF, window_mask(DEFAULT_WINDOW)).top(1)
    assert (top[0]["day"], top[0]["hour"]) != ("friday", 10)  # Friday: the default week's


@pytest.mark.parametrize(("week", "message"), [
    ({"Asia/Jerusalem": [1, 1, 1]}, r"archetypes.week\['Asia/Jerusalem'\] must be 7 day types"),
    ({"Asia/Jerusalem": [1, 1, 1, 1, 1, 2, 4]}, r"must be 7 day types in 0..3"),
    ({"Asia/Jerusalem": "weekend"}, "archetypes.week must map zones to lists of 7 day types"),
    (["Asia/Jerusalem"], "archetypes.week must map zones to lists of 7 day types"),
])
def test_a_damaged_week_is_refused_by_name_when_the_model_is_loaded(week, message) -> None:
    stored = {**_model(WEEK).to_dict(), "week": week}
    with pytest.raises(ValueError, match=message):
        Archetypes.from_dict(stored)
