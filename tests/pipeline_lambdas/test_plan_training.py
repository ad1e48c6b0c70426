"""PlanTraining sizes the log without reading it whole and chooses the path by one threshold."""

from __future__ import annotations

import io
from dataclasses import replace

import boto3
import pandas as pd
import pytest

from pipeline_lambdas.contract import TrainingPath
from pipeline_lambdas.plan_training import CSV_SAMPLE_BYTES, check_size, estimate_rows, plan
from tests.support.local_account import BUCKET
from training.call_log import InvalidCallLog
from training.scale_out import bucket_count


def _put(key: str, data: bytes) -> str:
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=data)
    return f"s3://{BUCKET}/{key}"


def _csv(rows: int) -> bytes:
    frame = pd.DataFrame({"contact_id": [f"c-{i % 97}" for i in range(rows)],
                          "called_at": "2026-05-01T10:00:00Z", "answered": "true"})
    return frame.to_csv(index=False).encode()


def test_parquet_rows_come_from_the_footer_and_csv_rows_are_estimated(aws) -> None:
    s3 = boto3.client("s3")
    frame = pd.read_csv(io.BytesIO(_csv(12_345)))
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    parquet = _put("data/p/part-0.parquet", buffer.getvalue())
    assert estimate_rows(s3, parquet, len(buffer.getvalue())) == 12_345
    small = _csv(1_000)
    assert estimate_rows(s3, _put("data/c/small.csv", small), len(small)) == 1_000  # exact
    big = _csv(200_000)
    assert len(big) > CSV_SAMPLE_BYTES
    estimate = estimate_rows(s3, _put("data/c/big.csv", big), len(big))
    assert abs(estimate - 200_000) / 200_000 < 0.02
    with pytest.raises(InvalidCallLog, match="not a readable Parquet"):
        estimate_rows(s3, _put("data/p/broken.parquet", b"not parquet"), 11)


def test_one_threshold_chooses_the_path_and_the_plan_lists_parts_and_buckets(
        aws, settings) -> None:
    s3 = boto3.client("s3")
    for i in range(3):
        _put(f"data/calls/part-{i}.csv", _csv(2_000))
    uri = f"s3://{BUCKET}/data/calls/"
    single = plan(s3, replace(settings, scale_out_rows=10_000), uri, "run-1")
    assert single["path"] == TrainingPath.SINGLE and single["rows_estimate"] == 6_000
    assert single["parts"] == [] and single["buckets"] == []
    scaled = plan(s3, replace(settings, scale_out_rows=5_000, scale_out_buckets=4), uri, "run-2")
    assert scaled["path"] == TrainingPath.SCALE_OUT and scaled["work_prefix"] == "work/run-2/"
    assert [p["index"] for p in scaled["parts"]] == [0, 1, 2]
    assert scaled["parts"][2]["uri"].endswith("part-2.csv")
    assert scaled["buckets"] == [0, 1, 2, 3] and scaled["bucket_count"] == 4


def test_a_bucket_never_outgrows_its_worker_however_large_the_log() -> None:
    assert bucket_count(4_000_000, 64) == 64  # the setting is a minimum
    assert bucket_count(100_000_000, 64) == 100
    assert bucket_count(1_000_000_001, 64) == 1_001  # about a million rows a bucket
    assert bucket_count(100_000_000, 64, 500_000) == 200  # fewer where the memory holds fewer
    # A billion rows' plan (1,001 buckets, 400 parts) still fits the run's state.
    check_size({"data_uri": "s3://b/data/calls/", "files": 400,
                "parts": [{"uri": f"s3://b/data/calls/part-{i:05d}.parquet", "index": i}
                          for i in range(400)], "buckets": list(range(1_001))})


def test_a_log_of_too_many_parts_for_the_runs_state_is_refused_by_name() -> None:
    """Thousands of parts would put the plan over Step Functions' 256 KB state, a terminal
    States.DataLimitExceeded that skips the lock release: refused in PlanTraining instead."""
    uri = f"s3://{BUCKET}/data/calls/"
    parts = [{"uri": f"{uri}2026/11/26/part-{i:06d}.parquet", "index": i} for i in range(3000)]
    planned = {"data_uri": uri, "files": len(parts), "parts": parts}
    with pytest.raises(InvalidCallLog, match=r"has 3000 parts.*fewer, larger parts"):
        check_size(planned)
    check_size({**planned, "files": 300, "parts": parts[:300]})  # a few hundred fit


def test_the_plan_sizes_buckets_to_the_workers_memory_and_refuses_a_part_too_large_for_it(
        aws, settings) -> None:
    """Workers of 260 MB hold a CSV part of about a megabyte (their base takes the rest): a
    2 MB part is refused by name, saying how large a part may be; with more memory it plans."""
    from training import footprint

    s3 = boto3.client("s3")
    uri = f"s3://{BUCKET}/data/calls/"
    _put("data/calls/part-0.csv", _csv(2_000))
    tight = replace(settings, scale_out_rows=1_000, scale_out_buckets=1, training_memory_mb=260)
    largest = footprint.largest_part_mb(260, "part-1.csv")
    assert largest == 1
    _put("data/calls/part-1.csv", _csv(60_000))  # about 2 MB
    with pytest.raises(InvalidCallLog) as err:
        plan(s3, tight, uri, "run-2")
    message = str(err.value)
    assert "part-1.csv is 2 MB" in message and "holds csv parts up to 1 MB" in message
    assert "training_memory_mb=260" in message and "split the log" in message
    planned = plan(s3, replace(tight, training_memory_mb=1024), uri, "run-3")
    assert planned["parts"][1]["uri"].endswith("part-1.csv") and planned["bucket_count"] == 1
