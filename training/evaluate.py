"""Evaluate a model the way the business uses it: temporal holdout, calibration, best-slot capture.

Train on the earlier calls, test on the later ones. Besides ROC AUC, log loss and Brier, each
held-out contact gets the model's top-1 slot inside the calling window (ranked by the same code
the endpoint runs) and is scored against a random in-window slot, the single best global slot,
the seed's RandomForest, and, where the true availability is known, the oracle:
capture = (rate_model - rate_random) / (rate_oracle - rate_random).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from inference_code.archetypes import Archetypes
from inference_code.features import (
    FEATURE_NAMES,
    HOURS,
    FeatureParams,
    LocalCall,
    ProfileCounts,
    archetype_features,
    assemble,
    utc_offset_hours,
)
from inference_code.forest import Forest
from inference_code.ranking import rank
from training import dataset
from training import model as model_mod
from training.dataset import TrainingSet

# "model" is what the endpoint serves (the contact's weekly answer curve, inference_code.ranking);
# "forest_ranking" ranks slots by the gradient-boosted forest instead, as earlier versions did.
STRATEGIES = ("model", "forest_ranking", "seed_random_forest", "best_global_slot")


@dataclass
class EvaluationSettings:
    """What the expensive parts of the evaluation are computed on: samples sized for the
    precision of what they report, not the whole log (the cheap parts use every row)."""

    test_fraction: float = 0.2
    # Held-out contacts scored for best-slot capture: two standard errors of about 0.02 overall,
    # 0.04-0.08 per history-depth band or behaviour group (reported beside each).
    max_contacts: int = 5000
    # The seed's RandomForest baseline (3 features) is fit on, and scored on, this many rows: its
    # holdout AUC at 50,000 training rows is within noise of a fit on all of them (0.610 and
    # 0.607 on 154,000 rows here; its AUC's standard error on 50,000 rows is about 0.003).
    seed_rf_max_rows: int = 50_000
    # Permutation importance, one shuffle per feature: which features matter, not a third
    # decimal of AUC (its standard error on 5,000 calls is about 0.005).
    importance_rows: int = 5_000
    random_state: int = 0


@dataclass(frozen=True)
class Comparisons:
    """Rankings scored on this holdout beside the evaluated model's, for the quality gate: the
    archetypes that will be served (refit on every call, so they saw the holdout) and the live
    model's (which saw the calls before `live_unseen_from`)."""

    served: dataset.FeatureParams | None = None
    live: dataset.FeatureParams | None = None
    live_unseen_from: float | None = None


# Held-out in-window calls on (or next to) a pick, fewest for each side of a replay comparison:
# fewer and the difference's noise is wider than any loss worth refusing.
MIN_REPLAY_HITS = 100
REPLAY_RESAMPLES = 400


@dataclass
class Evaluation:
    metrics: dict
    estimator: object  # the forest fitted on the calls before the cut: the one shipped
    calibration: list[dict] = field(default_factory=list)
    heatmap: list[list[float | None]] = field(default_factory=list)


def temporal_cut(epoch: np.ndarray, test_fraction: float) -> float:
    return float(np.quantile(epoch, 1 - test_fraction))


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return {"roc_auc": round(float(roc_auc_score(y, p)), 4),
            "log_loss": round(float(log_loss(y, p)), 4),
            "brier": round(float(brier_score_loss(y, p)), 4)}


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> tuple[list[dict], float]:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        predicted, observed = float(p[mask].mean()), float(y[mask].mean())
        ece += mask.mean() * abs(predicted - observed)
        table.append({"low": round(edges[b], 2), "high": round(edges[b + 1], 2),
                      "mean_predicted": round(predicted, 4), "observed": round(observed, 4),
                      "count": int(mask.sum())})
    return table, round(float(ece), 4)


def answer_rate_heatmap(ts: TrainingSet, rows: np.ndarray) -> list[list[float | None]]:
    """Observed answer rate by local day of week x hour (None where nothing was called)."""
    slot = ts.dow[rows] * HOURS + ts.hour[rows]
    calls = np.bincount(slot, minlength=7 * HOURS)
    answers = np.bincount(slot, weights=ts.y[rows], minlength=7 * HOURS)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = answers / calls
    return [[None if calls[d * HOURS + h] == 0 else round(float(rate[d * HOURS + h]), 4)
             for h in range(HOURS)] for d in range(7)]


def _best_global_slot(ts: TrainingSet, rows: np.ndarray, allowed: np.ndarray) -> int:
    slot = ts.dow[rows] * HOURS + ts.hour[rows]
    calls = np.bincount(slot, minlength=7 * HOURS)
    answers = np.bincount(slot, weights=ts.y[rows], minlength=7 * HOURS)
    rate = (answers + 10 * ts.y[rows].mean()) / (calls + 10)  # shrink thinly observed slots
    rate[~allowed.ravel()] = -1
    return int(np.argmax(rate))


def evaluate(ts: TrainingSet, model_settings: model_mod.ModelSettings,
             settings: EvaluationSettings, allowed: np.ndarray,
             truth: pd.DataFrame | None = None, cut: float | None = None,
             comparisons: Comparisons | None = None) -> Evaluation:
    """Fit on the earlier calls and measure on the later ones; that fitted forest is the one
    shipped (`Evaluation.estimator`), so every number here is the shipped model's. `cut`
    defaults to the quantile of these calls' times; a run that sees a sample of a larger log
    passes the whole log's."""
    cut = temporal_cut(ts.epoch, settings.test_fraction) if cut is None else cut
    train, test = ts.epoch < cut, ts.epoch >= cut
    if train.sum() == 0 or test.sum() == 0 or len(np.unique(ts.y[train])) < 2:
        raise ValueError("the temporal split left a side without both classes")
    estimator = model_mod.fit(ts.X[train], ts.y[train], model_settings)
    y_test = ts.y[test]
    # scikit-learn's predictor (compiled, threaded) equals the exported forest's
    # (tests/inference_code/test_forest.py) and is many times faster on a whole holdout.
    p_test = estimator.predict_proba(ts.X[test])[:, 1]
    calibration, ece = calibration_table(y_test, p_test)

    rng = np.random.default_rng(settings.random_state)
    train_idx = np.flatnonzero(train)
    seed_rows = train_idx if len(train_idx) <= settings.seed_rf_max_rows else np.sort(
        rng.choice(train_idx, settings.seed_rf_max_rows, replace=False))
    seed_rf = model_mod.seed_random_forest(settings.random_state).fit(ts.X[seed_rows, :3],
                                                                      ts.y[seed_rows])
    test_idx = np.flatnonzero(test)
    seed_test = test_idx if len(test_idx) <= settings.seed_rf_max_rows else np.sort(
        rng.choice(test_idx, settings.seed_rf_max_rows, replace=False))
    p_seed = seed_rf.predict_proba(ts.X[seed_test, :3])[:, 1]

    imp_rows = test_idx if len(test_idx) <= settings.importance_rows else rng.choice(
        test_idx, settings.importance_rows, replace=False)
    importance = permutation_importance(estimator, ts.X[imp_rows], ts.y[imp_rows],
                                        scoring="roc_auc", n_repeats=1,
                                        random_state=settings.random_state)
    importances = {name: round(float(v), 5)
                   for name, v in zip(FEATURE_NAMES, importance.importances_mean, strict=True)}

    recommendation = _recommendation_metrics(ts, estimator, seed_rf, cut, allowed, settings,
                                             truth, comparisons or Comparisons())
    metrics = {
        "split": {"cut": pd.Timestamp(cut, unit="s", tz="UTC").floor("s").isoformat(),
                  "train_rows": int(train.sum()), "test_rows": int(test.sum()),
                  "test_answer_rate": round(float(y_test.mean()), 4)},
        "classification": {**classification_metrics(y_test, p_test), "ece": ece},
        "seed_random_forest": {**classification_metrics(ts.y[seed_test], p_seed),
                               "fit_rows": len(seed_rows), "test_rows": len(seed_test)},
        "recommendation": recommendation,
        "feature_importance": dict(sorted(importances.items(), key=lambda kv: -kv[1])),
        "importance_rows": len(imp_rows),
    }
    heatmap = answer_rate_heatmap(ts, np.arange(len(ts.y)))
    return Evaluation(metrics=metrics, estimator=estimator, calibration=calibration,
                      heatmap=heatmap)


def score_baseline(valid: pd.DataFrame, cut: float, forest: Forest, params: FeatureParams,
                   feature_names: list[str]) -> dict[str, object]:
    """The live model's quality on THIS run's holdout (same later calls), for the quality gate.

    Its features are recomputed with its own fitted parameters. A model built on another
    feature set cannot be scored on these features: that is reported, not guessed.
    """
    if tuple(feature_names) != FEATURE_NAMES or forest.n_features != len(FEATURE_NAMES):
        return {"comparable": False,
                "reason": "the live model uses another feature set; not comparable"}
    ts = dataset.build(valid, params=params)
    test = ts.epoch >= cut
    return {"comparable": True, **classification_metrics(ts.y[test],
                                                         forest.predict_proba(ts.X[test]))}


def slot_features_as_of(ts: TrainingSet, codes: np.ndarray, as_of: float, allowed: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`features.slot_features` for many contacts at once: (dow, hour) of the allowed slots and
    the (contacts x slots, N_FEATURES) matrix, contacts in `codes` order, each scored from its
    rows before `as_of` (tests check it equals slot_features contact by contact)."""
    dow, hour = np.nonzero(allowed)
    rows = np.flatnonzero(np.isin(ts.contact_code, codes) & (ts.epoch < as_of))
    which = np.searchsorted(codes, ts.contact_code[rows])
    n = len(codes)

    def per_contact(index: np.ndarray, size: int, weights: np.ndarray | None = None
                    ) -> np.ndarray:
        flat = which * size + index
        return np.bincount(flat, weights=weights, minlength=n * size).reshape(n, size)

    answered = ts.y[rows].astype(np.float64)
    last_call = np.full(n, -np.inf)
    np.maximum.at(last_call, which, ts.epoch[rows])
    last_answer = np.full(n, -np.inf)
    np.maximum.at(last_answer, which[answered > 0], ts.epoch[rows][answered > 0])
    with np.errstate(invalid="ignore"):
        since_call = np.where(np.isfinite(last_call), (as_of - last_call) / 3600, np.nan)
        since_answer = np.where(np.isfinite(last_answer), (as_of - last_answer) / 3600, np.nan)
    first_row = np.searchsorted(ts.contact_code, codes)
    zones = ts.timezone[first_row]
    # The contacts' zones coded once, for their offsets, their calls' cells and their slots'.
    zone_codes, zone_names = pd.factorize(zones)
    offset = np.array([utc_offset_hours(as_of, ZoneInfo(zone)) for zone in zone_names])
    slots = len(dow)

    def expand(values: np.ndarray) -> np.ndarray:
        return np.repeat(values, slots, axis=0)

    counts = ProfileCounts(
        hour_calls=expand(per_contact(ts.hour[rows], HOURS).astype(np.float64)),
        hour_answers=expand(per_contact(ts.hour[rows], HOURS, answered)),
        dow_calls=expand(per_contact(ts.dow[rows], 7).astype(np.float64)),
        dow_answers=expand(per_contact(ts.dow[rows], 7, answered)),
        hours_since_last_call=expand(since_call),
        hours_since_last_answer=expand(since_answer),
        same_day_attempts=np.zeros(n * slots))
    utc_offset = expand(offset[zone_codes])
    archetypes = ts.params.archetype_model
    # Every call read in the contact's one zone, as serving reads a request's history.
    cells = archetypes.row_cells((zone_codes[which], zone_names), ts.dow[rows], ts.hour[rows])
    log_joint = archetypes.log_prior(zones.tolist())
    np.add.at(log_joint, which, archetypes.call_evidence(cells, ts.y[rows]))
    all_dow, all_hour = np.tile(dow, n), np.tile(hour, n)
    curve = archetype_features(expand(Archetypes.posterior(log_joint)),
                               archetypes.row_cells((expand(zone_codes), zone_names), all_dow,
                                                    all_hour),
                               archetypes)
    X = assemble(all_dow, all_hour, utc_offset, counts, ts.params, curve)
    return dow, hour, X


def contact_histories(ts: TrainingSet, rows: np.ndarray) -> dict[str, list[LocalCall]]:
    """LocalCall histories per contact from the given rows (ts is sorted by contact, time)."""
    out: dict[str, list[LocalCall]] = {}
    for i in rows.tolist():
        out.setdefault(ts.contact_id[i], []).append(
            LocalCall(float(ts.epoch[i]), int(ts.dow[i]), int(ts.hour[i]), int(ts.day[i]),
                      bool(ts.y[i])))
    return out


def _ranked(params: dataset.FeatureParams, contacts: list[str],
            histories: dict[str, list[LocalCall]], zone_of: dict[str, str], cut: float,
            allowed: np.ndarray) -> list[int]:
    """Each contact's top slot (day * 24 + hour) by the endpoint's own ranking code."""
    picks = []
    for contact in contacts:
        best = rank(params, histories.get(contact, []), ZoneInfo(zone_of[contact]), cut, allowed)
        picks.append(int(best.dow[0]) * HOURS + int(best.hour[0]))
    return picks


def _recommendation_metrics(ts: TrainingSet, estimator, seed_rf, cut: float,
                            allowed: np.ndarray, settings: EvaluationSettings,
                            truth: pd.DataFrame | None, comparisons: Comparisons) -> dict:
    rng = np.random.default_rng(settings.random_state + 1)
    test = ts.epoch >= cut
    codes = np.unique(ts.contact_code[test])
    if truth is not None:
        ids = ts.contact_id[np.searchsorted(ts.contact_code, codes)]
        codes = codes[pd.Index(ids).isin(truth["contact_id"])]
    if len(codes) > settings.max_contacts:
        codes = np.sort(rng.choice(codes, settings.max_contacts, replace=False))
    chosen = np.isin(ts.contact_code, codes)
    first_row = np.searchsorted(ts.contact_code, codes)  # rows are sorted by contact
    contacts = ts.contact_id[first_row]
    histories = contact_histories(ts, np.flatnonzero(chosen & ~test))
    zone_of = dict(zip(contacts.tolist(), ts.timezone[first_row].tolist(), strict=True))
    global_slot = _best_global_slot(ts, np.flatnonzero(~test), allowed)
    global_rate = float(ts.params.global_answer_rate)

    # The served ranking, by the endpoint's own code, one contact at a time.
    served = _ranked(ts.params, contacts.tolist(), histories, zone_of, cut, allowed)
    others = {name: _ranked(params, contacts.tolist(), histories, zone_of, cut, allowed)
              for name, params in (("served", comparisons.served),
                                   ("live_model", comparisons.live)) if params is not None}
    # The forest's and the seed RF's rankings, for comparison: every contact's allowed slots
    # featurized as of the cut (what `slot_features` gives each one), scored in one batch.
    # Slots come in (dow, hour) order, so the first maximum is the ranking's tie-break too.
    dow, hour, X_all = slot_features_as_of(ts, codes, cut, allowed)
    n_slots = len(dow)
    p_model = estimator.predict_proba(X_all)[:, 1].reshape(-1, n_slots)
    p_seed = seed_rf.predict_proba(X_all[:, :3])[:, 1].reshape(-1, n_slots)
    slot_id = dow * HOURS + hour
    picks = {
        "model": served,
        "forest_ranking": slot_id[np.argmax(np.round(p_model, 9), axis=1)].tolist(),
        "seed_random_forest": slot_id[np.argmax(np.round(p_seed, 9), axis=1)].tolist(),
        "best_global_slot": [global_slot] * len(contacts),
        **others,
    }
    result: dict = {"contacts": len(contacts), "allowed_slots": int(allowed.sum()),
                    "global_answer_rate": round(global_rate, 4),
                    "ground_truth": truth is not None}
    result["replay"] = _replay(ts, codes, picks, test, allowed)
    compared = {}
    if "served" in others:
        # The served archetypes saw these calls: a loss to the evaluated ones is a defect.
        compared["served_vs_evaluated"] = {
            "basis": "every held-out call (the served archetypes were refit on them)",
            **replay_difference(ts, codes, others["served"], served, test, allowed, rng)}
    if "live_model" in others:
        unseen = test & (ts.epoch >= max(cut, comparisons.live_unseen_from or cut))
        compared["new_vs_live"] = {
            "basis": "held-out calls after the live model's data",
            **replay_difference(ts, codes, served, others["live_model"], unseen, allowed, rng)}
    if compared:
        result["comparisons"] = compared
    if truth is None:
        return result
    indexed = truth.set_index("contact_id").loc[contacts]
    table = indexed.drop(columns=["group"], errors="ignore").to_numpy(dtype=float)  # (C, 168)
    allowed_flat = allowed.ravel()
    depth = np.array([len(histories.get(c, ())) for c in contacts.tolist()])
    result.update(capture(table[:, allowed_flat].mean(axis=1), table[:, allowed_flat].max(axis=1),
                          {s: table[np.arange(len(contacts)), np.array(picks[s])]
                           for s in picks}))
    for name, (a, b) in (("served_vs_evaluated", ("served", "model")),
                         ("new_vs_live", ("model", "live_model"))):
        if name in compared:  # with ground truth, the same comparison in capture units
            compared[name].update(paired_capture(table, picks[a], picks[b], allowed.ravel()))
    result["by_history_depth"] = {
        label: capture_of(table, picks, allowed_flat, (depth >= low) & (depth <= high))
        for label, low, high in DEPTH_BANDS}
    if "group" in indexed.columns:
        groups = indexed["group"].to_numpy()
        result["by_group"] = {str(g): capture_of(table, picks, allowed_flat, groups == g)
                              for g in sorted(set(groups.tolist()))}
    return result


# Contacts by calls in the history their recommendation was made from (docs/model.md, report).
DEPTH_BANDS = (("<=5", 0, 5), ("6-15", 6, 15), ("16-30", 16, 30), (">30", 31, 10**9))


def capture(random: np.ndarray, oracle: np.ndarray, picked: dict[str, np.ndarray]) -> dict:
    """True rates and capture of each strategy's picks over contacts (arrays over contacts):
    capture = (rate - random) / (oracle - random), and the model against the best global slot
    as a paired mean difference in capture units with its noise (two standard errors)."""
    rate = {s: float(v.mean()) for s, v in picked.items()}
    rate["random"], rate["oracle"] = float(random.mean()), float(oracle.mean())
    span = rate["oracle"] - rate["random"]
    out: dict = {"true_rate": {k: round(v, 4) for k, v in rate.items()},
                 "capture": {s: round((rate[s] - rate["random"]) / span, 4) if span > 0 else None
                             for s in picked}}
    if span > 0 and "model" in picked and "best_global_slot" in picked:
        diff = (picked["model"] - picked["best_global_slot"]) / span
        noise = 2 * diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("inf")
        out["model_vs_best_global_slot"] = {"difference": round(float(diff.mean()), 4),
                                            "noise": round(float(noise), 4)}
    return out


def _on_pick(ts: TrainingSet, rows: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """Which calls (`rows`) fell on their contact's picked slot (day * 24 + hour, one per row)
    or an hour next to it, the same day: the calls a replay judges a pick by."""
    return (ts.dow[rows] == pick // HOURS) & (np.abs(ts.hour[rows] - pick % HOURS) <= 1)


def paired_capture(table: np.ndarray, a: list[int], b: list[int], allowed_flat: np.ndarray
                   ) -> dict:
    """Capture of picks `a` minus picks `b` over the same contacts, with its noise (two
    standard errors of the paired per-contact difference)."""
    random, oracle = table[:, allowed_flat].mean(axis=1), table[:, allowed_flat].max(axis=1)
    span = float(oracle.mean() - random.mean())
    rows = np.arange(len(table))
    if span <= 0 or len(table) < 2:
        return {}
    diff = (table[rows, np.array(a)] - table[rows, np.array(b)]) / span
    return {"capture_difference": round(float(diff.mean()), 4),
            "capture_noise": round(float(2 * diff.std(ddof=1) / np.sqrt(len(diff))), 4)}


def replay_difference(ts: TrainingSet, codes: np.ndarray, a: list[int], b: list[int],
                      rows_mask: np.ndarray, allowed: np.ndarray, rng: np.random.Generator
                      ) -> dict:
    """Observed answer rate of the held-out in-window calls (`rows_mask`) that fell on (or
    next to) picks `a`, minus that of those on picks `b`, and its noise: two standard errors
    from resampling contacts (a contact's calls go together). Not `measurable` when either
    side has fewer than MIN_REPLAY_HITS such calls."""
    rows = np.flatnonzero(rows_mask & np.isin(ts.contact_code, codes))
    rows = rows[allowed[ts.dow[rows], ts.hour[rows]]]
    which = np.searchsorted(codes, ts.contact_code[rows])
    answered = ts.y[rows].astype(float)

    def per_contact(picks: list[int]) -> tuple[np.ndarray, np.ndarray]:
        hit = _on_pick(ts, rows, np.array(picks)[which])
        return (np.bincount(which, weights=hit, minlength=len(codes)),
                np.bincount(which, weights=hit * answered, minlength=len(codes)))

    (calls_a, answers_a), (calls_b, answers_b) = per_contact(a), per_contact(b)
    out = {"calls": [int(calls_a.sum()), int(calls_b.sum())]}
    if min(out["calls"]) < MIN_REPLAY_HITS:
        return {**out, "measurable": False}
    difference = answers_a.sum() / calls_a.sum() - answers_b.sum() / calls_b.sum()
    # A resample as how many times each contact is drawn (multinomial), 50 resamples at a
    # time: a few MB whatever the contacts (this runs in the training functions, whose memory
    # is measured against their MemorySize).
    per_contact = np.stack([answers_a, calls_a, answers_b, calls_b], axis=1)
    equal = np.full(len(codes), 1 / len(codes))
    sums = np.concatenate([rng.multinomial(len(codes), equal, size=50) @ per_contact
                           for _ in range(REPLAY_RESAMPLES // 50)])
    with np.errstate(invalid="ignore", divide="ignore"):
        resampled = sums[:, 0] / sums[:, 1] - sums[:, 2] / sums[:, 3]
    noise = 2 * float(np.nanstd(resampled))
    return {**out, "measurable": True,
            "answer_rates": [round(float(answers_a.sum() / calls_a.sum()), 4),
                             round(float(answers_b.sum() / calls_b.sum()), 4)],
            "difference": round(float(difference), 4), "noise": round(noise, 4)}


def capture_of(table: np.ndarray, picks: dict[str, list[int]], allowed_flat: np.ndarray,
               rows: np.ndarray) -> dict:
    """`capture` over the contacts in `rows` (a boolean mask over the table's rows)."""
    if not rows.any():
        return {"contacts": 0}
    sub = table[rows]
    picked = {s: sub[np.arange(len(sub)), np.array(p)[rows]] for s, p in picks.items()}
    return {"contacts": int(rows.sum()),
            **capture(sub[:, allowed_flat].mean(axis=1), sub[:, allowed_flat].max(axis=1),
                      picked)}


def _replay(ts: TrainingSet, codes: np.ndarray, picks: dict[str, list[int]],
            test: np.ndarray, allowed: np.ndarray) -> dict:
    """Observed answer rate of held-out calls that fell on (or next to) each strategy's pick.

    Needs no ground truth; it is noisy where few held-out calls hit the picked slot.
    """
    rows = np.flatnonzero(test & np.isin(ts.contact_code, codes))
    rows = rows[allowed[ts.dow[rows], ts.hour[rows]]]
    which = np.searchsorted(codes, ts.contact_code[rows])
    out = {"in_window_calls": len(rows),
           "in_window_answer_rate": round(float(ts.y[rows].mean()), 4) if len(rows) else None}
    for strategy, pick in picks.items():
        hit = _on_pick(ts, rows, np.array(pick)[which])
        out[strategy] = {"calls": int(hit.sum()),
                         "answer_rate": round(float(ts.y[rows][hit].mean()), 4) if hit.any()
                         else None}
    return out
