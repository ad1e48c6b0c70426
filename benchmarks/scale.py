"""Training at scale: the single-function path (the baseline, issue 12) against the Distributed
Map path, through the synthesized state machine on the local runtime, on generated Parquet logs.

    make bench-scale                       # 1M and 4M rows
    make bench-scale SIZES="1M 4M 10M"     # 10M on demand (about an hour here)

Each size is one log (about 40 calls a contact, 2,500 contacts a Parquet part, as `make
pipeline` writes them) trained twice: once with the threshold above it (the Train function,
alone, under its memory, as every log trained before issue 12) and once below it (partition,
merge, count workers under Distributed Maps, then TrainOnSample). Every function runs under its
template memory and timeout, enforced as on AWS (localaws/lambda_workers.py). Printed: wall time
of the training states, invocations, the peak memory of any worker against its limit, and rows a
second per worker for each step; the figures the AWS cost and time model (benchmarks/
scale_model.py) projects from. Results: out/bench/scale_results.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from pathlib import Path
from typing import Any

from local_pipeline.pipeline import (
    LOCAL_ENVIRONMENT,
    LOCAL_INPUT,
    demo_data,
    put_data,
    synthesize,
)
from localaws.runtime import ExecutionResult, LocalAWS
from pipeline_lambdas.settings import PipelineSettings

OUT = Path("out/bench")
CALLS_PER_CONTACT = 40  # the generator's mean (100,000 contacts: 4,003,444 calls)
TRAINING_STATES = ("PlanTraining", "Train", "PartitionParts", "MergeBuckets", "GlobalCut",
                   "CountBuckets", "TrainOnSample")
# Which rows each step's workers handle: every row read, every valid row, or the sample.
STEP_ROWS = {"partition": "rows_read", "merge-bucket": "rows_valid",
             "count-bucket": "rows_valid", "global-cut": "rows_valid",
             "train-sample": "rows_trained", "train": "rows_trained"}


def parse_size(text: str) -> int:
    """'1M', '4m', '250k', '10000' -> rows; anything else is refused by name."""
    scale = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}.get(text[-1:].lower(), 1)
    try:
        rows = int(float(text.rstrip("kKmMbB")) * scale)
    except ValueError:
        rows = 0
    if rows <= 0:
        raise argparse.ArgumentTypeError(f"{text!r:.40} is not a row count such as "
                                         "1M, 250k or 10000")
    return rows


# S3 bills PUT, COPY, POST and LIST requests at one price and GET and the rest at a twelfth of
# it; DELETE is free (https://aws.amazon.com/s3/pricing/, "Requests & data retrievals").
# DeleteObjects is a POST: counted with the PUTs, to be safe.
PUT_CLASS = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart",
                       "UploadPartCopy", "CompleteMultipartUpload", "ListObjectsV2",
                       "ListObjects", "ListObjectVersions", "DeleteObjects"})
FREE = frozenset({"DeleteObject", "AbortMultipartUpload"})


def request_classes(requests: dict[str, int]) -> tuple[int, int]:
    """(PUT-class, GET-class) requests of {operation: count}."""
    puts = sum(n for op, n in requests.items() if op in PUT_CLASS)
    gets = sum(n for op, n in requests.items() if op not in PUT_CLASS | FREE)
    return puts, gets


def state_seconds(result: ExecutionResult) -> dict[str, float]:
    """Each top-level state's wall time (entered to exited), from the execution's history."""
    entered: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for event in result.events:
        if event["type"].endswith("StateEntered"):
            entered[event["stateEnteredEventDetails"]["name"]] = event["timestamp"]
        elif event["type"].endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            if name in entered:
                seconds[name] = (event["timestamp"] - entered[name]).total_seconds()
    return seconds


def _message(error: dict[str, Any]) -> str | None:
    """A failed state's error message (the Lambda error's, when its cause is one)."""
    if not error or not (error.get("Cause") or error.get("Error")):
        return None
    try:
        return json.loads(error.get("Cause") or "")["errorMessage"]
    except (ValueError, KeyError, TypeError):
        return error.get("Cause") or error.get("Error")


def run_path(out: Path, calls: Path, threshold: int, label: str) -> dict[str, Any]:
    """One execution of the pipeline on this log with this scale-out threshold."""
    work = out / label
    template, stack_name, region = synthesize(work, context={"scale_out_rows": str(threshold)})
    with LocalAWS(region=region, lambda_log_dir=work / "logs") as aws:
        stack, arn = aws.deploy_stack(template, stack_name, LOCAL_ENVIRONMENT)
        settings = PipelineSettings.from_env(stack.environment)
        put_data(settings.models_bucket, "data/calls" if calls.is_dir()
                 else f"data/calls/{calls.name}", calls)
        before = dict(aws.s3_requests)
        result = aws.run_execution(arn, dict(LOCAL_INPUT), timeout=4 * 3600)
        invocations = list(aws.lambdas.invocations)
        s3_requests = {op: n - before.get(op, 0) for op, n in sorted(aws.s3_requests.items())
                       if n > before.get(op, 0)}
    plan, train = result.state_value("plan"), result.state_value("train")
    error = result.state_value("error")
    rows = {key: train.get(key) for key in ("rows_read", "rows_valid", "rows_trained")}
    seconds = state_seconds(result)
    steps: dict[str, dict[str, Any]] = {}
    prefix = f"{settings.project_name}-{settings.environment}-"
    for invocation in invocations:
        step = invocation["function"].removeprefix(prefix)
        if step not in STEP_ROWS:
            continue
        entry = steps.setdefault(step, {"invocations": 0, "failed": 0, "seconds": 0.0,
                                        "cpu_seconds": 0.0, "init_cpu_seconds": 0.0,
                                        "cold_starts": 0, "peak_mb": 0,
                                        "memory_mb": invocation["memory_mb"],
                                        "s3_requests": {}})
        init = invocation.get("init_cpu_seconds") or 0.0
        entry["cpu_seconds"] += (invocation.get("cpu_seconds") or 0.0) - init
        entry["init_cpu_seconds"] += init
        entry["cold_starts"] += init > 0.01  # importing the handler: a new environment
        for call, n in invocation.get("aws_calls", {}).items():
            if call.startswith("s3."):
                operation = call.removeprefix("s3.")
                entry["s3_requests"][operation] = entry["s3_requests"].get(operation, 0) + n
        entry["invocations"] += 1
        entry["failed"] += invocation["error"] is not None
        entry["seconds"] += invocation["seconds"]
        entry["peak_mb"] = max(entry["peak_mb"], invocation["max_memory_mb"] or 0)
    for step, entry in steps.items():
        handled = rows.get(STEP_ROWS[step]) or 0
        entry["rows"] = handled
        entry["rows_per_worker_second"] = round(handled / entry["seconds"]) if entry["seconds"] \
            else None
        # A worker's own CPU, its cold start's imports (Lambda's INIT) apart: its rate on a
        # core of its own, as a Lambda environment has, however many workers shared this
        # machine's cores meanwhile.
        entry["rows_per_cpu_second"] = round(handled / entry["cpu_seconds"]) \
            if entry["cpu_seconds"] else None
        entry["gb_seconds"] = round(entry["seconds"] * entry["memory_mb"] / 1024, 1)
        entry["seconds"] = round(entry["seconds"], 1)
        entry["cpu_seconds"] = round(entry["cpu_seconds"], 1)
        entry["init_cpu_seconds"] = round(entry["init_cpu_seconds"], 1)
    return {"path": plan.get("path"), "status": result.status, "final_state": result.final_state,
            "error": _message(error),
            "files": plan.get("files"), "buckets": plan.get("bucket_count"), **rows,
            "training_seconds": round(sum(seconds.get(s, 0.0) for s in TRAINING_STATES), 1),
            "states": {s: round(seconds[s], 1) for s in TRAINING_STATES if s in seconds},
            "auc": train.get("roc_auc"),
            "s3_requests": s3_requests, "steps": steps}


def bench(sizes: list[int], out: Path, seed: int) -> list[dict[str, Any]]:
    """Each size's log (generated once, kept under out/data) through both paths."""
    results = []
    for rows in sizes:
        contacts = max(1, rows // CALLS_PER_CONTACT)
        calls = demo_data(out, contacts, seed)
        for label, threshold in (("single", 10**12), ("scale-out", 1)):
            print(f"-- {rows:,} rows ({contacts:,} contacts): {label} path", flush=True)
            result = run_path(out / "runs" / f"{rows}", calls, threshold, label)
            results.append({"size": rows, "contacts": contacts, "run": label, **result})
            print(json.dumps(results[-1]), flush=True)
    return results


def _cell(run: dict[str, Any]) -> str:
    if run["status"] != "SUCCEEDED":
        return f"{run['final_state']}: {(run['error'] or '')[:90]}"
    return f"{run['training_seconds']:,.0f} s, AUC {run['auc']}"


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| rows (valid) | single function (baseline) | Distributed Map path | "
             "parts x buckets | peak worker MB / limit | S3 PUT-class / GET-class requests |",
             "|---|---|---|---|---|---|"]
    for size in sorted({r["size"] for r in results}):
        single = next(r for r in results if r["size"] == size and r["run"] == "single")
        scaled = next(r for r in results if r["size"] == size and r["run"] == "scale-out")
        peak = max(scaled["steps"].values(), key=lambda s: s["peak_mb"] / s["memory_mb"],
                   default=None)
        lines.append(
            f"| {scaled['rows_valid'] or size:,} | {_cell(single)} | {_cell(scaled)} | "
            f"{scaled['files']} x {scaled['buckets']} | "
            + (f"{peak['peak_mb']:,} / {peak['memory_mb']:,} |" if peak else "- |")
            + " {:,} / {:,} |".format(*request_classes(scaled.get("s3_requests", {}))))
    lines += ["", "| rows | step | invocations (failed) | rows / worker CPU-second | "
              "rows / worker-second (wall, cores shared) | worker CPU s / wall s | "
              "cold starts (their imports' CPU s) | GB-seconds | peak MB / limit | "
              "S3 PUT-class / GET-class |", "|---|---|---|---|---|---|---|---|---|---|"]
    for run in results:
        for step, s in run["steps"].items():
            puts, gets = request_classes(s.get("s3_requests", {}))
            lines.append(f"| {run['size']:,} ({run['run']}) | {step} | {s['invocations']} "
                         f"({s['failed']}) | {s.get('rows_per_cpu_second') or 0:,} | "
                         f"{s['rows_per_worker_second'] or 0:,} | "
                         f"{s.get('cpu_seconds', 0):,} / {s['seconds']:,} | "
                         f"{s.get('cold_starts', 0)} ({s.get('init_cpu_seconds', 0):,}) | "
                         f"{s.get('gb_seconds', 0):,} | "
                         f"{s['peak_mb']:,} / {s['memory_mb']:,} | {puts:,} / {gets:,} |")
    return "\n".join(lines)


def baseline_results(baseline: str, sizes: list[int], out: Path, seed: int
                     ) -> list[dict[str, Any]]:
    """The same sizes through the baseline commit's own tree (its pipeline and local runtime),
    on the same generated logs, in this run."""
    import subprocess
    import sys
    import tempfile

    from benchmarks.before_after import baseline_tree

    with tempfile.TemporaryDirectory(prefix="calltime-scale-baseline-") as tmp:
        tree = baseline_tree(Path(tmp) / "tree", baseline)
        theirs = Path(tmp) / "out"
        theirs.mkdir()
        (theirs / "data").symlink_to((out / "data").resolve(), target_is_directory=True)
        subprocess.run([sys.executable, "-m", "benchmarks.scale", "--sizes",
                        " ".join(str(size) for size in sizes), "--seed", str(seed),
                        "--out", str(theirs)], cwd=tree, check=True)
        return json.loads((theirs / "scale_results.json").read_text())


def _rate(step: dict[str, Any] | None, key: str) -> str:
    return f"{step[key]:,}" if step and step.get(key) else "-"


def side_by_side(before: list[dict[str, Any]], after: list[dict[str, Any]], baseline: str
                 ) -> str:
    """The scale-out path's steps, the baseline's run beside this tree's."""
    lines = [f"Scale-out path: {baseline} (before) and this tree (after), same logs, one run",
             "", "| rows | step | wall s (before / after) | rows / worker-second, wall "
             "(before / after) | rows / worker CPU-second (after) | peak MB / limit "
             "(before / after) | S3 PUT-class / GET-class (after) |",
             "|---|---|---|---|---|---|---|"]
    for run in after:
        if run["run"] != "scale-out":
            continue
        old = next((r for r in before if r["size"] == run["size"] and r["run"] == "scale-out"),
                   {})
        for state, step in (("PartitionParts", "partition"), ("MergeBuckets", "merge-bucket"),
                            ("GlobalCut", "global-cut"), ("CountBuckets", "count-bucket"),
                            ("TrainOnSample", "train-sample")):
            mine, theirs = run["steps"].get(step), old.get("steps", {}).get(step)
            puts, gets = request_classes((mine or {}).get("s3_requests", {}))
            lines.append(
                f"| {run['size']:,} | {step} | {old.get('states', {}).get(state, '-')} / "
                f"{run['states'].get(state, '-')} | {_rate(theirs, 'rows_per_worker_second')}"
                f" / {_rate(mine, 'rows_per_worker_second')} | "
                f"{_rate(mine, 'rows_per_cpu_second')} | "
                f"{theirs['peak_mb'] if theirs else '-'} / {mine['peak_mb'] if mine else '-'} "
                f"of {(mine or theirs or {}).get('memory_mb', '-')} | {puts:,} / {gets:,} |")
        lines.append(f"| {run['size']:,} | training states, whole | "
                     f"{old.get('training_seconds', '-')} / {run['training_seconds']} | "
                     f"AUC {old.get('auc', '-')} / {run['auc']} | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=[parse_size("1M"), parse_size("4M")],
                        type=lambda text: [parse_size(t) for t in text.split()],
                        help="rows, e.g. '1M 4M 10M'")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--baseline", help="a commit whose tree runs the same sizes first, "
                        "printed side by side with this tree's")
    args = parser.parse_args(argv)
    if args.baseline:
        from benchmarks.before_after import check_baseline

        check_baseline(parser, args.baseline)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for rows in args.sizes:  # generated once, the baseline's run reads them too
        demo_data(out, max(1, rows // CALLS_PER_CONTACT), args.seed)
    before = baseline_results(args.baseline, args.sizes, out, args.seed) if args.baseline \
        else None
    results = bench(args.sizes, out, args.seed)
    (out / "scale_results.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    if before is not None:
        (out / "scale_baseline_results.json").write_text(json.dumps(before, indent=2))
        print()
        print(side_by_side(before, results, args.baseline))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
