"""PartitionPart (a Distributed Map item): validate one part of the log, split its valid rows by
contact bucket into the run's work area, keep its rejects, and summarize it. A part that is not
a call log (unreadable, binary, missing columns) is refused by name in its summary, and the run
trains on the others: metadata.json lists it under `refused_parts`."""

from __future__ import annotations

from typing import Any

from pipeline_lambdas import work_area as w
from pipeline_lambdas.clients import client
from pipeline_lambdas.events import read_field
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.settings import PipelineSettings
from pipeline_lambdas.train_step import split_uri
from training import scale_out
from training.call_log import InvalidCallLog


def partition_part(s3, settings: PipelineSettings, uri: str, index: int, work: str,
                   buckets: int) -> dict[str, Any]:
    bucket, key = split_uri(uri)
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    target = settings.models_bucket
    try:
        part = scale_out.partition(uri, data, buckets)
    except InvalidCallLog as err:
        # A part that is no call log at all is refused by name; the run goes on without it.
        summary = scale_out.refused_part_summary(uri, data, str(err))
        w.put_json(s3, target, w.part_summary_key(work, index), summary)
        return {"index": index, "refused": str(err)}
    for number, rows in part.buckets.items():
        w.put_frame(s3, target, w.piece_key(work, number, index), rows)
    if len(part.rejects):
        w.put_frame(s3, target, w.part_rejects_key(work, index), part.rejects)
    summary = scale_out.part_summary(part)
    w.put_json(s3, target, w.part_summary_key(work, index), summary)
    return {"index": index, "rows_read": part.rows_read}


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    part = read_field(event, "part", dict)
    return partition_part(client("s3"), PipelineSettings.from_env(),
                          read_field(part, "uri", str), read_field(part, "index", int),
                          read_field(event, "work_prefix", str),
                          read_field(event, "bucket_count", int))
