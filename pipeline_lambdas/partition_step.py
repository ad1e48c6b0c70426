"""PartitionPart (a Distributed Map item): validate one part of the log, a slice of rows at a
time, split each slice's valid rows by contact bucket into the run's work area, keep its
rejects, and summarize the part. A part that is not a call log (unreadable, binary, missing
columns) is refused by name in its summary, whatever it wrote before the slice that showed it
is removed, and the run trains on the others: metadata.json lists it under `refused_parts`.
Keys depend only on the part and the slice, so a retried item rewrites the same objects."""

from __future__ import annotations

from functools import partial
from typing import Any

from pipeline_lambdas import contract as c
from pipeline_lambdas import work_area as w
from pipeline_lambdas.clients import at_init, client
from pipeline_lambdas.errors import PartTooLarge
from pipeline_lambdas.events import read_field
from pipeline_lambdas.log_parts import split_uri
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.settings import PipelineSettings
from training import footprint, scale_out
from training.call_log import InvalidCallLog

at_init("s3")  # in the cold start (INIT), not the first invocation


def partition_part(s3, settings: PipelineSettings, uri: str, index: int, work: str,
                   buckets: int, memory_mb: int = c.DEFAULT_TRAINING_MEMORY_MB,
                   slice_rows: int | None = None) -> dict[str, Any]:
    """`memory_mb`, the function's, sizes its slices to what it holds beside the part (unless
    `slice_rows` says)."""
    bucket, key = split_uri(uri)
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    slice_rows = slice_rows or footprint.slice_rows(memory_mb, uri, len(data))
    if not slice_rows:  # PlanTraining refuses such a part first
        raise PartTooLarge(f"{uri} is {len(data) / 2**20:,.0f} MB: a partition worker of "
                           f"{memory_mb} MB holds parts up to "
                           f"{footprint.largest_part_mb(memory_mb, uri):,} MB")
    target = settings.models_bucket
    written: list[str] = []
    slices: list[scale_out.PartitionedPart] = []
    try:
        for number, piece in enumerate(scale_out.partition_slices(uri, data, buckets,
                                                                  slice_rows=slice_rows)):
            # Encoded here, sent on threads: the threads only wait on S3 (two threads encoding
            # at once on two cores fight over the GIL, and that costs CPU).
            bodies = {w.pieces_key(work, index, number): w.encode_pieces(piece.buckets, buckets)}
            if len(piece.rejects):
                bodies[w.part_rejects_key(work, index, number)] = w.csv_text(
                    piece.rejects).encode()
            written += bodies
            w.write_all([partial(s3.put_object, Bucket=target, Key=key, Body=body)
                         for key, body in bodies.items()])
            # What the summary needs of the slice; its rows are let go.
            slices.append(scale_out.PartitionedPart(piece.name, {}, piece.rejects[
                ["reject_reason"]], piece.rows_read))
    except InvalidCallLog as err:
        # A part that is no call log at all is refused by name; the run goes on without it.
        w.delete(s3, target, written)
        summary = scale_out.refused_part_summary(uri, data, str(err))
        w.put_json(s3, target, w.part_summary_key(work, index), summary)
        return {"index": index, "refused": str(err)}
    summary = scale_out.part_summary(uri, data, slices)
    w.put_json(s3, target, w.part_summary_key(work, index), summary)
    return {"index": index, "rows_read": summary["rows_read"], "slices": len(slices)}


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    part = read_field(event, "part", dict)
    return partition_part(client("s3"), PipelineSettings.from_env(),
                          read_field(part, "uri", str), read_field(part, "index", int),
                          read_field(event, "work_prefix", str),
                          read_field(event, "bucket_count", int),
                          int(getattr(context, "memory_limit_in_mb", 0) or
                              c.DEFAULT_TRAINING_MEMORY_MB))
