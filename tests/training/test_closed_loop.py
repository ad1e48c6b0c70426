"""The closed-loop benchmark's pieces (benchmarks/loop.py): its campaign calls land in the log at
the local slots it chose, its greedy choice is the served ranking's, and exploring draws from the
contact's posterior."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from benchmarks import loop
from inference_code.archetypes import HOURS, N_CELLS, Archetypes, cell_of
from inference_code.features import FeatureParams, LocalCall, localize
from inference_code.ranking import DEFAULT_WINDOW, rank, window_mask
from training import call_log, dataset

ZONES = np.array(["Asia/Jerusalem", "Europe/London", "America/New_York"])
MONDAY, SUNDAY = 1, 0


def _contacts(n: int = 30, seed: int = 0) -> loop.Contacts:
    rng = np.random.default_rng(seed)
    calls = rng.integers(0, 2, (n, 7 * HOURS)).astype(float)
    return loop.Contacts(np.array([f"c-{i}" for i in range(n)]), ZONES[np.arange(n) % 3],
                         rng.uniform(0.05, 0.9, (n, 7 * HOURS)), np.ones(n, dtype=bool), calls,
                         calls * (rng.random(calls.shape) < 0.4))


def _two_archetypes() -> Archetypes:
    evening, morning = np.full(N_CELLS, 0.1), np.full(N_CELLS, 0.1)
    evening[cell_of(MONDAY, 19)] = 0.8
    morning[cell_of(SUNDAY, 10)] = 0.7
    return Archetypes(np.array([evening, morning]), np.array([0.5, 0.5]), {})


def test_campaign_calls_are_valid_log_rows_at_the_chosen_local_slots() -> None:
    contacts = _contacts()
    rows = np.arange(len(contacts.ids))
    slots = loop.best_slots(contacts.truth, 2)
    rng = np.random.default_rng(1)
    frame, answered, made = loop.call_rows(contacts, rows, slots, pd.Timestamp("2026-06-07"),
                                           rng)
    valid = call_log.validate(frame, now=pd.Timestamp("2026-12-06", tz="UTC")).valid
    assert made.all() and len(valid) == len(frame) == slots.size  # every call accepted
    dow, hour, _, _ = dataset.local_slots(valid["called_at"], valid["timezone"].to_numpy())
    assert np.array_equal(dow * HOURS + hour, slots.ravel())  # at the slot, in its own zone
    assert np.array_equal(valid["answered"].to_numpy(), answered)
    assert window_mask(DEFAULT_WINDOW).ravel()[slots].all()


def test_a_local_time_a_clock_change_skips_is_not_called() -> None:
    # Sunday 2026-03-29 01:00-02:00 does not exist in London (clocks go forward at 01:00 GMT).
    contacts = _contacts(3)
    contacts.zones[:] = "Europe/London"
    slots = np.array([[SUNDAY * HOURS + 0], [SUNDAY * HOURS + 1], [SUNDAY * HOURS + 2]])
    frame, answered, made = loop.call_rows(contacts, np.arange(3), slots,
                                           pd.Timestamp("2026-03-29"), np.random.default_rng(0))
    assert made.tolist() == [True, False, True] and len(frame) == 2
    assert not answered[1]
    dow, hour, _, _ = dataset.local_slots(frame["called_at"], frame["timezone"].to_numpy())
    assert (hour.tolist(), dow.tolist()) == ([0, 2], [SUNDAY, SUNDAY])


def test_greedy_choice_is_the_served_ranking() -> None:
    contacts = _contacts(12)
    model = _two_archetypes()
    params = FeatureParams(0.3, archetypes=model.to_dict())
    picks = loop.choose("greedy", contacts, model, np.arange(12), 1, np.random.default_rng(0))
    for c in range(12):
        zone = ZoneInfo(contacts.zones[c])
        history = []
        for slot in np.flatnonzero(contacts.calls[c]):
            # A call on a day of that week at that local hour, as the endpoint would be sent it.
            local = pd.Timestamp("2026-05-03") + pd.Timedelta(days=int(slot // HOURS),
                                                               hours=int(slot % HOURS))
            epoch = local.tz_localize(zone.key).timestamp()
            dow, hour, day = localize(epoch, zone)
            history.append(LocalCall(epoch, dow, hour, day, bool(contacts.answers[c, slot])))
        served = rank(params, history, zone, 2e9, window_mask(DEFAULT_WINDOW))
        assert picks[c, 0] == served.dow[0] * HOURS + served.hour[0]


def test_exploring_draws_archetypes_in_proportion_to_the_posterior() -> None:
    contacts = _contacts(1)
    contacts.calls[:], contacts.answers[:] = 0, 0  # no calls: the prior's half and half
    model = _two_archetypes()
    rows = np.zeros(4000, dtype=np.int64)
    picks = loop.choose("explore", contacts, model, rows, 1, np.random.default_rng(3))[:, 0]
    evening = np.mean(picks == MONDAY * HOURS + 19)
    assert np.mean(picks == SUNDAY * HOURS + 10) + evening == 1.0
    assert 0.45 < evening < 0.55
    # Two calls a week go to two different slots, exploring or not.
    twice = loop.choose("explore", contacts, model, rows[:200], 2, np.random.default_rng(4))
    assert (twice[:, 0] != twice[:, 1]).all()
    # Greedy always calls the better of the two curves' mix.
    greedy = loop.choose("greedy", contacts, model, rows[:10], 1, np.random.default_rng(3))
    assert (greedy[:, 0] == MONDAY * HOURS + 19).all()
