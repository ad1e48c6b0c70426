"""PlanTraining: list the call log's parts, estimate its rows, choose the training path.

A log the train function's memory holds (`scale_out_rows`, by default what
`training.footprint` says `training_memory_mb` holds) trains in one function; a larger one goes
through the Distributed Map (`TrainingPath.SCALE_OUT`): its parts, its buckets and the run's
work prefix are the plan. Rows are counted from Parquet footers (two ranged GETs a part) and
estimated for CSV from the line length of its first MiB; the single path still counts exactly
and refuses what does not fit.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline_lambdas.clients import client
from pipeline_lambdas.contract import TrainingPath, work_prefix
from pipeline_lambdas.events import read_field
from pipeline_lambdas.log_parts import list_parts, split_uri
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.settings import PipelineSettings
from training import footprint
from training.call_log import InvalidCallLog
from training.scale_out import bucket_count

CSV_SAMPLE_BYTES = 1024 * 1024
# The plan travels in the run's state (Step Functions: 256 KB for all of it); its part list
# may take this much.
PLAN_LIMIT_BYTES = 160 * 1024


def estimate_rows(s3, uri: str, size: int) -> int:
    bucket, key = split_uri(uri)

    def tail(length: int) -> bytes:
        return s3.get_object(Bucket=bucket, Key=key,
                             Range=f"bytes=-{length}")["Body"].read()

    if key.lower().endswith(".parquet"):
        end = tail(8)
        if len(end) < 8 or end[4:] != b"PAR1":
            raise InvalidCallLog(f"{uri} is not a readable Parquet file: no footer")
        footer = tail(int.from_bytes(end[:4], "little") + 8)
        return pq.read_metadata(pa.BufferReader(b"PAR1" + footer)).num_rows
    head = s3.get_object(Bucket=bucket, Key=key,
                         Range=f"bytes=0-{CSV_SAMPLE_BYTES - 1}")["Body"].read()
    lines = head.count(b"\n")
    if size <= len(head):
        return max(0, lines + (0 if head.endswith(b"\n") or not head else 1) - 1)
    return int(size * lines / len(head))


def plan(s3, settings: PipelineSettings, data_uri: str, execution_name: str) -> dict[str, Any]:
    parts = list_parts(s3, data_uri)
    rows = sum(estimate_rows(s3, uri, size) for uri, size in parts)
    scale_out = rows > settings.scale_out_rows
    memory = settings.training_memory_mb
    if scale_out:
        check_part_sizes(parts, memory)
        if not footprint.bucket_rows(memory):
            raise InvalidCallLog(f"training_memory_mb={memory}: a merge or count worker of "
                                 "that memory holds no rows of a bucket; use more (synth "
                                 f"refuses less than {footprint.minimum_memory_mb()} MB)")
    buckets = bucket_count(rows, settings.scale_out_buckets,
                           footprint.bucket_rows(memory)) if scale_out else 0
    planned = {
        "path": (TrainingPath.SCALE_OUT if scale_out else TrainingPath.SINGLE).value,
        "data_uri": data_uri, "files": len(parts), "bytes": sum(size for _, size in parts),
        "rows_estimate": rows, "threshold_rows": settings.scale_out_rows,
        "parts": [{"uri": uri, "index": i} for i, (uri, _) in enumerate(parts)] if scale_out
        else [],
        "bucket_count": buckets,
        "buckets": list(range(buckets)),
        "work_prefix": work_prefix(execution_name),
    }
    check_size(planned)
    return planned


def check_part_sizes(parts: list[tuple[str, int]], memory_mb: int) -> None:
    """Refuse, by name, a part too large for a partition worker to hold (its function would be
    killed for memory), saying how large a part may be."""
    for uri, size in parts:
        largest = footprint.largest_part_mb(memory_mb, uri)
        if size > largest * 2**20:
            raise InvalidCallLog(
                f"{uri} is {size / 2**20:,.0f} MB: a partition worker of training_memory_mb="
                f"{memory_mb} holds {footprint.part_format(uri)} parts up to {largest:,} MB; "
                f"split the log into smaller parts (or raise training_memory_mb)")


def check_size(planned: dict[str, Any]) -> None:
    """Refuse, by name, a log of so many parts that its plan would not fit the run's state."""
    size = len(json.dumps(planned))
    if size > PLAN_LIMIT_BYTES:
        raise InvalidCallLog(
            f"data_uri {planned['data_uri']} has {planned['files']} parts; their list "
            f"({size:,} bytes) does not fit the run's state (Step Functions keeps 256 KB): "
            f"combine them into fewer, larger parts (a few hundred MB each is fine)")


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = PipelineSettings.from_env()
    data_uri = read_field(event, "data_uri", str, "") or settings.default_data_uri
    return plan(client("s3"), settings, data_uri, read_field(event, "execution_name", str))
