"""What a run leaves in the models bucket, measured: a generated Parquet log trained through the
Distributed Map path of the synthesized state machine on the local runtime, its work area
measured just before TrainOnSample removes it, and every other class of key after the run; each
class's bytes per valid row, projected to a billion rows. The storage table of docs/operating.md
quotes it.

    make bench-storage                    # 1M rows (25,000 contacts), about 3 minutes here
    python -m benchmarks.storage --rows 4M

Results: out/bench/storage_results.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3

from benchmarks.scale import CALLS_PER_CONTACT, parse_size
from infra.settings import DeploySettings
from infra.storage import KEY_CLASSES
from local_pipeline.pipeline import LOCAL_ENVIRONMENT, LOCAL_INPUT, demo_data, put_data, synthesize
from localaws.lambdas import resolve
from localaws.runtime import LocalAWS
from pipeline_lambdas.contract import WORK_PREFIX
from pipeline_lambdas.settings import PipelineSettings
from training.footprint import MAX_ARCHETYPE_CONTACTS, sample_rows
from training.outputs import REJECTS_FILE

OUT = Path("out/bench")
BILLION = 1_000_000_000
DEFAULT_TRAINING_MEMORY_MB = DeploySettings().training_memory_mb


def sizes(bucket: str, prefix: str = "") -> dict[str, int]:
    s3 = boto3.client("s3")
    return {o["Key"]: o["Size"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix) for o in page.get("Contents", [])}


def work_kind(key: str) -> str:
    """work/<execution>/<kind>/...: pieces, buckets, epochs, hours, counts, sample, rejects..."""
    return key.split("/")[2]


def key_class(key: str) -> str:
    """The storage table's row for a key (a version's rejects.csv apart from its other files:
    it grows with the log, the rest does not)."""
    if key.startswith(WORK_PREFIX):
        return f"work/<execution>/{work_kind(key)}/"
    found = next((k.keys for k in KEY_CLASSES
                  if key.startswith(k.keys.split("<")[0].split(",")[0])), key)
    if "<version>" in found:
        found += "rejects.csv" if key.endswith("/" + REJECTS_FILE) else "(the rest)"
    return found


def measure(out: Path, rows: int, seed: int) -> dict[str, Any]:
    contacts = max(1, rows // CALLS_PER_CONTACT)
    calls = demo_data(out, contacts, seed)
    template, stack_name, region = synthesize(out / "storage", context={"scale_out_rows": "1"})
    work: dict[str, int] = {}
    with LocalAWS(region=region, lambda_log_dir=out / "storage" / "logs") as aws:
        stack, arn = aws.deploy_stack(template, stack_name, LOCAL_ENVIRONMENT)
        settings = PipelineSettings.from_env(stack.environment)
        bucket = settings.models_bucket
        put_data(bucket, "data/calls" if calls.is_dir() else f"data/calls/{calls.name}", calls)
        name = next(n for n in aws.lambdas.handlers if n.endswith("-train-sample"))
        real = resolve(aws.lambdas.handlers[name])

        def measured(event: dict[str, Any], context: Any) -> Any:
            work.update(sizes(bucket, WORK_PREFIX))  # before it removes the work area
            return real(event, context)

        aws.register_lambda(name, measured)
        result = aws.run_execution(arn, dict(LOCAL_INPUT), timeout=4 * 3600)
        after = sizes(bucket)
    if result.final_state != "Deployed":
        raise SystemExit(f"the run ended {result.final_state}: {result.error} {result.cause}")
    train, cut = result.state_value("train"), result.state_value("cut")
    classes: dict[str, int] = defaultdict(int)
    for key, size in [*work.items(), *after.items()]:
        classes[key_class(key)] += size
    return {"rows_valid": train["rows_valid"], "rows_trained": train["rows_trained"],
            "contacts": contacts, "counts_fraction": cut.get("counts_fraction", 1.0),
            "log_bytes": sum(v for k, v in after.items() if k.startswith("data/")),
            "work_left_after_run": sum(1 for k in after if k.startswith(WORK_PREFIX)),
            "classes": dict(classes)}


def projected(name: str, size: int, measured: dict[str, Any]) -> float:
    """Bytes at a billion valid rows: most classes grow with the rows; the archetype counts
    with the contacts counted (at most MAX_ARCHETYPE_CONTACTS), the sample with the rows one
    function trains on (what training_memory_mb holds), a version's files but its rejects not
    at all."""
    if name.endswith("counts/"):
        counted = measured["contacts"] * measured["counts_fraction"]
        contacts = BILLION / CALLS_PER_CONTACT
        return size / counted * min(contacts, MAX_ARCHETYPE_CONTACTS)
    if name.endswith("sample/"):
        holds = sample_rows(DEFAULT_TRAINING_MEMORY_MB)
        return size / measured["rows_trained"] * min(BILLION, holds)
    if name.endswith("(the rest)") or name.startswith(("locks/", "notifications/",
                                                       "models/optimal-call-time/history")):
        return size
    return size / measured["rows_valid"] * BILLION


def table(measured: dict[str, Any]) -> str:
    valid = measured["rows_valid"]
    lines = [f"{valid:,} valid rows measured; the work area as the run holds it at its largest, "
             "just before TrainOnSample removes it", "",
             "| keys | bytes measured | bytes / valid row | at a billion rows |",
             "|---|---|---|---|"]
    work = billion_work = 0.0
    for name, size in sorted(measured["classes"].items()):
        at_billion = projected(name, size, measured)
        if name.startswith("work/"):
            work, billion_work = work + size, billion_work + at_billion
        lines.append(f"| {name} | {size:,} | {size / valid:.2f} | {_gb(at_billion)} |")
    log_at_billion = measured["log_bytes"] / valid * BILLION
    lines.append(f"| work area, all | {work:,.0f} | {work / valid:.2f} | {_gb(billion_work)} "
                 f"({billion_work / log_at_billion:.1f} x the log) |")
    return "\n".join(lines)


def _gb(size: float) -> str:
    return f"{size / 1e9:,.1f} GB" if size >= 1e8 else f"{size / 1e6:,.2f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=parse_size, default=parse_size("1M"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    measured = measure(out, args.rows, args.seed)
    (out / "storage_results.json").write_text(json.dumps(measured, indent=2))
    print(table(measured))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
