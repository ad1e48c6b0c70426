"""Turn a validated call log into the training matrix, leakage-free and vectorized.

Rows are sorted by contact and time; each row's profile counts are exclusive cumulative sums
within its contact, so a call's features see only the calls before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from inference_code.archetypes import N_CELLS, Archetypes, zone_cells
from inference_code.features import (
    DAYS,
    HOURS,
    FeatureParams,
    ProfileCounts,
    archetype_features,
    assemble,
)
from inference_code.week_days import WEEK
from training import archetype_fit

FOLDS = 2
_FOLD_KEY = "calltime-folds01"  # 16 bytes: a contact hash independent of the bucket's


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

    def fit_params(self, start: FeatureParams | None = None) -> FeatureParams:
        """Fit the global rate and the archetypes on every row (refit from `start`'s)."""
        return fit_params(self.contact_code, self.dow, self.hour, self.timezone, self.y, start)


def local_slots(utc: pd.DatetimeIndex | pd.Series, zones: np.ndarray,
                coded: tuple[np.ndarray, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Day of week (Sunday = 0), hour, local day number and UTC offset in hours of UTC instants
    in each row's zone: each zone's rules applied once to its rows, the rest integer
    arithmetic on local wall-clock nanoseconds. `coded`: the zones as (codes, names) already
    (a dictionary column's), so they are not hashed again."""
    utc = pd.DatetimeIndex(utc)
    instants = utc.as_unit("ns").asi8
    wall = np.empty(len(utc), dtype=np.int64)
    codes, names = coded if coded is not None else pd.factorize(np.asarray(zones, dtype=object))
    order = np.argsort(codes, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(names)))]
    for i, zone in enumerate(names):
        if bounds[i] == bounds[i + 1]:  # a name no row has (a dictionary's, of rejected rows)
            continue
        rows = order[bounds[i]:bounds[i + 1]]
        wall[rows] = utc[rows].tz_convert(zone).tz_localize(None).as_unit("ns").asi8
    seconds = wall // 10**9
    day = seconds // 86_400
    dow = (day + 4) % 7  # 1970-01-01 was a Thursday; Sunday = 0
    hour = seconds // 3_600 % 24
    offset = (wall - instants) / 3.6e12
    return dow, hour, day, offset


def fit_params(contact_code: np.ndarray, dow: np.ndarray, hour: np.ndarray, zones: np.ndarray,
               answered: np.ndarray, start: FeatureParams | None = None) -> FeatureParams:
    """Global answer rate, and the weekly archetypes fitted on contacts' counts (refit from
    `start`'s, keeping their number and its selection record, when given)."""
    calls, answers, contact_zones = contact_cell_counts(contact_code, dow, hour, zones, answered)
    return params_from_counts(calls, answers, contact_zones, float(np.mean(answered)), start)


def params_from_counts(calls: np.ndarray, answers: np.ndarray, zones: np.ndarray, rate: float,
                       start: FeatureParams | None = None) -> FeatureParams:
    """FeatureParams from contacts' (C, N_CELLS) counts in contact-id order and their zones."""
    if start is not None and start.archetypes:
        selection = start.archetypes.get("selection", {})
        archetypes = archetype_fit.refit(calls, answers, zones, start.archetype_model,
                                         archetype_fit.ArchetypeSettings(
                                             hour_sigma=archetype_fit.chosen_hour_sigma(selection)))
    else:
        archetypes, chosen = archetype_fit.fit(calls, answers, zones)
        selection = chosen.to_dict()
    return FeatureParams(global_answer_rate=rate,
                         archetypes={**archetypes.to_dict(), "selection": selection})


def contact_cell_counts(contact_code: np.ndarray, dow: np.ndarray, hour: np.ndarray,
                        zones: np.ndarray, answered: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each contact's calls and answers per weekly cell, (C, N_CELLS) each, and its zone (C,),
    contacts in code order (a contact's zone is that of its last call)."""
    _, contact = np.unique(contact_code, return_inverse=True)
    return dense_cell_counts(contact, dow, hour, zones, answered)


def dense_cell_counts(contact: np.ndarray, dow: np.ndarray, hour: np.ndarray,
                      zones: np.ndarray, answered: np.ndarray, cells: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`contact_cell_counts` of contacts coded 0..C-1 already, every code present; the cells
    in each row's zone's week (`week_days.WEEK`, which the fitted archetypes ship), or the
    rows' `cells` when the caller has them already."""
    if cells is None:
        cells = zone_cells(WEEK, pd.factorize(zones), dow, hour)
    flat = contact * N_CELLS + cells
    size = (contact.max() + 1) * N_CELLS if len(contact) else 0
    calls = np.bincount(flat, minlength=size).reshape(-1, N_CELLS).astype(np.float64)
    answers = np.bincount(flat, weights=np.asarray(answered, dtype=np.float64),
                          minlength=size).reshape(-1, N_CELLS)
    contact_zones = np.empty(len(calls), dtype=object)
    contact_zones[contact] = zones
    return calls, answers, contact_zones


def contact_fold(contact_ids: np.ndarray) -> np.ndarray:
    """Each contact's cross-fitting fold in [0, FOLDS): a keyed hash of its id, the same in
    every process, run and path (single function or scale-out)."""
    ids = np.asarray(contact_ids, dtype=object)
    return (pd.util.hash_array(ids, hash_key=_FOLD_KEY, categorize=False)
            % np.uint64(FOLDS)).astype(np.int64)


def fold_params(contact_code: np.ndarray, contact_id: np.ndarray, dow: np.ndarray,
                hour: np.ndarray, zones: np.ndarray, answered: np.ndarray,
                params: FeatureParams) -> tuple[FeatureParams, ...]:
    """For each fold, the archetypes refit without that fold's contacts (as many as `params`
    chose, started from its curves): what a row of that fold is featurized with in training, so
    its own outcome never shaped the curve it is described by."""
    fold = contact_fold(contact_id)
    out = []
    for f in range(FOLDS):
        rows = fold != f
        calls, answers, contact_zones = contact_cell_counts(contact_code[rows], dow[rows],
                                                            hour[rows], zones[rows],
                                                            answered[rows])
        out.append(params_from_counts(calls, answers, contact_zones, params.global_answer_rate,
                                      start=params))
    return tuple(out)


def row_posterior(archetypes: Archetypes, zones: np.ndarray, cells: np.ndarray,
                  answered: np.ndarray, group_start: np.ndarray) -> np.ndarray:
    """(N, K) each row's archetype posterior, rows sorted by contact then time: the log prior of
    the row's zone plus the log-likelihood of the contact's calls before it (an exclusive
    cumulative sum), as `features.contact_posterior` computes it from a history."""
    evidence = archetypes.call_evidence(cells, answered)
    # A running sum restarted at every contact: each contact's first row cancels the previous
    # contact's total, so the sum stays the size of one contact's evidence (a sum over the
    # whole log minus its value at the contact's start would lose digits to cancellation, and
    # differ with the batch: the scale-out path's buckets must give the same values).
    starts = np.flatnonzero(group_start == np.arange(len(group_start)))
    earlier = evidence.copy()
    if len(starts) > 1:
        earlier[starts[1:]] -= np.add.reduceat(evidence, starts, axis=0)[:-1]
    np.cumsum(earlier, axis=0, out=earlier)
    earlier -= evidence
    del evidence
    codes, unique = pd.factorize(zones)
    earlier += archetypes.log_prior(list(unique))[codes]
    return Archetypes.posterior(earlier, in_place=True)


def curve_features(params: FeatureParams, rows: np.ndarray, zones: np.ndarray,
                   dow: np.ndarray, hour: np.ndarray, answered: np.ndarray,
                   group_start: np.ndarray) -> np.ndarray:
    """`archetype_features` of the given rows (whole contacts, sorted by contact then time)."""
    archetypes = params.archetype_model
    cells = archetypes.row_cells(pd.factorize(zones[rows]), dow[rows], hour[rows])
    posterior = row_posterior(archetypes, zones[rows], cells,
                              answered[rows], np.searchsorted(rows, group_start[rows]))
    return archetype_features(posterior, cells, archetypes)


def weekly_curve(params: FeatureParams, folds: tuple[FeatureParams, ...] | None,
                 fit_before: float | None, contact: np.ndarray, contact_code: np.ndarray,
                 epoch: np.ndarray, zones: np.ndarray, dow: np.ndarray, hour: np.ndarray,
                 answered: np.ndarray, group_start: np.ndarray) -> np.ndarray:
    """(N, 3) `archetype_features` of every row. With `folds`, a training row (before
    `fit_before`) is described by the archetypes fitted without its contact's fold, a later row
    by `params` (fitted on every contact's earlier calls, as at serving)."""
    n = len(epoch)
    every = np.arange(n)
    if folds is None:
        return curve_features(params, every, zones, dow, hour, answered, group_start)
    if fit_before is None:
        raise ValueError("cross-fitted folds need fit_before (which rows are training rows)")
    curve = np.empty((n, 3))
    first = group_start == every
    fold = contact_fold(contact[first])[np.cumsum(first) - 1]
    training = epoch < fit_before
    for f, fold_params_ in enumerate(folds):
        rows = np.flatnonzero(fold == f)  # whole contacts: the posterior needs earlier calls
        values = curve_features(fold_params_, rows, zones, dow, hour, answered, group_start)
        curve[rows[training[rows]]] = values[training[rows]]
    has_later = np.zeros(int(contact_code.max()) + 1 if n else 0, dtype=bool)
    has_later[contact_code[~training]] = True
    rows = np.flatnonzero(has_later[contact_code])
    values = curve_features(params, rows, zones, dow, hour, answered, group_start)
    curve[rows[~training[rows]]] = values[~training[rows]]
    return curve


def _exclusive_group_cumsum(values: np.ndarray, group_start: np.ndarray) -> np.ndarray:
    """Per-row sum of the earlier rows of the same group (rows sorted so groups are contiguous)."""
    total = np.cumsum(values, axis=0, dtype=np.int32)
    exclusive = total - values
    return exclusive - exclusive[group_start]


def build(valid: pd.DataFrame, params: FeatureParams | None = None,
          fit_before: float | None = None,
          folds: tuple[FeatureParams, ...] | None = None) -> TrainingSet:
    """Features and labels for every valid call.

    `params` default to ones fitted on the calls before `fit_before` (epoch seconds; default:
    all calls), so a temporal evaluation can keep its test period out of them. With
    `fit_before`, the rows before it are described by cross-fitted archetypes (`folds`, fitted
    here when `params` are: see `weekly_curve`), so the forest never learns from a curve its own
    row's outcome helped fit; without, every row by `params`' (scoring a model, tests).
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
        params = fit_params(contact_code[fit_rows], dow[fit_rows], hour[fit_rows],
                            zones[fit_rows], answered[fit_rows])
        if fit_before is not None and folds is None:
            folds = fold_params(contact_code[fit_rows], contact[fit_rows], dow[fit_rows],
                                hour[fit_rows], zones[fit_rows], answered[fit_rows], params)
    curve = weekly_curve(params, folds, fit_before, contact, contact_code, epoch, zones, dow,
                         hour, answered, group_start)
    X = assemble(dow, hour, offset, counts, params, curve)
    return TrainingSet(X=X, y=answered, contact_id=contact, contact_code=contact_code,
                       epoch=epoch, dow=dow, hour=hour, day=day, timezone=zones,
                       utc_offset=offset, counts=counts, params=params)
