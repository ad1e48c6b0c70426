"""calltime's model vs the seed's RandomForest, side by side on the same generated data.

    make bench                       # or: python -m benchmarks.model_vs_seed

Prints artifact bytes, load time, time to rank one contact's in-window slots, holdout ROC AUC and
best-slot capture for both (training time, and capture by history depth and behaviour group, are
`before_after.py`'s and `quality.py`'s). Results also go to out/bench/results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import joblib
import numpy as np
import pandas as pd

from inference_code.artifact_layout import ARTIFACT_FILE
from inference_code.features import LocalCall, localize, slot_features
from inference_code.inference import model_fn
from inference_code.ranking import DEFAULT_WINDOW, rank, window_mask
from training import artifact, call_log, dataset, evaluate, model
from training.simulate import SimulationConfig, write
from training.train import train

OUT = Path("out/bench")


def _timed(fn, repeat: int) -> list[float]:
    fn()  # warm
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _history(n: int, zone: ZoneInfo, seed: int = 0) -> list[LocalCall]:
    rng = np.random.default_rng(seed)
    start = dt.datetime(2026, 3, 1, tzinfo=zone).timestamp()
    epochs = np.sort(start + rng.uniform(0, 60 * 86400, n))
    calls = []
    for epoch in epochs.tolist():
        dow, hour, day = localize(epoch, zone)
        calls.append(LocalCall(epoch, dow, hour, day, bool(rng.random() < 0.3)))
    return calls


def seed_artifact(ts: dataset.TrainingSet, train_rows: np.ndarray, directory: Path) -> Path:
    """The seed's approach: RandomForestClassifier() on 3 features, joblib-pickled, tar.gz."""
    rf = model.seed_random_forest().fit(ts.X[train_rows, :3], ts.y[train_rows])
    directory.mkdir(parents=True, exist_ok=True)
    joblib.dump(rf, directory / "model.joblib")
    tar_path = directory / ARTIFACT_FILE
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(directory / "model.joblib", arcname="model.joblib")
    return tar_path


def cold_load_ms(code: str) -> float:
    """Import + load in a fresh interpreter, as a serverless cold start does."""
    script = ("import time; t = time.perf_counter()\n"
              f"{code}\nprint((time.perf_counter() - t) * 1000)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    return float(done.stdout.strip().splitlines()[-1])


def side_by_side(data_dir: Path) -> dict:
    calls, truth_path = data_dir / "calls.csv", data_dir / "truth.csv.gz"
    truth = pd.read_csv(truth_path)
    ours = train(calls, OUT / "ours", truth=truth, version="bench")
    metrics = ours.metadata["metrics"]
    ts = dataset.build(call_log.load(calls).valid)
    cut = evaluate.temporal_cut(ts.epoch, 0.2)
    train_rows, test_rows = np.flatnonzero(ts.epoch < cut), np.flatnonzero(ts.epoch >= cut)
    started = time.perf_counter()
    seed_tar = seed_artifact(ts, train_rows, OUT / "seed")
    seed_fit_s = time.perf_counter() - started

    model_dir = artifact.extract(ours.artifact, OUT / "ours_extracted")
    seed_dir = OUT / "seed_extracted"
    with tarfile.open(seed_tar) as tar:
        tar.extractall(seed_dir, filter="data")
    ours_load = _timed(lambda: model_fn(str(model_dir)), 20)
    seed_load = _timed(lambda: joblib.load(seed_dir / "model.joblib"), 3)
    loaded = model_fn(str(model_dir))
    rf = joblib.load(seed_dir / "model.joblib")
    zone = ZoneInfo("Asia/Jerusalem")
    history = _history(50, zone)
    as_of = history[-1].epoch + 3600
    allowed = window_mask(DEFAULT_WINDOW)
    ours_rank = _timed(lambda: rank(loaded.params, history, zone, as_of, allowed), 300)

    def seed_rank() -> None:
        dow, hour, X = slot_features(history, zone, as_of, allowed, loaded.params)
        p = rf.predict_proba(X[:, :3])[:, 1]
        np.lexsort((hour, dow, -p))

    seed_rank_ms = _timed(seed_rank, 30)
    seed_auc = evaluate.classification_metrics(
        ts.y[test_rows], rf.predict_proba(ts.X[test_rows, :3])[:, 1])["roc_auc"]
    code_dir = model_dir / "code"
    ours_cold = cold_load_ms(f"import sys; sys.path.insert(0, {str(code_dir)!r})\n"
                             f"import inference; inference.model_fn({str(model_dir)!r})")
    seed_cold = cold_load_ms(f"import joblib; joblib.load({str(seed_dir / 'model.joblib')!r})")
    rec = metrics["recommendation"]
    return {
        "rows_valid": ours.metadata["data"]["rows_valid"],
        "ours": {"artifact_bytes": ours.artifact.stat().st_size,
                 "load_ms_median": statistics.median(ours_load),
                 "cold_import_and_load_ms": ours_cold,
                 "rank_one_contact_ms_p50": float(np.percentile(ours_rank, 50)),
                 "rank_one_contact_ms_p99": float(np.percentile(ours_rank, 99)),
                 "roc_auc": metrics["classification"]["roc_auc"],
                 "capture": rec["capture"]["model"]},
        "seed": {"artifact_bytes": seed_tar.stat().st_size,
                 "fit_seconds": round(seed_fit_s, 1),
                 "load_ms_median": statistics.median(seed_load),
                 "cold_import_and_load_ms": seed_cold,
                 "rank_one_contact_ms_p50": float(np.percentile(seed_rank_ms, 50)),
                 "rank_one_contact_ms_p99": float(np.percentile(seed_rank_ms, 99)),
                 "roc_auc": seed_auc,
                 "capture": rec["capture"]["seed_random_forest"]},
        "best_global_slot_capture": rec["capture"]["best_global_slot"],
        "true_rate": rec["true_rate"],
    }


def print_table(results: dict) -> None:
    ours, seed = results["side_by_side"]["ours"], results["side_by_side"]["seed"]
    rows = [
        ("artifact bytes (model.tar.gz)", f"{ours['artifact_bytes']:,}",
         f"{seed['artifact_bytes']:,}", "<= 2 MB and < 1/50 of seed"),
        ("model load, in process (median ms)", f"{ours['load_ms_median']:.1f}",
         f"{seed['load_ms_median']:.1f}", "< 100 ms"),
        ("cold: import + load, new process (ms)", f"{ours['cold_import_and_load_ms']:.0f}",
         f"{seed['cold_import_and_load_ms']:.0f}", ""),
        ("rank in-window slots, 1 contact p50 ms", f"{ours['rank_one_contact_ms_p50']:.2f}",
         f"{seed['rank_one_contact_ms_p50']:.2f}", ""),
        ("rank in-window slots, 1 contact p99 ms", f"{ours['rank_one_contact_ms_p99']:.2f}",
         f"{seed['rank_one_contact_ms_p99']:.2f}", ""),
        ("holdout ROC AUC", f"{ours['roc_auc']:.4f}", f"{seed['roc_auc']:.4f}", ""),
        ("best-slot capture", f"{ours['capture']:.3f}", f"{seed['capture']:.3f}",
         f">= 0.60, > best global slot "
         f"({results['side_by_side']['best_global_slot_capture']:.3f})"),
    ]
    print(f"\nSame data: {results['side_by_side']['rows_valid']:,} valid calls "
          "(calltime generate, 5,000 contacts, seed 7)\n")
    print(f"{'measure':42} {'calltime':>12} {'seed RF':>12}   floor")
    for name, a, b, floor in rows:
        print(f"{name:42} {a:>12} {b:>12}   {floor}")
    ratio = seed["artifact_bytes"] / ours["artifact_bytes"]
    print(f"\nartifact size ratio seed/calltime: {ratio:.0f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    data_dir = OUT / "data"
    write(SimulationConfig(n_contacts=5000, seed=7), data_dir)
    results: dict = {"side_by_side": side_by_side(data_dir)}
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


