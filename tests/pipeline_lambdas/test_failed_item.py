"""NameFailedItem: the failed item named from the records the Map's children left."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from pipeline_lambdas.failed_item import name_failure

WORK = "work/run-1/"
THRESHOLD = {"Error": "States.ExceedToleratedFailureThreshold",
             "Cause": "The specified tolerated failure threshold was exceeded"}


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="models")
        yield client


def record(s3, state: str, item: str, body: dict) -> None:
    s3.put_object(Bucket="models", Key=f"{WORK}failures/{state}/{item}.json",
                  Body=json.dumps(body))


def test_the_first_failed_item_is_named_with_its_own_error_and_what_it_said(s3) -> None:
    killed = json.dumps({"errorType": "Runtime.OutOfMemory",
                         "errorMessage": "RequestId: 1 Error: Runtime exited with error: "
                                         "signal: killed"})
    record(s3, "PartitionParts", "3", {"work_prefix": WORK, "part": {
        "uri": "s3://data/calls/part-3.parquet", "index": 3},
        "failure": {"Error": "Runtime.OutOfMemory", "Cause": killed}})
    named = name_failure(s3, "models", WORK, THRESHOLD)
    assert named == {"Error": "Runtime.OutOfMemory", "Cause": (
        "PartitionParts: part 3 (s3://data/calls/part-3.parquet) failed with "
        "Runtime.OutOfMemory: RequestId: 1 Error: Runtime exited with error: signal: killed "
        "[States.ExceedToleratedFailureThreshold]")}


def test_several_failed_items_are_counted_and_the_first_few_named(s3) -> None:
    for bucket in range(9):
        record(s3, "MergeBuckets", str(bucket), {"bucket": bucket, "failure": {
            "Error": "InjectedFault", "Cause": f"bucket {bucket} broke"}})
    named = name_failure(s3, "models", WORK, THRESHOLD)
    assert named["Error"] == "InjectedFault"
    assert named["Cause"].startswith("MergeBuckets: bucket 0 failed with InjectedFault: "
                                     "bucket 0 broke (and 8 more: MergeBuckets bucket 1, ")
    assert "MergeBuckets bucket 5 and 3 others)" in named["Cause"]


def test_without_a_record_the_maps_own_error_stands(s3) -> None:
    assert name_failure(s3, "models", WORK, THRESHOLD) == THRESHOLD
