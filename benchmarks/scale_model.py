"""What training 10M, 100M and 1B call rows costs and takes on AWS, from `make bench-scale`'s
measured figures (out/bench/scale_results.json).

    python -m benchmarks.scale_model [--results out/bench/scale_results.json]

The model, per step of the Distributed Map path (infra/state_machine.py):

- workers: Partition one per input part (rows / PART_ROWS), MergeBucket and CountBucket one per
  bucket (the plan's: rows / BUCKET_ROWS, at least the setting's 64); GlobalCut, TrainOnSample
  and PlanTraining one each;
- one worker's seconds: the rows it handles over its step's measured rows per worker-second
  (the largest measured run's; one Lambda vCPU taken as one core of the benchmark machine),
  plus its S3 requests beyond those the measurement made (a piece per slice and bucket, ...)
  at REQUEST_SECONDS each, IO_WINDOW at a time. TrainOnSample trains on at most the sample one
  function holds, so its time is the measured one at that sample plus its reads;
- wall time: a map step takes ceil(workers / concurrency) rounds of one worker's time;
- cost: Lambda GB-seconds x price + requests, Step Functions state transitions (each map item
  is a child workflow execution: 3 transitions), S3 requests (every piece is one PUT and one
  GET). Prices: us-east-1, x86, November 2026 list prices; other regions (il-central-1)
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
REQUEST_SECONDS = 0.1  # one small S3 GET or PUT, taken slow (first-byte latency, 100-200 ms)
IO_WINDOW = 16  # requests a worker keeps in flight (pipeline_lambdas/work_area.py)
PART_ROWS = 2_500_000  # an export part of about 100 MB of Parquet: 400 parts for a billion
SLICE_ROWS = 500_000  # what a partition worker holds at a time (training/scale_out.py)
BUCKET_ROWS = 1_000_000  # a bucket's rows (training/scale_out.py)
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
    """Workers, one worker's seconds per step, worker-seconds, wall and dollars for a log of
    `rows` rows."""
    rate = {s: measured["steps"][s]["rows_per_worker_second"] for s in MAP_STEPS}
    parts = max(1, math.ceil(rows / PART_ROWS))
    part_rows = rows / parts
    slices = math.ceil(part_rows / SLICE_ROWS)
    buckets = max(MIN_BUCKETS, math.ceil(rows / BUCKET_ROWS))
    bucket_rows = rows / buckets
    io = REQUEST_SECONDS / IO_WINDOW
    workers = {"partition": parts, "merge-bucket": buckets, "count-bucket": buckets,
               "global-cut": 1, "train-sample": 1}
    one = {  # one worker's seconds
        "partition": part_rows / rate["partition"] + slices * buckets * io,
        "merge-bucket": bucket_rows / rate["merge-bucket"] + parts * slices * io,
        "count-bucket": bucket_rows / rate["count-bucket"] + 4 * REQUEST_SECONDS,
        "global-cut": measured["steps"]["global-cut"]["seconds"] + 3 * buckets * io,
        # the measured fit at the sample one function holds (the cap), plus reading every
        # part's and bucket's summary, counts, sample and rejects
        "train-sample": measured["steps"]["train-sample"]["seconds"]
        + (2 * parts * slices + 3 * buckets) * io,
    }
    worker_seconds = sum(one[s] * workers[s] for s in one)
    wall = sum(math.ceil(workers[s] / concurrency) * one[s] for s in one)
    gb_seconds = worker_seconds * MEMORY_GB
    invocations = sum(workers.values())
    transitions = 3 * (parts + 2 * buckets) + 20
    requests = parts * slices * buckets * 2 + 8 * buckets + 4 * parts
    dollars = (gb_seconds * LAMBDA_GB_SECOND + invocations * LAMBDA_REQUEST
               + transitions * SFN_TRANSITION + requests * (S3_PUT + S3_GET) / 2)
    longest = max(one, key=lambda s: one[s])
    return {"rows": rows, "parts": parts, "buckets": buckets, "invocations": invocations,
            "worker_seconds": round(worker_seconds), "gb_seconds": round(gb_seconds),
            "wall_minutes": round(wall / 60, 1), "dollars": round(dollars, 2),
            "longest_step": longest, "longest_seconds": round(one[longest])}


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
              f"{p['dollars']} | {p['longest_step']} {p['longest_seconds']:,} s |")
    print()
    print("\n".join(check(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
