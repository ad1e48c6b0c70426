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

from inference_code.features import FEATURE_NAMES, HOURS, FeatureParams, LocalCall, slot_features
from inference_code.forest import Forest
from training import dataset
from training import model as model_mod
from training.dataset import TrainingSet

STRATEGIES = ("model", "seed_random_forest", "best_global_slot")


@dataclass
class EvaluationSettings:
    test_fraction: float = 0.2
    max_contacts: int = 5000  # held-out contacts scored for best-slot capture
    seed_rf_max_rows: int = 200_000  # the seed RF is fit on at most this many training rows
    importance_rows: int = 10_000
    random_state: int = 0


@dataclass
class Evaluation:
    metrics: dict
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
             truth: pd.DataFrame | None = None, cut: float | None = None) -> Evaluation:
    """Fit on the earlier calls and measure on the later ones (the artifact is refit on all
    calls by the caller). `cut` defaults to the quantile of these calls' times; a run that sees
    a sample of a larger log passes the whole log's."""
    cut = temporal_cut(ts.epoch, settings.test_fraction) if cut is None else cut
    train, test = ts.epoch < cut, ts.epoch >= cut
    if train.sum() == 0 or test.sum() == 0 or len(np.unique(ts.y[train])) < 2:
        raise ValueError("the temporal split left a side without both classes")
    estimator = model_mod.fit(ts.X[train], ts.y[train], model_settings)
    forest = model_mod.export(estimator)
    y_test = ts.y[test]
    p_test = forest.predict_proba(ts.X[test])
    calibration, ece = calibration_table(y_test, p_test)

    rng = np.random.default_rng(settings.random_state)
    train_idx = np.flatnonzero(train)
    seed_rows = train_idx if len(train_idx) <= settings.seed_rf_max_rows else np.sort(
        rng.choice(train_idx, settings.seed_rf_max_rows, replace=False))
    seed_rf = model_mod.seed_random_forest(settings.random_state).fit(ts.X[seed_rows, :3],
                                                                      ts.y[seed_rows])
    p_seed = seed_rf.predict_proba(ts.X[test, :3])[:, 1]

    test_idx = np.flatnonzero(test)
    imp_rows = test_idx if len(test_idx) <= settings.importance_rows else rng.choice(
        test_idx, settings.importance_rows, replace=False)
    importance = permutation_importance(estimator, ts.X[imp_rows], ts.y[imp_rows],
                                        scoring="roc_auc", n_repeats=2,
                                        random_state=settings.random_state)
    importances = {name: round(float(v), 5)
                   for name, v in zip(FEATURE_NAMES, importance.importances_mean, strict=True)}

    recommendation = _recommendation_metrics(ts, estimator, seed_rf, cut, allowed, settings,
                                             truth)
    metrics = {
        "split": {"cut": pd.Timestamp(cut, unit="s", tz="UTC").floor("s").isoformat(),
                  "train_rows": int(train.sum()), "test_rows": int(test.sum()),
                  "test_answer_rate": round(float(y_test.mean()), 4)},
        "classification": {**classification_metrics(y_test, p_test), "ece": ece},
        "seed_random_forest": classification_metrics(y_test, p_seed),
        "recommendation": recommendation,
        "feature_importance": dict(sorted(importances.items(), key=lambda kv: -kv[1])),
        "holdout_model": {"trees": len(forest.roots), "depth": forest.depth},
    }
    heatmap = answer_rate_heatmap(ts, np.arange(len(ts.y)))
    return Evaluation(metrics=metrics, calibration=calibration, heatmap=heatmap)


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


def contact_histories(ts: TrainingSet, rows: np.ndarray) -> dict[str, list[LocalCall]]:
    """LocalCall histories per contact from the given rows (ts is sorted by contact, time)."""
    out: dict[str, list[LocalCall]] = {}
    for i in rows.tolist():
        out.setdefault(ts.contact_id[i], []).append(
            LocalCall(float(ts.epoch[i]), int(ts.dow[i]), int(ts.hour[i]), int(ts.day[i]),
                      bool(ts.y[i])))
    return out


def _recommendation_metrics(ts: TrainingSet, estimator, seed_rf, cut: float,
                            allowed: np.ndarray, settings: EvaluationSettings,
                            truth: pd.DataFrame | None) -> dict:
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

    # Every contact's allowed slots, featurized as the endpoint does, then scored in batches.
    # Slots come in (dow, hour) order, so the first maximum is the endpoint's tie-break too.
    blocks = []
    for contact in contacts.tolist():
        dow, hour, X = slot_features(histories.get(contact, []), ZoneInfo(zone_of[contact]), cut,
                                     allowed, ts.params)
        blocks.append(X)
    X_all = np.concatenate(blocks)
    n_slots = len(dow)
    # scikit-learn's predictor is faster on large batches and equals the shipped forest
    # (tests/inference_code/test_forest.py); the endpoint ranks one request at a time with it.
    p_model = estimator.predict_proba(X_all)[:, 1].reshape(-1, n_slots)
    p_seed = seed_rf.predict_proba(X_all[:, :3])[:, 1].reshape(-1, n_slots)
    slot_id = dow * HOURS + hour
    picks = {
        "model": slot_id[np.argmax(np.round(p_model, 9), axis=1)].tolist(),
        "seed_random_forest": slot_id[np.argmax(np.round(p_seed, 9), axis=1)].tolist(),
        "best_global_slot": [global_slot] * len(contacts),
    }
    result: dict = {"contacts": len(contacts), "allowed_slots": int(allowed.sum()),
                    "global_answer_rate": round(global_rate, 4),
                    "ground_truth": truth is not None}
    result["replay"] = _replay(ts, codes, picks, test, allowed)
    if truth is None:
        return result
    table = truth.set_index("contact_id").loc[contacts].to_numpy(dtype=float)  # (C, 168)
    allowed_flat = allowed.ravel()
    rows = np.arange(len(contacts))
    rate = {s: float(table[rows, np.array(picks[s])].mean()) for s in STRATEGIES}
    rate["random"] = float(table[:, allowed_flat].mean())
    rate["oracle"] = float(table[:, allowed_flat].max(axis=1).mean())
    span = rate["oracle"] - rate["random"]
    result["true_rate"] = {k: round(v, 4) for k, v in rate.items()}
    result["capture"] = {s: round((rate[s] - rate["random"]) / span, 4) if span > 0 else None
                         for s in STRATEGIES}
    return result


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
        pick_arr = np.array(pick)[which]
        same_day = ts.dow[rows] == pick_arr // HOURS
        distance = np.abs(ts.hour[rows] - pick_arr % HOURS)
        hit = same_day & (distance <= 1)
        out[strategy] = {"calls": int(hit.sum()),
                         "answer_rate": round(float(ts.y[rows][hit].mean()), 4) if hit.any()
                         else None}
    return out
