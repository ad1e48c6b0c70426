"""The per-bucket Distributed Map items of a scale-out run.

- MergeBucket: one bucket's pieces from every part (its byte range of each partition slice's
  object), in part order, merged; calls exported in two parts rejected as duplicates; the
  bucket's rows, sorted call times (and their histogram by hour, for GlobalCut) and summary
  written.
- CountBucket: the bucket's contacts' calls and answers per weekly cell, before the run's
  temporal cut and over every call, for the global parameters; and the rows of its contacts in
  the training sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline_lambdas import work_area as w
from pipeline_lambdas.clients import at_init, client
from pipeline_lambdas.events import read_field
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.settings import PipelineSettings
from training import call_validation, scale_out, streamed_quantile

at_init("s3")  # in the cold start (INIT), not the first invocation


def merge(s3, settings: PipelineSettings, work: str, number: int) -> dict[str, Any]:
    target = settings.models_bucket
    pieces = [piece for piece in w.read_all(w.keys(s3, target, w.pieces_prefix(work)),
                                            lambda key: w.get_piece(s3, target, key, number))
              if piece is not None]
    rows, duplicates = scale_out.merge_tables(pieces)
    summary = {"bucket": number, **scale_out.bucket_summary(rows, duplicates.num_rows)}
    if rows.num_rows:
        w.put_frame(s3, target, w.bucket_key(work, number), rows)
        epochs = scale_out.sorted_epochs(rows)
        hours = streamed_quantile.histogram(epochs)
        w.put_int64(s3, target, w.epochs_key(work, number), epochs)
        w.put_arrays(s3, target, w.hours_key(work, number), first=np.array([hours.first]),
                     counts=hours.counts)
    if duplicates.num_rows:
        w.put_frame(s3, target, w.bucket_rejects_key(work, number),
                    call_validation.decoded(duplicates).to_pandas())
    w.put_json(s3, target, w.bucket_summary_key(work, number), summary)
    return {"bucket": number, "rows_valid": summary["rows_valid"]}


def whole_counts(counts: np.ndarray) -> np.ndarray:
    """Counts of calls (whole numbers held as floats) in the smallest unsigned integer type that
    holds them: a bucket's counts are contacts x cells, mostly small, and S3 carries them twice
    (CountBucket writes, TrainOnSample reads); uint8 is an eighth of float64's bytes."""
    largest = int(counts.max()) if counts.size else 0
    return counts.astype(np.min_scalar_type(largest))


def count(s3, settings: PipelineSettings, work: str, number: int,
          cut: dict[str, Any]) -> dict[str, Any]:
    """The bucket's cell counts (for the archetypes, on GlobalCut's contact sample) and its
    contacts in the training sample, written for TrainOnSample."""
    target = settings.models_bucket
    if not w.keys(s3, target, w.bucket_key(work, number)):
        return {"bucket": number, "contacts": 0}
    # zones, campaigns and files as the merge wrote them, dictionaries (the counts use the
    # zones' codes; the sample is written on as it is)
    rows = w.get_table(s3, target, w.bucket_key(work, number), decode=False)
    arrays = {}
    at = scale_out.contact_counts_at(rows, [float(cut["cut"]), np.inf],
                                     float(cut["counts_fraction"]))
    for label, counts in zip(("before", "every"), at, strict=True):
        arrays.update({f"{label}_ids": counts.contact_ids.astype(str),
                       f"{label}_calls": whole_counts(counts.calls),
                       f"{label}_answers": whole_counts(counts.answers),
                       f"{label}_zones": counts.zones.astype(str),
                       f"{label}_totals": np.array([counts.rows, counts.answered])})
    w.put_arrays(s3, target, w.counts_key(work, number), **arrays)
    sample = scale_out.sampled(rows, float(cut["sample_fraction"]))
    if sample.num_rows:
        w.put_frame(s3, target, w.sample_key(work, number), sample)
    return {"bucket": number, "contacts": len(arrays["every_ids"]),
            "sampled_rows": sample.num_rows}


@step_handler
def merge_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return merge(client("s3"), PipelineSettings.from_env(), read_field(event, "work_prefix", str),
                 read_field(event, "bucket", int))


@step_handler
def count_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return count(client("s3"), PipelineSettings.from_env(), read_field(event, "work_prefix", str),
                 read_field(event, "bucket", int), read_field(event, "cut", dict))
