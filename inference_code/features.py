"""The model's features: one definition, used by training and shipped to the endpoint.

A row describes one call attempt (or a candidate slot) of one contact: the slot's local day and
hour, and the contact's profile built ONLY from calls made before it. Training computes the
profile counts for every row of a log at once (leakage-free cumulative sums, see
`training.dataset`); the endpoint computes them from a request's history (`counts_from_history`).
Both hand the counts to `assemble`, which is the single place a feature value is defined.

This module imports only numpy and the standard library: it runs inside the serving container.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from inference_code.archetypes import DAYTYPE_OF_DOW, N_DAYTYPES, Archetypes

HOURS = 24
DAYS = 7
N_SLOTS = DAYS * HOURS
# Sunday = 0, as JavaScript's Date.getDay() (what the campaign client uses).
DAY_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
DAY_OF_WEEK_CONVENTION = "0=Sunday .. 6=Saturday (JavaScript Date.getDay())"
DEFAULT_TIMEZONE = "Asia/Jerusalem"
# Local hour -> day part: night [0,6), morning [6,12), afternoon [12,17), evening [17,21), late.
DAYPART_OF_HOUR = np.array([0] * 6 + [1] * 6 + [2] * 5 + [3] * 4 + [4] * 3)
N_DAYPARTS = 5
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_EPOCH_DOW = 4  # 1970-01-01 was a Thursday (Sunday = 0)

FEATURE_NAMES: tuple[str, ...] = (
    # The seed model's three features come first, in the seed's order (the client's format).
    "day_of_week",
    "hour_of_day",
    "previous_answer_rate",
    # The contact profile, all from calls strictly before this one.
    "calls_before",
    "log_hours_since_last_call",
    "log_hours_since_last_answer",
    "same_day_attempts",
    "rate_same_hour",
    "calls_same_hour",
    "rate_near_hour",
    "calls_near_hour",
    "rate_same_daypart",
    "calls_same_daypart",
    "rate_same_dow",
    "calls_same_dow",
    "rate_same_daytype",
    "calls_same_daytype",
    "lift_near_hour",
    "lift_same_daypart",
    "lift_same_dow",
    "answered_hour_distance",
    "answered_hour_concentration",
    "rate_kernel_hour",
    "calls_kernel_hour",
    "lift_kernel_hour",
    "utc_offset_hours",
    # The contact's weekly answer curve (inference_code.archetypes: the population's weekly
    # archetypes weighed by the contact's earlier calls), read at this day type and hour. In
    # training, a row's curve comes from archetypes fitted without its contact's calls
    # (`training.dataset`: cross-fitted), as it will at serving for calls not yet made.
    "archetype_rate",
    "archetype_lift",
    "archetype_confidence",
)
N_FEATURES = len(FEATURE_NAMES)
SEED_FEATURES = FEATURE_NAMES[:3]

_HOUR_ANGLE = 2 * np.pi * np.arange(HOURS) / HOURS
# Gaussian weights over the circular hour distance (sigma 1.5 h): a smooth "around this hour".
_HOUR_GAP = np.abs(np.arange(HOURS)[:, None] - np.arange(HOURS)[None, :])
_KERNEL = np.exp(-(np.minimum(_HOUR_GAP, HOURS - _HOUR_GAP) ** 2) / (2 * 1.5**2))
_NEAR = np.array([[(h + d) % HOURS for d in (-1, 0, 1)] for h in range(HOURS)])
_DAYPART_MASK = DAYPART_OF_HOUR[None, :] == np.arange(N_DAYPARTS)[:, None]  # (5, 24)
_DAYTYPE_MASK = DAYTYPE_OF_DOW[None, :] == np.arange(N_DAYTYPES)[:, None]  # (4, 7)


@dataclass(frozen=True)
class FeatureParams:
    """Constants fitted on the training log and shipped in metadata.json."""

    global_answer_rate: float
    contact_prior_strength: float = 5.0  # pseudo-calls pulling a contact's rate to the global one
    cell_prior_strength: float = 1.5  # pseudo-calls pulling a slot cell's rate to the contact's
    # The weekly archetypes as stored (Archetypes.to_dict, rounded): training's features and the
    # endpoint's both read these stored values. Empty: none fitted (a curve at the global rate).
    archetypes: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"global_answer_rate": self.global_answer_rate,
                "contact_prior_strength": self.contact_prior_strength,
                "cell_prior_strength": self.cell_prior_strength,
                "archetypes": self.archetypes}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureParams:
        return cls(float(data["global_answer_rate"]), float(data["contact_prior_strength"]),
                   float(data["cell_prior_strength"]), dict(data.get("archetypes") or {}))

    @cached_property
    def archetype_model(self) -> Archetypes:
        if self.archetypes:
            return Archetypes.from_dict(self.archetypes)
        flat = np.full((1, N_DAYTYPES * HOURS), min(max(self.global_answer_rate, 1e-3), 1 - 1e-3))
        return Archetypes(flat, np.ones(1), {})


@dataclass
class ProfileCounts:
    """Per-row counts of a contact's earlier calls; arrays share the first dimension N."""

    hour_calls: np.ndarray  # (N, 24) calls per local hour
    hour_answers: np.ndarray  # (N, 24)
    dow_calls: np.ndarray  # (N, 7) calls per local day of week
    dow_answers: np.ndarray  # (N, 7)
    hours_since_last_call: np.ndarray  # (N,) NaN when there is no earlier call
    hours_since_last_answer: np.ndarray  # (N,) NaN when there is no earlier answer
    same_day_attempts: np.ndarray  # (N,) earlier calls on the same local date


def assemble(dow: np.ndarray, hour: np.ndarray, utc_offset_hours: np.ndarray,
             counts: ProfileCounts, params: FeatureParams, curve: np.ndarray) -> np.ndarray:
    """Return the (N, N_FEATURES) float64 matrix in FEATURE_NAMES order.

    `utc_offset_hours` is the contact's zone offset at the call: it lets the model learn that
    the same local hour means different things in different regions (weekends, working hours).
    `curve` (N, 3) is each row's `archetype_features`.
    """
    dow = np.asarray(dow, dtype=np.int64)
    hour = np.asarray(hour, dtype=np.int64)
    rows = np.arange(len(dow))
    hc, ha = counts.hour_calls, counts.hour_answers
    calls = hc.sum(axis=1)
    answers = ha.sum(axis=1)
    k0, k1 = params.contact_prior_strength, params.cell_prior_strength
    overall = (answers + k0 * params.global_answer_rate) / (calls + k0)

    def cell(n: np.ndarray, a: np.ndarray) -> np.ndarray:
        return (a + k1 * overall) / (n + k1)

    n_hour, a_hour = hc[rows, hour], ha[rows, hour]
    near = _NEAR[hour]
    n_near, a_near = hc[rows[:, None], near].sum(axis=1), ha[rows[:, None], near].sum(axis=1)
    part = _DAYPART_MASK[DAYPART_OF_HOUR[hour]]
    n_part, a_part = (hc * part).sum(axis=1), (ha * part).sum(axis=1)
    n_dow, a_dow = counts.dow_calls[rows, dow], counts.dow_answers[rows, dow]
    dtype_mask = _DAYTYPE_MASK[DAYTYPE_OF_DOW[dow]]
    n_type = (counts.dow_calls * dtype_mask).sum(axis=1)
    a_type = (counts.dow_answers * dtype_mask).sum(axis=1)
    r_near, r_part, r_dow = cell(n_near, a_near), cell(n_part, a_part), cell(n_dow, a_dow)

    # Where in the day this contact answers: circular mean of answered hours.
    with np.errstate(invalid="ignore", divide="ignore"):
        cx, sy = ha @ np.cos(_HOUR_ANGLE), ha @ np.sin(_HOUR_ANGLE)
        concentration = np.where(answers > 0, np.hypot(cx, sy) / answers, np.nan)
        mean_hour = (np.arctan2(sy, cx) % (2 * np.pi)) * HOURS / (2 * np.pi)
        distance = np.abs(hour - mean_hour) % HOURS
        distance = np.where(answers > 0, np.minimum(distance, HOURS - distance), np.nan)

    kernel = _KERNEL[hour]
    n_kernel, a_kernel = (hc * kernel).sum(axis=1), (ha * kernel).sum(axis=1)
    r_kernel = cell(n_kernel, a_kernel)

    out = np.empty((len(dow), N_FEATURES), dtype=np.float64)
    out[:, 0] = dow
    out[:, 1] = hour
    out[:, 2] = overall
    out[:, 3] = calls
    out[:, 4] = np.log1p(counts.hours_since_last_call)
    out[:, 5] = np.log1p(counts.hours_since_last_answer)
    out[:, 6] = counts.same_day_attempts
    out[:, 7] = cell(n_hour, a_hour)
    out[:, 8] = n_hour
    out[:, 9] = r_near
    out[:, 10] = n_near
    out[:, 11] = r_part
    out[:, 12] = n_part
    out[:, 13] = r_dow
    out[:, 14] = n_dow
    out[:, 15] = cell(n_type, a_type)
    out[:, 16] = n_type
    out[:, 17] = r_near - overall
    out[:, 18] = r_part - overall
    out[:, 19] = r_dow - overall
    out[:, 20] = distance
    out[:, 21] = concentration
    out[:, 22] = r_kernel
    out[:, 23] = n_kernel
    out[:, 24] = r_kernel - overall
    out[:, 25] = utc_offset_hours
    out[:, 26:29] = curve
    return out


def archetype_features(posterior: np.ndarray, cells: np.ndarray, archetypes: Archetypes
                       ) -> np.ndarray:
    """(N, 3): the curve at the row's cell, its lift over the curve's weekly mean, and the
    posterior's largest archetype share (how sure the contact's archetype is, whatever its
    level), from (N, K * L) posteriors over the components."""
    rates = archetypes.rates
    out = np.empty((len(posterior), 3))
    out[:, 0] = np.einsum("nk,kn->n", posterior, rates[:, cells])
    out[:, 1] = out[:, 0] - posterior @ rates.mean(axis=1)
    out[:, 2] = archetypes.shape_shares(posterior).max(axis=1)
    return out


def seed_rows_to_matrix(rows: list[list[float]], params: FeatureParams) -> np.ndarray:
    """Complete client rows `[day_of_week, hour_of_day, previous_answer_rate, ...]`.

    Missing trailing features take the values of a contact about whom nothing else is known
    but `previous_answer_rate`: no counted calls, no recency, every rate equal to it.
    """
    out = np.full((len(rows), N_FEATURES), np.nan)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    defaults = seed_defaults(out[:, 2], params)
    missing = np.isnan(out)
    out[missing] = defaults[missing]
    return out


def seed_defaults(previous_answer_rate: np.ndarray, params: FeatureParams) -> np.ndarray:
    """The documented defaults for trailing features the client did not send."""
    rate = np.where(np.isnan(previous_answer_rate), params.global_answer_rate,
                    previous_answer_rate)
    out = np.zeros((len(rate), N_FEATURES))
    out[:, 2] = rate
    for name in ("rate_same_hour", "rate_near_hour", "rate_same_daypart", "rate_same_dow",
                 "rate_same_daytype", "rate_kernel_hour"):
        out[:, FEATURE_NAMES.index(name)] = rate
    out[:, FEATURE_NAMES.index("utc_offset_hours")] = np.nan
    out[:, FEATURE_NAMES.index("archetype_rate")] = rate
    for name in ("log_hours_since_last_call", "log_hours_since_last_answer",
                 "answered_hour_distance", "answered_hour_concentration"):
        out[:, FEATURE_NAMES.index(name)] = np.nan
    return out


# --- Serving side: one contact's raw history -> counts for candidate call times. ---------------

class LocalCall(NamedTuple):
    """One call of a contact's history, in the contact's local time. A named tuple, not a
    dataclass: a request makes one per history call, and a frozen dataclass's __init__ was a
    fifth of reading a request."""

    epoch: float  # seconds since the epoch (UTC)
    dow: int
    hour: int
    day: int  # local date as days since 1970-01-01
    answered: bool


def localize(epoch: float, zone: ZoneInfo) -> tuple[int, int, int]:
    """(day of week with Sunday = 0, hour, local day number) of an instant in a zone."""
    local = dt.datetime.fromtimestamp(epoch, zone)
    day = local.toordinal() - _EPOCH_ORDINAL
    return (day + _EPOCH_DOW) % 7, local.hour, day


def counts_from_history(history: list[LocalCall], call_epochs: np.ndarray,
                        call_days: np.ndarray) -> ProfileCounts:
    """Counts for candidate calls at `call_epochs`, using only history strictly before each."""
    n = len(call_epochs)
    if not history:
        nan = np.full(n, np.nan)
        zeros24, zeros7 = np.zeros((n, HOURS)), np.zeros((n, DAYS))
        return ProfileCounts(zeros24, zeros24.copy(), zeros7, zeros7.copy(), nan, nan.copy(),
                             np.zeros(n))
    epochs = np.array([c.epoch for c in history])
    hours = np.array([c.hour for c in history])
    dows = np.array([c.dow for c in history])
    days = np.array([c.day for c in history])
    answered = np.array([c.answered for c in history], dtype=float)
    before = epochs[None, :] < np.asarray(call_epochs, dtype=float)[:, None]  # (n, H)
    hour_onehot = np.eye(HOURS)[hours]
    dow_onehot = np.eye(DAYS)[dows]
    weights = before.astype(float)
    last_call = np.where(before, epochs[None, :], -np.inf).max(axis=1)
    last_answer = np.where(before & (answered[None, :] > 0), epochs[None, :], -np.inf).max(axis=1)
    with np.errstate(invalid="ignore"):
        since_call = np.where(np.isfinite(last_call), (call_epochs - last_call) / 3600, np.nan)
        since_answer = np.where(np.isfinite(last_answer), (call_epochs - last_answer) / 3600,
                                np.nan)
    same_day = (before & (days[None, :] == np.asarray(call_days)[:, None])).sum(axis=1)
    return ProfileCounts(
        hour_calls=weights @ hour_onehot,
        hour_answers=(weights * answered) @ hour_onehot,
        dow_calls=weights @ dow_onehot,
        dow_answers=(weights * answered) @ dow_onehot,
        hours_since_last_call=since_call,
        hours_since_last_answer=since_answer,
        same_day_attempts=same_day.astype(float),
    )


def utc_offset_hours(epoch: float, zone: ZoneInfo) -> float:
    offset = dt.datetime.fromtimestamp(epoch, zone).utcoffset()
    return offset.total_seconds() / 3600 if offset is not None else 0.0


def history_before(history: list[LocalCall], as_of_epoch: float) -> list[LocalCall]:
    return [c for c in history if c.epoch < as_of_epoch]


def contact_posterior(history: list[LocalCall], zone: ZoneInfo, params: FeatureParams
                      ) -> np.ndarray:
    """(K,) P(archetype | the contact's zone and these calls)."""
    cells = params.archetype_model.cells(zone.key,
                                         np.array([c.dow for c in history], dtype=np.int64),
                                         np.array([c.hour for c in history], dtype=np.int64))
    answered = np.array([c.answered for c in history], dtype=bool)
    return params.archetype_model.contact_posterior(zone.key, cells, answered)


def slot_features(history: list[LocalCall], zone: ZoneInfo, as_of_epoch: float,
                  allowed: np.ndarray, params: FeatureParams
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dow, hour, feature matrix) for every allowed slot of one contact, in (dow, hour) order.

    Every slot is scored as a fresh call placed at `as_of`: history strictly before as_of counts,
    recency is measured to as_of and there are no same-day attempts, so slots differ only in
    their day and hour.
    """
    dow, hour = np.nonzero(allowed)
    counts = counts_from_history(history, np.full(len(dow), float(as_of_epoch)),
                                 np.full(len(dow), -1))
    offset = np.full(len(dow), utc_offset_hours(as_of_epoch, zone))
    posterior = contact_posterior(history_before(history, as_of_epoch), zone, params)
    curve = archetype_features(np.broadcast_to(posterior, (len(dow), len(posterior))),
                               params.archetype_model.cells(zone.key, dow, hour),
                               params.archetype_model)
    return dow, hour, assemble(dow, hour, offset, counts, params, curve)
