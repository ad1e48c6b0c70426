"""Stand-ins for the scale-out workers that return what the real ones return for a billion-row
log, so the synthesized state machine's three Distributed Maps run at that plan's shape (400
parts, 1,001 buckets) on the local runtime in seconds: the state machine sees the same item
counts, the same item inputs and the same outputs as on AWS; only the work is skipped.

PlanTraining's plan is built as the real one builds it (the plan's size check included) from a
listing of 400 parts of 2.5 million rows each; TrainOnSample trains a small real log and stages
it with the real staging code, so Package, the gate and the deployment are the real ones.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import boto3

from pipeline_lambdas.contract import TrainingPath, work_prefix
from pipeline_lambdas.events import model_version
from pipeline_lambdas.plan_training import check_size
from pipeline_lambdas.settings import PipelineSettings
from pipeline_lambdas.train_step import TrainOutput
from tests.support import faults
from training.scale_out import bucket_count
from training.train import TrainSettings, train

# PlanTraining's estimate for a billion-row log (CSV rows are estimated from the first MiB's
# line length, so a little over): 1,001 buckets of at most a million rows.
ROWS = 1_000_200_000
PARTS = 400
ROWS_PER_PART = ROWS // PARTS
PART_BYTES = 90 * 1024 * 1024  # a 2.5-million-row Parquet export part


def buckets() -> int:
    """What the plan asks for a billion rows: 1,001 buckets (training/scale_out.bucket_count)."""
    return bucket_count(ROWS, 64)


def planner(parts: int, rows: int, count: int):
    """PlanTraining as a stand-in: the plan of a log of `parts` parts and `rows` rows, as the
    real step writes it."""

    def plan(event: dict[str, Any], context: Any) -> dict[str, Any]:
        settings = PipelineSettings.from_env()
        data_uri = settings.default_data_uri
        uris = [f"{data_uri}export/part-{i:05d}.parquet" for i in range(parts)]
        planned = {"path": TrainingPath.SCALE_OUT.value, "data_uri": data_uri, "files": parts,
                   "bytes": parts * PART_BYTES, "rows_estimate": rows,
                   "threshold_rows": settings.scale_out_rows,
                   "parts": [{"uri": uri, "index": i} for i, uri in enumerate(uris)],
                   "bucket_count": count, "buckets": list(range(count)),
                   "work_prefix": work_prefix(event["execution_name"])}
        check_size(planned)
        return planned

    return plan


def partition(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"index": event["part"]["index"], "rows_read": ROWS_PER_PART, "slices": 5}


OUT_OF_MEMORY_PART = 3


def partition_out_of_memory(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The partition worker, but part 3 outgrows the function's memory on every try (run by
    import path, so in a worker process the local runtime kills at the function's MemorySize)."""
    if event["part"]["index"] == OUT_OF_MEMORY_PART:
        return faults.hoard(event, context)
    return partition(event, context)


def merge(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"bucket": event["bucket"], "rows_valid": ROWS // buckets() - 1_234}


def cut(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"cut": 1_780_000_000.0, "rows_valid": ROWS - 1_234 * buckets(),
            "sample_fraction": 0.001932, "counts_fraction": 0.078125}


def count(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"bucket": event["bucket"], "contacts": 24_975, "sampled_rows": 1_931}


def trainer(calls: Path):
    """TrainOnSample as a stand-in: trains `calls` (a small real log) under the run's version and
    stages it with the real staging code, returning what the real step returns."""

    def train_on_sample(event: dict[str, Any], context: Any) -> dict[str, Any]:
        settings = PipelineSettings.from_env()
        version = model_version(event)
        with tempfile.TemporaryDirectory() as tmp:
            result = train(calls, Path(tmp), TrainSettings(), version=version)
            return TrainOutput.staged(boto3.client("s3"), settings, version,
                                      event["data_uri"], PARTS, result,
                                      Path(tmp)).to_dict()

    return train_on_sample


def stand_ins(calls: Path) -> dict[str, Any]:
    """Function key (name suffix) -> stand-in handler."""
    return {"plan-training": planner(PARTS, ROWS, buckets()), "partition": partition,
            "merge-bucket": merge, "global-cut": cut, "count-bucket": count,
            "train-sample": trainer(calls)}
