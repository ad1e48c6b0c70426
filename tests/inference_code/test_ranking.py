"""Slots are ranked best first; equal probabilities go to the earlier day of the week (Sunday
first), then the earlier hour, whatever order the features come in."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np

from inference_code.features import DAY_NAMES, FeatureParams
from inference_code.ranking import DEFAULT_WINDOW, rank, window_mask

AS_OF = 1_780_000_000.0  # a Wednesday in 2026


class _Scored:
    """A model scoring a slot by its (day of week, hour) features only: what the order of
    equal scores is decided by is then the ranking's own rule."""

    def __init__(self, best: dict[tuple[int, int], float] | None = None,
                 noise: float = 0.0) -> None:
        self.best, self.noise = best or {}, noise

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(1)
        base = np.array([self.best.get((int(d), int(h)), 0.5) for d, h in X[:, :2]])
        return base + self.noise * rng.uniform(-1, 1, len(base))


def _order(model: _Scored) -> list[tuple[str, int]]:
    ranked = rank(model, FeatureParams(0.3), [], ZoneInfo("Asia/Jerusalem"), AS_OF,
                  window_mask(DEFAULT_WINDOW))
    return [(s["day"], s["hour"]) for s in ranked.top(200)]


def test_equal_probabilities_go_to_the_earlier_day_then_the_earlier_hour() -> None:
    order = _order(_Scored())
    expected = [(day, hour) for day in DAY_NAMES if day in DEFAULT_WINDOW
                for hour in range(*DEFAULT_WINDOW[day])]
    assert order == expected  # sunday 9, sunday 10, ... friday 13
    # Float noise far below the 9 decimals the ranking rounds to does not reorder them.
    assert _order(_Scored(noise=1e-12)) == expected


def test_a_better_slot_comes_first_and_ties_behind_it_keep_the_rule() -> None:
    tuesday_15 = (DAY_NAMES.index("tuesday"), 15)
    monday_20 = (DAY_NAMES.index("monday"), 20)
    order = _order(_Scored({tuesday_15: 0.9, monday_20: 0.9}))
    assert order[:3] == [("monday", 20), ("tuesday", 15), ("sunday", 9)]
