"""Rank a contact's allowed calling slots by the contact's weekly answer curve.

The curve (`inference_code.archetypes`) is the posterior answer probability at every slot: the
population's weekly archetypes in the contact's zone, weighed by the contact's own calls. It
combines prior and evidence the same way at every slot, called or never called, so a contact
without telling evidence gets the population's best slots and one with evidence gets its own.
(The gradient-boosted forest answers single-call rows; ranking slots with it compared slots the
contact was called at with slots it never was on unlike features, and lost to the best global
slot on contacts like the population: see docs/model.md.)

Used by the endpoint (best-slot requests) and by evaluation, so the recommendation that is
measured is the one that is served. Imports only numpy and sibling shipped modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from inference_code.features import (
    DAY_NAMES,
    DAYS,
    HOURS,
    FeatureParams,
    LocalCall,
    contact_posterior,
    history_before,
)

# Allowed local hours [start, end) per day when a request gives no window: Sunday-Thursday
# 09:00-21:00, Friday 09:00-14:00, no calls on Saturday.
DEFAULT_WINDOW: dict[str, tuple[int, int]] = {
    "sunday": (9, 21), "monday": (9, 21), "tuesday": (9, 21), "wednesday": (9, 21),
    "thursday": (9, 21), "friday": (9, 14),
}


def window_mask(window: dict[str, tuple[int, int]]) -> np.ndarray:
    """(7, 24) boolean mask of allowed (day of week, hour) slots."""
    mask = np.zeros((DAYS, HOURS), dtype=bool)
    for day, (start, end) in window.items():
        mask[DAY_NAMES.index(day), start:end] = True
    return mask


@dataclass(frozen=True)
class RankedSlots:
    dow: np.ndarray
    hour: np.ndarray
    probability: np.ndarray

    def top(self, k: int) -> list[dict[str, object]]:
        return [{"day": DAY_NAMES[int(d)], "hour": int(h), "answer_probability": round(float(p), 4)}
                for d, h, p in zip(self.dow[:k], self.hour[:k], self.probability[:k], strict=True)]


def rank(params: FeatureParams, history: list[LocalCall], zone: ZoneInfo, as_of_epoch: float,
         allowed: np.ndarray) -> RankedSlots:
    """All allowed slots, best first; ties go to the earlier day of week, then the earlier hour.
    Only calls before `as_of` count."""
    dow, hour = np.nonzero(allowed)
    posterior = contact_posterior(history_before(history, as_of_epoch), zone, params)
    model = params.archetype_model
    probability = model.curve(posterior)[model.cells(zone.key, dow, hour)]
    return ordered(dow, hour, probability)


def ordered(dow: np.ndarray, hour: np.ndarray, probability: np.ndarray) -> RankedSlots:
    # Round before sorting so float noise cannot reorder slots scored the same.
    order = np.lexsort((hour, dow, -np.round(probability, 9)))
    return RankedSlots(dow[order], hour[order], probability[order])
