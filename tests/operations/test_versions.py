"""`calltime versions list` marks a version that was rolled back, with the run that did it."""

from __future__ import annotations

import json
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from operations.versions import render, versions

PREFIX = "models/optimal-call-time"


@pytest.fixture
def account():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="models")
        yield SimpleNamespace(s3=s3, bucket="models", models_prefix=PREFIX, sagemaker=None,
                              endpoint_name=None, label="test")


def _publish(s3, version: str) -> None:
    s3.put_object(Bucket="models", Key=f"{PREFIX}/{version}/model.tar.gz", Body=b"x")
    s3.put_object(Bucket="models", Key=f"{PREFIX}/{version}/metadata.json",
                  Body=json.dumps({"created_at": "2026-12-01T03:00:00",
                                   "data": {"rows_valid": 100, "rows_rejected": 1}}))


def test_a_rolled_back_version_is_marked_with_the_run_that_rolled_it_back(account) -> None:
    for version in ("20261201T030000Z-aaaaaa", "20261208T030000Z-bbbbbb"):
        _publish(account.s3, version)
    history = [{"execution": "run-1", "outcome": "deployed",
                "model_version": "20261201T030000Z-aaaaaa", "error": None},
               {"execution": "run-2", "outcome": "rolled-back",
                "model_version": "20261208T030000Z-bbbbbb", "error": "HealthCheckFailed"}]
    account.s3.put_object(Bucket="models", Key=f"{PREFIX}/history.json",
                          Body=json.dumps(history))
    found = {v.version: v for v in versions(account)}
    assert found["20261201T030000Z-aaaaaa"].rolled_back == ""
    assert found["20261208T030000Z-bbbbbb"].rolled_back == "rolled back by run-2 " \
                                                            "(HealthCheckFailed)"
    shown = render(account, list(found.values()))
    line = next(row for row in shown.splitlines() if "bbbbbb" in row)
    assert "rolled back by run-2 (HealthCheckFailed)" in line
