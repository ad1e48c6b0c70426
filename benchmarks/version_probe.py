"""Measure one version of calltime's code, in its own interpreter (`benchmarks.before_after`).

    python benchmarks/version_probe.py train --code DIR --calls calls.csv --truth truth.csv.gz \
        --out DIR
    python benchmarks/version_probe.py serve --model-dir EXTRACTED_ARTIFACT --bodies bodies.json

`train`: imports `training` from DIR (a tree of any calltime commit) and times, on the log, the
features (`dataset.build`), one fit on every row (`model.fit`), and the whole `calltime train`
(validate, evaluate, fit, package, report: `training.train.train`); prints JSON.

`serve`: imports the artifact's own shipped code (`code/inference.py`, as the serving container
does) and times `model_fn`, and the handlers (input_fn -> predict_fn -> output_fn) on each
request body of the JSON file ({name: body}); prints JSON. It imports nothing else of this
repository (which would shadow the artifact's modules), and only the handler API is used, so
any version's artifact is measured the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(ordered[len(ordered) // 2], 4),
            "p99_ms": round(ordered[int(len(ordered) * 0.99)], 4)}


def train(code: Path, calls: Path, truth: Path | None, out: Path) -> dict:
    sys.path.insert(0, str(code))
    import pandas as pd

    from training import call_log, dataset, model
    from training.train import train as train_command

    assert Path(dataset.__file__).resolve().is_relative_to(code.resolve()), dataset.__file__
    valid = call_log.load(calls).valid
    started = time.perf_counter()
    ts = dataset.build(valid)
    features = time.perf_counter() - started
    started = time.perf_counter()
    model.fit(ts.X, ts.y, model.ModelSettings())
    fit = time.perf_counter() - started
    del ts
    truth_table = pd.read_csv(truth) if truth else None
    started = time.perf_counter()
    result = train_command(calls, out, truth=truth_table, version="bench")
    whole = time.perf_counter() - started
    metrics = result.metadata["metrics"]
    return {"rows": len(valid), "features_seconds": round(features, 2),
            "fit_seconds": round(fit, 2), "train_seconds": round(whole, 2),
            "ratio": round(whole / (features + fit), 2),
            "roc_auc": metrics["classification"]["roc_auc"],
            "ece": metrics["classification"]["ece"],
            "capture": metrics["recommendation"].get("capture", {}),
            "artifact": str(result.artifact), "artifact_bytes": result.artifact.stat().st_size}


def serve(model_dir: Path, bodies: dict[str, str]) -> dict:
    started = time.perf_counter()
    sys.path.insert(0, str(model_dir / "code"))
    import inference  # the artifact's own handlers

    assert Path(inference.__file__).resolve().is_relative_to(model_dir.resolve())
    model = inference.model_fn(str(model_dir))
    first_load = (time.perf_counter() - started) * 1000
    loads = []
    for _ in range(20):
        started = time.perf_counter()
        inference.model_fn(str(model_dir))
        loads.append((time.perf_counter() - started) * 1000)
    out: dict = {"import_and_load_ms": round(first_load, 1),
                 "load_ms_median": round(sorted(loads)[len(loads) // 2], 2)}
    for name, body in bodies.items():
        samples = []
        for i in range(2100):
            started = time.perf_counter()
            data = inference.input_fn(body, "application/json")
            inference.output_fn(inference.predict_fn(data, model), "application/json")
            if i >= 100:  # warm
                samples.append((time.perf_counter() - started) * 1000)
        out[name] = _percentiles(samples)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    tr = sub.add_parser("train")
    tr.add_argument("--code", type=Path, required=True)
    tr.add_argument("--calls", type=Path, required=True)
    tr.add_argument("--truth", type=Path)
    tr.add_argument("--out", type=Path, required=True)
    sv = sub.add_parser("serve")
    sv.add_argument("--model-dir", type=Path, required=True)
    sv.add_argument("--bodies", type=Path, required=True)
    args = parser.parse_args()
    result = (train(args.code, args.calls, args.truth, args.out) if args.mode == "train"
              else serve(args.model_dir, json.loads(args.bodies.read_text())))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
