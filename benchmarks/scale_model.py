"""What training 10M, 100M and 1B call rows costs and takes on AWS, from `make bench-scale`'s
measured figures (out/bench/scale_results.json).

    python -m benchmarks.scale_model [--results out/bench/scale_results.json]

The model, per step of the Distributed Map path (infra/state_machine.py):

- workers: Partition one per input part (rows / PART_ROWS), MergeBucket and CountBucket one per
  bucket (the plan's: rows / BUCKET_ROWS, at least the setting's 64); GlobalCut, TrainOnSample
  and PlanTraining one each;
- one worker's seconds: the rows it handles over its step's measured rows per worker
  CPU-second (the largest measured run's; a Lambda environment's vCPU taken as one core of the
  benchmark machine, which its workers share: their wall time there is not theirs alone),
  plus its S3 requests at REQUEST_SECONDS each, IO_WINDOW at a time. TrainOnSample trains on
  at most the sample one function holds, so its time is the measured one at that sample plus
  its reads;
- S3 requests: counted on the measured run, per worker and for the state machine's own
  (`make bench-scale` counts every request the local account answers), and scaled by what
  each grows with (`request_rates`): a partition worker's writes per slice, a merge worker's
  two ranged GETs per slice object, the count and cut workers' per bucket, TrainOnSample's and
  the map readers' and writers' per part and bucket;
- cold starts: each environment (at most the map's concurrency) imports its handler once, at
  the CPU seconds measured (Lambda bills this INIT phase too);
- wall time: a map step takes ceil(workers / concurrency) rounds of one worker's time, after a
  cold start;
- cost: Lambda GB-seconds x price + requests, Step Functions state transitions (each map item
  is a child workflow execution: 3 transitions), S3 requests by billing class (PUT, COPY,
  POST, LIST; GET and the rest; DELETE free). Prices: us-east-1, x86, November 2026 list
  prices; other regions (il-central-1) differ by a few per cent, check yours.

It is checked against the measurements themselves: the model, fed the smaller run's rates and
requests, predicts the larger run's worker-seconds and requests; and at the largest run's own
size and layout it is set beside what that run measured. Both are printed.
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


def worker_rate(step: dict[str, Any]) -> float:
    """A step's rows per second of one worker on a core of its own: per CPU-second where the
    run measured it (its wall time on this machine counts the cores its workers shared)."""
    return step.get("rows_per_cpu_second") or step["rows_per_worker_second"]


def measured_concurrency(run: dict[str, Any]) -> int:
    """How many environments a measured run's maps had at once (each cold-started once)."""
    return max(1, max(run["steps"][s].get("cold_starts", 0) for s in MAP_STEPS))


def cold_start_seconds(step: dict[str, Any]) -> float:
    """One environment's cold start, as measured: its handler's imports."""
    return step.get("init_cpu_seconds", 0.0) / max(1, step.get("cold_starts", 0))


def _worker_seconds(step: dict[str, Any]) -> float:
    return step.get("cpu_seconds") or step["seconds"]


def _classes(requests: dict[str, int]) -> tuple[int, int]:
    from benchmarks.scale import request_classes

    return request_classes(requests)


def _slices(rows_per_part: float) -> int:
    return max(1, math.ceil(rows_per_part / SLICE_ROWS))


def request_rates(measured: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Each step's S3 requests as counted on the measured run, (PUT-class, GET-class) per unit
    of what they grow with: a partition worker's per slice it writes; a merge worker's GETs
    per slice object it reads a range of (its PUTs and LISTs per worker); count and global-cut
    per bucket; TrainOnSample and the state machine's own (map item readers and writers) per
    part and bucket."""
    parts, buckets = measured["files"], measured["buckets"]
    slices = parts * _slices(measured["rows_read"] / parts)
    steps = {step: _classes(measured["steps"][step].get("s3_requests", {}))
             for step in measured["steps"]}
    own = _classes(measured.get("s3_requests", {}))
    workers = [sum(steps[s][i] for s in steps) for i in (0, 1)]
    return {
        "partition": (steps["partition"][0] / slices, steps["partition"][1] / parts),
        # its PUTs but the LIST pages of the slice objects (`requests_at` adds those back)
        "merge-bucket": (steps["merge-bucket"][0] / buckets - math.ceil(slices / 1000),
                         steps["merge-bucket"][1] / (buckets * slices)),
        "count-bucket": (steps["count-bucket"][0] / buckets, steps["count-bucket"][1] / buckets),
        "global-cut": (steps["global-cut"][0], steps["global-cut"][1] / buckets),
        "train-sample": tuple(steps["train-sample"][i] / (parts + buckets) for i in (0, 1)),
        "state-machine": tuple(max(0, own[i] - workers[i]) / (parts + buckets) for i in (0, 1)),
    }


def requests_at(rates: dict[str, tuple[float, float]], parts: int, slices: int, buckets: int
                ) -> dict[str, tuple[float, float]]:
    """Each step's (PUT-class, GET-class) S3 requests for a run of this layout."""
    return {
        "partition": (rates["partition"][0] * parts * slices, rates["partition"][1] * parts),
        "merge-bucket": (rates["merge-bucket"][0] * buckets
                         + buckets * math.ceil(parts * slices / 1000),  # LIST pages of 1,000
                         rates["merge-bucket"][1] * buckets * parts * slices),
        "count-bucket": tuple(r * buckets for r in rates["count-bucket"]),
        "global-cut": (rates["global-cut"][0], rates["global-cut"][1] * buckets),
        "train-sample": tuple(r * (parts + buckets) for r in rates["train-sample"]),
        "state-machine": tuple(r * (parts + buckets) for r in rates["state-machine"]),
    }


def project(rows: int, measured: dict[str, Any], concurrency: int = CONCURRENCY,
            parts: int | None = None, buckets: int | None = None,
            latency: float = REQUEST_SECONDS) -> dict[str, Any]:
    """Workers, one worker's seconds per step, worker-seconds, wall, S3 requests and dollars for
    a log of `rows` rows (in `parts` parts, `buckets` buckets: by default the export's and the
    plan's), each S3 request waiting `latency` seconds beyond what the measured rates hold."""
    rate = {s: worker_rate(measured["steps"][s]) for s in MAP_STEPS}
    parts = parts or max(1, math.ceil(rows / PART_ROWS))
    part_rows = rows / parts
    slices = _slices(part_rows)
    buckets = buckets or max(MIN_BUCKETS, math.ceil(rows / BUCKET_ROWS))
    bucket_rows = rows / buckets
    requests = requests_at(request_rates(measured), parts, slices, buckets)
    workers = {"partition": parts, "merge-bucket": buckets, "count-bucket": buckets,
               "global-cut": 1, "train-sample": 1}
    io = latency / IO_WINDOW  # a request's latency, IO_WINDOW in flight

    def waiting(step: str) -> float:  # one worker's seconds waiting on its S3 requests
        return sum(requests[step]) / workers[step] * io

    one = {  # one worker's seconds
        "partition": part_rows / rate["partition"] + waiting("partition"),
        "merge-bucket": bucket_rows / rate["merge-bucket"] + waiting("merge-bucket"),
        "count-bucket": bucket_rows / rate["count-bucket"] + waiting("count-bucket"),
        "global-cut": _worker_seconds(measured["steps"]["global-cut"]) + waiting("global-cut"),
        # the measured fit at the sample one function holds (the cap), plus its reads
        "train-sample": _worker_seconds(measured["steps"]["train-sample"])
        + waiting("train-sample"),
    }
    # each environment's cold start (importing its handler: Lambda's INIT, billed) once
    init = {s: cold_start_seconds(measured["steps"][s]) for s in one}
    environments = {s: min(workers[s], concurrency) for s in one}
    worker_seconds = sum(one[s] * workers[s] + init[s] * environments[s] for s in one)
    wall = sum(math.ceil(workers[s] / concurrency) * one[s] + init[s] for s in one)
    gb_seconds = worker_seconds * MEMORY_GB
    invocations = sum(workers.values())
    transitions = 3 * (parts + 2 * buckets) + 20
    puts = sum(r[0] for r in requests.values())
    gets = sum(r[1] for r in requests.values())
    s3_dollars = puts * S3_PUT + gets * S3_GET
    dollars = (gb_seconds * LAMBDA_GB_SECOND + invocations * LAMBDA_REQUEST
               + transitions * SFN_TRANSITION + s3_dollars)
    longest = max(one, key=lambda s: one[s])
    return {"rows": rows, "parts": parts, "buckets": buckets, "invocations": invocations,
            "worker_seconds": round(worker_seconds), "gb_seconds": round(gb_seconds),
            "wall_minutes": round(wall / 60, 1), "puts": round(puts), "gets": round(gets),
            "s3_dollars": round(s3_dollars, 2), "dollars": round(dollars, 2),
            "longest_step": longest, "longest_seconds": round(one[longest])}


def check(results: list[dict[str, Any]]) -> list[str]:
    """The model against the measurements: the smaller run's rates and request counts
    predicting the larger run's; and the largest run's own rates at its own size, layout and
    map concurrency (requests at the local account's speed, which its rates hold), which is the
    projection scaled down to what was measured."""
    runs = sorted((r for r in results if r["run"] == "scale-out" and r["status"] == "SUCCEEDED"),
                  key=lambda r: r["rows_read"])
    lines: list[str] = []
    if len(runs) >= 2:
        small, large = runs[0], runs[-1]
        predicted = project(large["rows_read"], small, measured_concurrency(large),
                            parts=large["files"], buckets=large["buckets"], latency=0.0)
        lines += [f"check: the {small['rows_read']:,}-row run's rates and requests predicting "
                  f"the {large['rows_read']:,}-row run", "", *_versus(predicted, large), ""]
    large = runs[-1]
    scaled_down = project(large["rows_read"], large, measured_concurrency(large),
                          parts=large["files"], buckets=large["buckets"], latency=0.0)
    lines += [f"the projection scaled down to the measured {large['rows_read']:,}-row run "
              "(its own rates: equal by construction, a check of the arithmetic; the test of "
              "the model is the prediction above)", "", *_versus(scaled_down, large)]
    return lines


def measured_totals(run: dict[str, Any]) -> dict[str, float]:
    steps = run["steps"]
    puts, gets = _classes(run.get("s3_requests", {}))
    every = (*MAP_STEPS, "global-cut", "train-sample")
    return {"worker_seconds": sum(_worker_seconds(steps[s]) + steps[s].get("init_cpu_seconds", 0)
                                  for s in every),
            "puts": puts, "gets": gets}


def _versus(predicted: dict[str, Any], run: dict[str, Any]) -> list[str]:
    measured = measured_totals(run)
    lines = ["| measure | model | measured | model / measured |", "|---|---|---|---|"]
    for key, label in (("worker_seconds", "worker (CPU) seconds"),
                       ("puts", "S3 PUT-class requests"), ("gets", "S3 GET-class requests")):
        ratio = predicted[key] / measured[key] if measured[key] else float("nan")
        lines.append(f"| {label} | {predicted[key]:,.0f} | {measured[key]:,.0f} | "
                     f"{ratio:.2f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args(argv)
    path = Path(args.results)
    if not path.exists():
        parser.error(f"no measurements at {path}: run `make bench-scale` first (it measures "
                     "the runs this projects from, then runs this)")
    results = json.loads(path.read_text())
    measured = largest(results)
    print(f"\nAWS projection from the {measured['rows_read']:,}-row run's rates "
          f"(concurrency {args.concurrency}, {MEMORY_GB:.0f} GB workers):\n")
    print("| rows | parts x buckets | invocations | worker-seconds | GB-seconds | wall (min) | "
          "S3 PUT / GET requests | S3 (USD) | cost (USD) | longest single worker |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for rows in SIZES:
        p = project(rows, measured, args.concurrency)
        print(f"| {rows:,} | {p['parts']} x {p['buckets']} | {p['invocations']:,} | "
              f"{p['worker_seconds']:,} | {p['gb_seconds']:,} | {p['wall_minutes']} | "
              f"{p['puts']:,} / {p['gets']:,} | {p['s3_dollars']} | "
              f"{p['dollars']} | {p['longest_step']} {p['longest_seconds']:,} s |")
    print()
    print("\n".join(check(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
