"""Turn a validated call log into the training matrix, leakage-free and vectorized.

Rows are sorted by contact and time; each row's profile counts are exclusive cumulative sums
within its contact, so a call's features see only the calls before it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from inference_code.features import (
    DAYS,
    HOURS,
    FeatureParams,
    ProfileCounts,
    archetype_posterior,
    assemble,
)

N_ARCHETYPES = 8


@dataclass
class TrainingSet:
    X: np.ndarray  # (N, N_FEATURES)
    y: np.ndarray  # (N,) 0/1
    contact_id: np.ndarray  # (N,) object
    contact_code: np.ndarray  # (N,) int64, increasing with contact_id (rows are sorted by it)
    epoch: np.ndarray  # (N,) seconds since the epoch, UTC
    dow: np.ndarray
    hour: np.ndarray
    day: np.ndarray  # local date as days since 1970-01-01
    timezone: np.ndarray
    utc_offset: np.ndarray
    counts: ProfileCounts
    params: FeatureParams

    def with_params(self, params: FeatureParams) -> TrainingSet:
        """The same rows with features recomputed under other fitted parameters."""
        X = assemble(self.dow, self.hour, self.utc_offset, self.counts, params)
        return replace(self, X=X, params=params)

    def fit_params(self, rows: np.ndarray | None = None, random_state: int = 0) -> FeatureParams:
        """Fit the global rate and the archetypes on `rows` (default: all rows)."""
        rows = np.arange(len(self.y)) if rows is None else rows
        return fit_params(self.contact_code[rows], self.hour[rows], self.y[rows], random_state)


def local_slots(utc: pd.DatetimeIndex | pd.Series,
                zones: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Day of week (Sunday = 0), hour, local day number and UTC offset in hours of UTC instants
    in each row's zone."""
    utc = pd.DatetimeIndex(utc)
    dow = np.zeros(len(utc), dtype=np.int64)
    hour = np.zeros(len(utc), dtype=np.int64)
    day = np.zeros(len(utc), dtype=np.int64)
    offset = np.zeros(len(utc), dtype=np.float64)
    for zone in pd.unique(zones):
        mask = zones == zone
        local = utc[mask].tz_convert(zone)
        dow[mask] = (local.day_of_week.to_numpy() + 1) % 7
        hour[mask] = local.hour.to_numpy()
        naive = local.tz_localize(None)
        day[mask] = (naive - pd.Timestamp("1970-01-01")).days.to_numpy()
        offset[mask] = (naive - utc[mask].tz_localize(None)).total_seconds().to_numpy() / 3600
    return dow, hour, day, offset


def fit_params(contact_code: np.ndarray, hour: np.ndarray, answered: np.ndarray,
               random_state: int = 0, n_archetypes: int = N_ARCHETYPES,
               iterations: int = 50) -> FeatureParams:
    """Global answer rate, and answer-by-hour archetypes fitted by EM on contacts' counts."""
    calls, answers = contact_hour_counts(contact_code, hour, answered)
    return fit_archetypes(calls, answers, float(answered.mean()), random_state, n_archetypes,
                          iterations)


def contact_hour_counts(contact_code: np.ndarray, hour: np.ndarray, answered: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Each contact's calls and answers per local hour, (C, 24) each, contacts in code order."""
    _, contact = np.unique(contact_code, return_inverse=True)
    calls = np.zeros((contact.max() + 1, HOURS))
    answers = np.zeros_like(calls)
    np.add.at(calls, (contact, hour), 1)
    np.add.at(answers, (contact, hour), answered)
    return calls, answers


def fit_archetypes(calls: np.ndarray, answers: np.ndarray, rate: float, random_state: int = 0,
                   n_archetypes: int = N_ARCHETYPES, iterations: int = 50) -> FeatureParams:
    """A latent-class model: each contact belongs to one of K archetypes, each archetype has an
    answer probability per local hour; calls are Bernoulli draws. Seeded, so deterministic.
    `calls`/`answers` are contacts' counts per hour (rows in contact-id order), `rate` the
    global answer rate of the same calls."""
    rng = np.random.default_rng(random_state)
    rates = np.clip(rate * np.exp(rng.normal(0, 0.3, (n_archetypes, HOURS))), 0.01, 0.99)
    weights = np.full(n_archetypes, 1 / n_archetypes)
    for _ in range(iterations):
        posterior = archetype_posterior(calls, answers, rates, weights)
        weights = posterior.mean(axis=0) + 1e-6
        weights /= weights.sum()
        # Two pseudo-calls at the global rate keep rarely called hours sane.
        rates = np.clip((posterior.T @ answers + 2 * rate) / (posterior.T @ calls + 2),
                        1e-3, 1 - 1e-3)
    return FeatureParams(global_answer_rate=rate,
                         archetype_rates=tuple(tuple(round(float(v), 6) for v in row)
                                               for row in rates),
                         archetype_weights=tuple(round(float(v), 6) for v in weights))


def _exclusive_group_cumsum(values: np.ndarray, group_start: np.ndarray) -> np.ndarray:
    """Per-row sum of the earlier rows of the same group (rows sorted so groups are contiguous)."""
    total = np.cumsum(values, axis=0, dtype=np.int32)
    exclusive = total - values
    return exclusive - exclusive[group_start]


def build(valid: pd.DataFrame, params: FeatureParams | None = None,
          fit_before: float | None = None) -> TrainingSet:
    """Features and labels for every valid call.

    `params` default to ones fitted on the calls before `fit_before` (epoch seconds; default:
    all calls), so a temporal evaluation can keep its test period out of them.
    """
    frame = valid.sort_values(["contact_id", "called_at"], kind="stable").reset_index(drop=True)
    contact = frame["contact_id"].to_numpy()
    contact_code = pd.factorize(contact)[0].astype(np.int64)
    zones = frame["timezone"].to_numpy()
    utc = pd.DatetimeIndex(frame["called_at"])
    epoch = (utc.as_unit("s").asi8).astype(np.float64)
    dow, hour, day, offset = local_slots(utc, zones)
    answered = frame["answered"].to_numpy().astype(np.int64)

    n = len(frame)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = contact_code[1:] != contact_code[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))

    hour_onehot = np.zeros((n, HOURS), dtype=np.int32)
    hour_onehot[np.arange(n), hour] = 1
    dow_onehot = np.zeros((n, DAYS), dtype=np.int32)
    dow_onehot[np.arange(n), dow] = 1
    answered_col = answered[:, None].astype(np.int32)

    # Time since the previous call and the previous answer of the same contact.
    prev_epoch = np.concatenate([[np.nan], epoch[:-1]])
    since_call = np.where(new_group, np.nan, (epoch - prev_epoch) / 3600)
    answer_epoch = pd.Series(np.where(answered == 1, epoch, np.nan))
    last_answer = answer_epoch.groupby(group_start).shift(1).groupby(group_start).ffill()
    since_answer = (epoch - last_answer.to_numpy()) / 3600

    keys = pd.DataFrame({"c": group_start, "d": day})
    same_day = keys.groupby(["c", "d"], sort=False).cumcount().to_numpy()

    # Counts stay int32 (exact, half of float64's memory); features come out float64 as before.
    counts = ProfileCounts(
        hour_calls=_exclusive_group_cumsum(hour_onehot, group_start),
        hour_answers=_exclusive_group_cumsum(hour_onehot * answered_col, group_start),
        dow_calls=_exclusive_group_cumsum(dow_onehot, group_start),
        dow_answers=_exclusive_group_cumsum(dow_onehot * answered_col, group_start),
        hours_since_last_call=since_call,
        hours_since_last_answer=since_answer,
        same_day_attempts=same_day.astype(np.float64),
    )
    if params is None:
        fit_rows = epoch < fit_before if fit_before is not None else slice(None)
        params = fit_params(contact_code[fit_rows], hour[fit_rows], answered[fit_rows])
    X = assemble(dow, hour, offset, counts, params)
    return TrainingSet(X=X, y=answered, contact_id=contact, contact_code=contact_code,
                       epoch=epoch, dow=dow, hour=hour, day=day, timezone=zones,
                       utc_offset=offset, counts=counts, params=params)
