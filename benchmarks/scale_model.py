"""What training 10M, 100M and 1B call rows costs and takes on AWS, from `make bench-scale`'s
measured figures (out/bench/scale_results.json).

    python -m benchmarks.scale_model [--results out/bench/scale_results.json]

The model, per step of the Distributed Map path (infra/state_machine.py):

- workers: Partition one per input part (rows / PART_ROWS), MergeBucket and CountBucket one per
  bucket (the plan's: rows / BUCKET_ROWS, at least the setting's 64); GlobalCut, TrainOnSample
  and PlanTraining one each;
- worker-seconds: the rows a step handles over its measured rows per worker-second (the largest
  measured run's; one Lambda vCPU taken as one core of the benchmark machine, and the local S3,
  moto in this process, as fast as S3 — it is slower, so I/O-heavy steps are overestimated);
  TrainOnSample trains on at most the sample one function holds, so its time is the measured
  one at that sample, plus reading the summaries and counts of every bucket;
- wall time: a map step takes ceil(workers / concurrency) rounds of one worker's time;
- cost: Lambda GB-seconds x price + requests, Step Functions state transitions (each map item
  is a child workflow execution: 3 transitions), S3 requests (every bucket piece is one PUT
  and one GET). Prices: us-east-1, x86, November 2026 list prices; other regions (il-central-1)
  differ by a few per cent, check yours.

It is checked against the measurements themselves: the model, fed the smaller run's rates,
predicts the larger run's worker-seconds; both are printed.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

RESULTS = Path("out/bench/scale_results.json")
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_REQUEST = 0.20 / 1e6
SFN_TRANSITION = 0.025 / 1000
S3_PUT, S3_GET = 0.005 / 1000, 0.0004 / 1000
PART_ROWS = 2_500_000  # an export part of about 100 MB of Parquet: 400 parts for a billion
BUCKET_ROWS = 1_000_000  # a bucket's rows (pipeline_lambdas/plan_training.py)
MIN_BUCKETS = 64  # the scale_out_buckets setting's default
CONCURRENCY = 100  # the scale_out_concurrency setting's default
MEMORY_GB = 4.0  # training_memory_mb's default: every training step
MAP_STEPS = ("partition", "merge-bucket", "count-bucket")
SIZES = (10_000_000, 100_000_000, 1_000_000_000)


def largest(results: list[dict[str, Any]], run: str = "scale-out") -> dict[str, Any]:
    done = [r for r in results if r["run"] == run and r["status"] == "SUCCEEDED"]
    if not done:
        raise SystemExit(f"no successful {run} run in the results: run `make bench-scale`")
    return max(done, key=lambda r: r["rows_read"])


def project(rows: int, measured: dict[str, Any], concurrency: int = CONCURRENCY
            ) -> dict[str, Any]:
    """Workers, worker-seconds, wall seconds and dollars for a log of `rows` rows."""
    steps = measured["steps"]
    parts = max(1, math.ceil(rows / PART_ROWS))
    buckets = max(MIN_BUCKETS, math.ceil(rows / BUCKET_ROWS))
    workers = {"partition": parts, "merge-bucket": buckets, "count-bucket": buckets,
               "global-cut": 1, "train-sample": 1}
    seconds = {step: rows / steps[step]["rows_per_worker_second"]
               for step in ("partition", "merge-bucket", "count-bucket", "global-cut")}
    # TrainOnSample: the measured run's time at its sample (the cap), and its reading of every
    # bucket's counts, scaled with the buckets.
    seconds["train-sample"] = steps["train-sample"]["seconds"] * (
        1 + 0.02 * max(0, buckets - measured["buckets"]) / max(1, measured["buckets"]))
    wall = sum(math.ceil(workers[s] / concurrency) * seconds[s] / workers[s] for s in MAP_STEPS)
    wall += seconds["global-cut"] + seconds["train-sample"]
    gb_seconds = sum(seconds.values()) * MEMORY_GB
    invocations = sum(workers.values())
    transitions = 3 * (parts + 2 * buckets) + 20
    pieces = parts * buckets
    dollars = (gb_seconds * LAMBDA_GB_SECOND + invocations * LAMBDA_REQUEST
               + transitions * SFN_TRANSITION + pieces * (S3_PUT + S3_GET))
    peak = max(s["peak_mb"] / s["memory_mb"] for s in steps.values())
    return {"rows": rows, "parts": parts, "buckets": buckets, "invocations": invocations,
            "worker_seconds": round(sum(seconds.values())), "gb_seconds": round(gb_seconds),
            "wall_minutes": round(wall / 60, 1), "dollars": round(dollars, 2),
            "largest_step": max(seconds, key=lambda s: seconds[s] / workers[s]),
            "longest_worker_seconds": round(max(seconds[s] / workers[s] for s in seconds)),
            "measured_peak_share": round(peak, 2)}


def check(results: list[dict[str, Any]]) -> list[str]:
    """The smaller measured run's rates predicting the larger one's worker-seconds."""
    runs = sorted((r for r in results if r["run"] == "scale-out" and r["status"] == "SUCCEEDED"),
                  key=lambda r: r["rows_read"])
    if len(runs) < 2:
        return ["(one measured size: nothing to check the model against)"]
    small, large = runs[0], runs[-1]
    lines = [f"check: {small['rows_read']:,}-row rates predicting the {large['rows_read']:,}-row "
             "run's worker-seconds", "", "| step | predicted s | measured s |", "|---|---|---|"]
    for step in MAP_STEPS:
        predicted = large["steps"][step]["rows"] / small["steps"][step]["rows_per_worker_second"]
        lines.append(f"| {step} | {predicted:,.0f} | {large['steps'][step]['seconds']:,.0f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args(argv)
    results = json.loads(Path(args.results).read_text())
    measured = largest(results)
    print(f"\nAWS projection from the {measured['rows_read']:,}-row run's rates "
          f"(concurrency {args.concurrency}, {MEMORY_GB:.0f} GB workers):\n")
    print("| rows | parts x buckets | invocations | worker-seconds | GB-seconds | wall (min) | "
          "cost (USD) | longest single worker |")
    print("|---|---|---|---|---|---|---|---|")
    for rows in SIZES:
        p = project(rows, measured, args.concurrency)
        print(f"| {rows:,} | {p['parts']} x {p['buckets']} | {p['invocations']:,} | "
              f"{p['worker_seconds']:,} | {p['gb_seconds']:,} | {p['wall_minutes']} | "
              f"{p['dollars']} | {p['largest_step']} {p['longest_worker_seconds']:,} s |")
    print()
    print("\n".join(check(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
