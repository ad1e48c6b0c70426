"""Train from S3 (an object or a prefix of parts), stage, and publish without overwriting."""

from __future__ import annotations

import json

import boto3
import pytest

from pipeline_lambdas.errors import ArtifactExists, LogTooLarge, VersionNotFound
from pipeline_lambdas.package_step import find_published, publish
from pipeline_lambdas.train_step import read_call_log, run_training
from tests.support.local_account import BUCKET
from training.call_log import InvalidCallLog


@pytest.fixture
def log_parts(demo_log) -> list[bytes]:
    lines = demo_log[0].read_bytes().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    half = len(rows) // 2
    return [header + b"".join(rows[:half]), header + b"".join(rows[half:])]


@pytest.mark.slow
def test_prefix_of_parts_trains_stages_and_publishes(aws, settings, log_parts) -> None:
    s3 = boto3.client("s3")
    for i, part in enumerate(log_parts):
        s3.put_object(Bucket=BUCKET, Key=f"data/calls/part-{i}.csv", Body=part)
    s3.put_object(Bucket=BUCKET, Key="data/calls/_SUCCESS", Body=b"")  # not a log part
    assert len(read_call_log(s3, f"s3://{BUCKET}/data/calls/")) == 2

    out = run_training(s3, settings, f"s3://{BUCKET}/data/calls/", "20260601T000000Z-aa11bb")
    assert out.files_read == 2 and out.rows_valid > 40_000 and out.rows_rejected > 0
    assert out.rejected_by_reason["duplicate"] > 0
    staged = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET,
                                                   Prefix="staging/")["Contents"]}
    assert "staging/20260601T000000Z-aa11bb/model.tar.gz" in staged

    first = publish(s3, settings, out.model_version)
    key = "models/optimal-call-time/20260601T000000Z-aa11bb/model.tar.gz"
    assert first.artifact_uri == f"s3://{BUCKET}/{key}" and not first.already_published
    assert first.size_bytes == s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"]
    retry = publish(s3, settings, out.model_version)  # a retried step changes nothing
    assert retry.already_published and retry.sha256 == first.sha256
    # A run asked to deploy this version finds what was published, as publish reported it.
    assert find_published(s3, settings, out.model_version) == retry
    with pytest.raises(VersionNotFound, match=r"no published model version .20990101T000000Z-"
                                              r"nope..*calltime versions list"):
        find_published(s3, settings, "20990101T000000Z-nope")

    s3.put_object(Bucket=BUCKET, Key="staging/20260601T000000Z-aa11bb/metrics.json",
                  Body=json.dumps({"other": True}).encode())
    with pytest.raises(ArtifactExists, match="never overwritten"):
        publish(s3, settings, out.model_version)


def test_refused_log_still_stages_its_rejects(aws, settings) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="data/bad.csv",
                  Body=b"contact_id,called_at,answered\nc-1,nope,true\nc-2,nope,false\n")
    with pytest.raises(InvalidCallLog, match=r"rejected rows: s3://.*/staging/v9/rejects\.csv"):
        run_training(s3, settings, f"s3://{BUCKET}/data/bad.csv", "v9")
    rejects = s3.get_object(Bucket=BUCKET, Key="staging/v9/rejects.csv")["Body"].read()
    assert rejects.count(b"unparseable_timestamp") == 2


@pytest.mark.parametrize(("uri", "message"), [
    ("s3://calltime-models/nothing-here/", "no .csv or .parquet objects under"),
    ("/local/path.csv", "is not an s3://bucket/key-or-prefix URI"),
])
def test_unusable_data_uri(aws, settings, uri: str, message: str) -> None:
    with pytest.raises(InvalidCallLog, match=message):
        run_training(boto3.client("s3"), settings, uri, "v1")


def test_a_log_too_large_for_the_functions_memory_is_refused_before_training(
        aws, settings, demo_log) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="data/calls/calls.csv", Body=demo_log[0].read_bytes())
    rows = sum(1 for _ in demo_log[0].open()) - 1
    with pytest.raises(LogTooLarge) as err:
        run_training(s3, settings, f"s3://{BUCKET}/data/calls/", "v-small", memory_mb=512)
    message = str(err.value)
    assert f"{rows:,} call rows" in message and "512 MB" in message
    assert "training_memory_mb" in message
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="staging/v-small/")
