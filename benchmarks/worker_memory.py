"""The scale-out workers against their memory, at the sizes training/footprint.py gives them:
the real partition, merge and count handlers, each in its own worker process under the
function's MemorySize (the local runtime kills a worker that goes over, as Lambda does), on the
worst inputs the plan lets through at that memory:

- partition: a Parquet part as large as `largest_part_mb` allows, written as ONE row group (the
  whole part decoded at once), in slices of `slice_rows`;
- merge and count: one bucket of `bucket_rows` rows.

    make bench-workers                          # 1024 MB, the floor
    python -m benchmarks.worker_memory --memory 1024 2048

Above the floor every size is larger in proportion (slices and buckets are capped at 500,000 and
1,000,000 rows), so the floor is the tightest case.

Printed: each worker's peak against its limit, and the sizes it was given; it fails when a
worker peaks above 90 % of its memory. About 2 minutes here.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import boto3
import pandas as pd

from local_pipeline.pipeline import LOCAL_ENVIRONMENT, demo_data, synthesize
from localaws.runtime import LocalAWS
from pipeline_lambdas.contract import work_prefix
from pipeline_lambdas.settings import PipelineSettings
from training import footprint

OUT = Path("out/bench")
CONTACTS = 25_000  # the generated log the parts are made of (about a million calls)


def worst_part(out: Path, memory_mb: int, seed: int) -> tuple[Path, int]:
    """A Parquet part of about `largest_part_mb(memory_mb)` in one row group: the generated log
    repeated under new contact ids until it is that large. Returns (path, rows)."""
    path = out / "worker-memory" / f"part-{memory_mb}mb.parquet"
    if path.exists():
        return path, pd.read_parquet(path, columns=["contact_id"]).shape[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    calls = demo_data(out, CONTACTS, seed)
    log = pd.concat([pd.read_parquet(p) for p in sorted(Path(calls).glob("*.parquet"))])
    target = footprint.largest_part_mb(memory_mb, path.name) * 2**20
    copies = max(1, math.floor(target / len(log.to_parquet(index=False))))
    while True:  # the copies' ids compress less well than the log's: shrink until it fits
        big = pd.concat([log.assign(contact_id=log["contact_id"] + f"-{i}")
                         for i in range(copies)], ignore_index=True)
        big.to_parquet(path, index=False, row_group_size=len(big))
        if path.stat().st_size <= target or copies == 1:
            return path, len(big)
        copies = max(1, math.floor(copies * target / path.stat().st_size))


def invoke(function: str, payload: dict[str, Any]) -> dict[str, Any]:
    answer = boto3.client("lambda").invoke(FunctionName=function,
                                           Payload=json.dumps(payload).encode())
    body = json.loads(answer["Payload"].read())
    if answer.get("FunctionError"):
        raise SystemExit(f"{function} failed: {body.get('errorType')}: "
                         f"{body.get('errorMessage')}")
    return body


def bench(out: Path, memory_mb: int, seed: int) -> list[dict[str, Any]]:
    part, rows = worst_part(out, memory_mb, seed)
    per_bucket = footprint.bucket_rows(memory_mb)
    buckets = max(1, math.ceil(rows / per_bucket))
    template, stack_name, region = synthesize(
        out / "worker-memory" / f"{memory_mb}", context={"training_memory_mb": str(memory_mb)})
    with LocalAWS(region=region) as aws:
        stack, _ = aws.deploy_stack(template, stack_name, LOCAL_ENVIRONMENT)
        settings = PipelineSettings.from_env(stack.environment)
        bucket, prefix = settings.models_bucket, f"{settings.project_name}-local-"
        work = work_prefix("bench")
        boto3.client("s3").upload_file(str(part), bucket, f"data/calls/{part.name}")
        invoke(f"{prefix}partition", {"execution_name": "bench", "work_prefix": work,
                                      "bucket_count": buckets, "part": {
                                          "uri": f"s3://{bucket}/data/calls/{part.name}",
                                          "index": 0}})
        merged = invoke(f"{prefix}merge-bucket", {"execution_name": "bench",
                                                   "work_prefix": work, "bucket": 0})
        cut = invoke(f"{prefix}global-cut", {"execution_name": "bench", "work_prefix": work})
        invoke(f"{prefix}count-bucket", {"execution_name": "bench", "work_prefix": work,
                                         "bucket": 0, "cut": {**cut, "counts_fraction": 1.0}})
        runs = list(aws.lambdas.invocations)
    given = {"partition": f"{part.stat().st_size / 2**20:,.0f} MB part (one row group, "
                          f"{rows:,} rows) in slices of "
                          f"{footprint.slice_rows(memory_mb, part.name, part.stat().st_size):,}",
             "merge-bucket": f"one bucket of {merged['rows_valid']:,} rows "
                             f"(bucket_rows {per_bucket:,})",
             "count-bucket": f"one bucket of {merged['rows_valid']:,} rows"}
    return [{"memory_mb": memory_mb, "worker": r["function"].removeprefix(prefix),
             "peak_mb": r["max_memory_mb"], "limit_mb": r["memory_mb"],
             "given": given.get(r["function"].removeprefix(prefix), "")}
            for r in runs if r["function"].removeprefix(prefix) in given]


PEAK_SHARE = 0.9  # the most of its memory a worker may reach


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| memory | worker | given | peak MB / limit |", "|---|---|---|---|"]
    lines += [f"| {r['memory_mb']:,} MB | {r['worker']} | {r['given']} | "
              f"{r['peak_mb']:,} / {r['limit_mb']:,} |" for r in results]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory", type=int, nargs="+",
                        default=[footprint.minimum_memory_mb()])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
    out = Path(args.out)
    results = [r for memory in args.memory for r in bench(out, memory, args.seed)]
    (out / "worker_memory_results.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    # On AWS the sandbox's own memory counts too: a worker measured near its limit here is one
    # allocation from Runtime.OutOfMemory there.
    over = [r for r in results if r["peak_mb"] > PEAK_SHARE * r["limit_mb"]]
    for r in over:
        print(f"{r['worker']} at {r['memory_mb']:,} MB peaked at {r['peak_mb']:,} MB: over "
              f"{PEAK_SHARE:.0%} of its memory")
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
