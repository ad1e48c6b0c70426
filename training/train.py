"""Train end to end: validate the log, fit and evaluate on a temporal holdout, package, report."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from inference_code.artifact_layout import METADATA_FILE, MODEL_FILE
from inference_code.features import DEFAULT_TIMEZONE, FEATURE_NAMES, FeatureParams
from inference_code.forest import Forest
from inference_code.ranking import DEFAULT_WINDOW, window_mask
from training import artifact, call_log, dataset, evaluate, gate, model, report
from training.outputs import METRICS_FILE, REJECTS_FILE, REPORT_FILE


@dataclass(frozen=True)
class TrainSettings:
    default_timezone: str = DEFAULT_TIMEZONE
    min_valid_rows: int = 500
    model: model.ModelSettings = field(default_factory=model.ModelSettings)
    evaluation: evaluate.EvaluationSettings = field(default_factory=evaluate.EvaluationSettings)
    # The quality gate's tolerance, for the report's statement of its decision (the pipeline
    # passes its QUALITY_GATE_TOLERANCE).
    gate_tolerance: float = gate.DEFAULT_TOLERANCE


@dataclass
class TrainResult:
    version: str
    artifact: Path
    metrics_path: Path
    report_path: Path
    rejects_path: Path
    metadata: dict[str, Any]
    seconds: float

    def summary(self) -> dict[str, Any]:
        data, metrics = self.metadata["data"], self.metadata["metrics"]
        rec = metrics["recommendation"]
        return {"model_version": self.version, "artifact": str(self.artifact),
                "rows_valid": data["rows_valid"], "rows_rejected": data["rows_rejected"],
                "rejected_by_reason": {k: v for k, v in data["rejected_by_reason"].items() if v},
                "roc_auc": metrics["classification"]["roc_auc"],
                "capture": rec.get("capture", {}).get("model"),
                "report": str(self.report_path), "rejects": str(self.rejects_path),
                "seconds": round(self.seconds, 1)}


# Fewer unseen holdout calls than this and the live model is judged by its own recorded AUC.
MIN_UNSEEN_CALLS = 1000


def _not_comparable(live: dict[str, Any], model_dir: Path) -> str | None:
    """Why the live model (its metadata, its extracted folder) cannot be compared with a new
    one on this run's holdout, or None when it can."""
    if artifact.sha256_file(model_dir / live.get("model_file", MODEL_FILE)) != \
            live.get("model_sha256"):
        return "the live model file does not match its sha256"
    if tuple(live.get("feature_names", ())) != FEATURE_NAMES:
        return "the live model uses another feature set; not comparable"
    return None


def _live_ranking(model_dir: Path | None) -> tuple[FeatureParams | None, float | None]:
    """The live model's feature parameters (its archetypes rank its recommendations) and the
    time from which this run's calls are unseen by it; (None, None) when it cannot be compared
    (no live model, a tampered file, another feature set: `_score_live_model` says which)."""
    if model_dir is None:
        return None, None
    live = json.loads((model_dir / METADATA_FILE).read_text())
    if _not_comparable(live, model_dir) is not None:
        return None, None
    last_call = live.get("data", {}).get("last_call")
    unseen_from = pd.Timestamp(last_call).timestamp() + 1 if last_call else None
    return FeatureParams.from_dict(live["feature_params"]), unseen_from


def _score_live(model_dir: Path, valid: pd.DataFrame, cut: float,
                data_sha256: str | None = None) -> dict[str, Any]:
    """`_score_live_model`'s numbers, and whether the live model was trained on exactly this
    run's data (`same_data`: the fingerprints in both metadata agree), for the quality gate."""
    live = json.loads((model_dir / METADATA_FILE).read_text())
    recorded = live.get("metrics", {}).get("recommendation", {})
    return {**_score_live_model(live, model_dir, valid, cut),
            "same_data": bool(data_sha256) and live.get("data", {}).get("sha256") == data_sha256,
            "recommendation_on_its_holdout": report.recommendation_summary(recorded)}


def _score_live_model(live: dict[str, Any], model_dir: Path, valid: pd.DataFrame,
                      cut: float) -> dict[str, Any]:
    """The live model's holdout numbers, measured only where it is out of sample.

    The live model's archetypes were refit on every call it saw (its forest on the calls before
    its own cut), so scoring it on calls it saw would flatter it. It is scored on this run's
    holdout calls made after its own data ended; when there are too few of those (a rerun on the
    same log), the comparison falls back to the ROC AUC the live model had on its own holdout
    when it was trained: the same protocol, its own out-of-sample number (`basis` says which).
    """
    version = live.get("model_version")
    model_path = model_dir / live.get("model_file", MODEL_FILE)
    reason = _not_comparable(live, model_dir)
    if reason is not None:
        return {"model_version": version, "comparable": False, "reason": reason}
    last_call = live.get("data", {}).get("last_call")
    unseen_from = cut
    if last_call:
        unseen_from = max(cut, pd.Timestamp(last_call).timestamp() + 1)
    epochs = pd.DatetimeIndex(valid["called_at"]).as_unit("s").asi8.astype(float)
    unseen = valid["answered"].to_numpy()[epochs >= unseen_from]
    if len(unseen) >= MIN_UNSEEN_CALLS and 0 < unseen.sum() < len(unseen):
        return {"model_version": version, "basis": "holdout calls after its training data",
                "holdout_calls": len(unseen),
                **evaluate.score_baseline(valid, unseen_from, Forest.load(model_path),
                                          FeatureParams.from_dict(live["feature_params"]),
                                          live["feature_names"])}
    recorded = live.get("metrics", {}).get("classification", {}).get("roc_auc")
    if recorded is None:
        return {"model_version": version, "comparable": False,
                "reason": "the live model saw this holdout and recorded no holdout ROC AUC"}
    return {"model_version": version, "comparable": True, "roc_auc": float(recorded),
            "basis": f"its own holdout ROC AUC from training (it saw this run's holdout: its "
                     f"data ends {last_call}; only {len(unseen)} later calls here)"}


def train(calls: Path | bytes | list[tuple[str, bytes]], out_dir: Path,
          settings: TrainSettings | None = None, truth: pd.DataFrame | None = None,
          version: str | None = None, name: str | None = None,
          baseline_model_dir: Path | None = None) -> TrainResult:
    """Train from a file, its bytes, or several (name, bytes) parts of one log.

    With `baseline_model_dir` (an extracted live artifact) the live model is scored on the same
    holdout and its numbers go to metrics.json as `live_model_on_holdout`, for the quality gate.
    """
    settings = settings or TrainSettings()
    started = time.perf_counter()
    if isinstance(calls, list):
        fingerprint = call_log.log_fingerprint(call_log.part_digest(part_name, data)
                                               for part_name, data in calls)
        label = name or f"{len(calls)} call-log files"
        validation = call_log.load_parts(calls, settings.default_timezone)
    else:
        raw = calls if isinstance(calls, bytes) else Path(calls).read_bytes()
        fingerprint = hashlib.sha256(raw).hexdigest()
        label = name or (str(calls) if not isinstance(calls, bytes) else "call log")
        validation = call_log.load(raw, settings.default_timezone, label)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Rejects are written before any refusal so that nothing is lost even when training stops.
    rejects_path = out_dir / REJECTS_FILE
    validation.rejects.to_csv(rejects_path, index=False)
    call_log.check_trainable(validation, settings.min_valid_rows, label)
    data = {**validation.summary(), "sha256": fingerprint,
            "first_call": validation.valid["called_at"].min().isoformat(),
            "last_call": validation.valid["called_at"].max().isoformat(),
            "contacts": int(validation.valid["contact_id"].nunique())}
    try:
        return fit_and_package(validation.valid, data, out_dir, settings, truth, version,
                               baseline_model_dir, started=started)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
        # What validation cannot foresee of a log that still cannot make a model: refused by
        # name, its rejects already written, never a traceback from inside the fit.
        raise call_log.InvalidCallLog(
            f"{label}: no model can be fitted on its {data['rows_valid']} valid rows of "
            f"{data['contacts']} contacts ({type(err).__name__}: {err})") from err


@dataclass(frozen=True)
class GlobalParams:
    """Fitted over a whole log of which a run trains on a sample of contacts
    (training/scale_out.py): the temporal cut, and the feature parameters fitted on the calls
    before it (the forest's, and the holdout's curves), on them without each cross-fitting fold
    (the training rows' curves, `dataset.weekly_curve`) and on every call (the shipped
    archetypes)."""

    cut: float
    before_cut: FeatureParams
    folds: tuple[FeatureParams, ...]
    every_call: FeatureParams


def fit_and_package(valid: pd.DataFrame, data: dict[str, Any], out_dir: Path,
                    settings: TrainSettings, truth: pd.DataFrame | None = None,
                    version: str | None = None, baseline_model_dir: Path | None = None,
                    global_params: GlobalParams | None = None,
                    started: float | None = None) -> TrainResult:
    """Fit and evaluate on the temporal holdout, refit the archetypes on every call, package and
    report, from validated rows (rejects already written to out_dir). Without `global_params`
    they are fitted on these rows."""
    started = time.perf_counter() if started is None else started
    if global_params is None:
        called = valid["called_at"]
        epochs = pd.DatetimeIndex(called).as_unit("s").asi8.astype(float)
        cut = evaluate.temporal_cut(epochs, settings.evaluation.test_fraction)
        # Evaluation sees feature parameters fitted before the cut only, like the model itself.
        held_out = dataset.build(valid, fit_before=cut)
        every_call = None
    else:
        cut = global_params.cut
        held_out = dataset.build(valid, params=global_params.before_cut, fit_before=cut,
                                 folds=global_params.folds)
        every_call = global_params.every_call
    allowed = window_mask(DEFAULT_WINDOW)
    # One forest, fitted once: the one evaluated on the holdout is the one shipped, with the
    # feature parameters it was trained with; the archetypes (which rank recommendations) are
    # refit on every call, which is cheap, so recommendations see the latest weeks too. The
    # served archetypes and the live model's are ranked on the same holdout, for the gate.
    every_call = every_call or held_out.fit_params(start=held_out.params)
    shipped_params = replace(held_out.params, archetypes=every_call.archetypes)
    live_params, live_unseen_from = _live_ranking(baseline_model_dir)
    evaluation = evaluate.evaluate(
        held_out, settings.model, settings.evaluation, allowed, truth, cut=cut,
        comparisons=evaluate.Comparisons(shipped_params, live_params, live_unseen_from))
    final = model.export(evaluation.estimator)
    metrics = {**evaluation.metrics,
               "shipped_model": {"trees": len(final.roots), "depth": final.depth,
                                 "fit_on": "the calls before the cut (the model evaluated)",
                                 "archetypes_fit_on": "every call"}}
    if baseline_model_dir is not None:
        metrics["live_model_on_holdout"] = _score_live(baseline_model_dir, valid, cut,
                                                       data.get("sha256"))
    version = version or artifact.new_version()
    tar_path, metadata = artifact.package(final, shipped_params, metrics, data, out_dir,
                                          version)
    metrics_path = out_dir / METRICS_FILE
    metrics_path.write_text(json.dumps({"model_version": version, **metrics,
                                        "calibration": evaluation.calibration}, indent=2))
    report_path = out_dir / REPORT_FILE
    report_path.write_text(report.render(metadata, evaluation.calibration, evaluation.heatmap,
                                         settings.gate_tolerance))
    rejects_path = out_dir / REJECTS_FILE
    return TrainResult(version, tar_path, metrics_path, report_path, rejects_path, metadata,
                       time.perf_counter() - started)
