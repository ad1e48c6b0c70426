"""Calls made as a role are decided by the local IAM; what it cannot decide is refused."""

from __future__ import annotations

import threading

import boto3
import pytest
from botocore.exceptions import ClientError

from localaws.authorization import Policies, acting_as, role_session
from localaws.runtime import LocalAWS

ROLE = "arn:aws:iam::123456789012:role/step-fn"


@pytest.fixture
def local(tmp_path):
    with LocalAWS(work_dir=tmp_path / "local", cold_start_delay=0.0) as aws:
        boto3.client("s3").create_bucket(Bucket="auth-bucket")
        aws.policies = Policies(roles={"step-fn": [
            {"Effect": "Allow", "Action": "s3:PutObject",
             "Resource": "arn:aws:s3:::auth-bucket/mine/*"}]})
        yield aws


def test_a_service_the_local_iam_does_not_map_is_refused_not_allowed(local) -> None:
    with acting_as(role_session(ROLE, "step")), pytest.raises(ClientError) as refused:
        boto3.client("sqs").create_queue(QueueName="anything")
    assert "local IAM cannot decide this call" in str(refused.value)
    assert "sqs:CreateQueue" in str(refused.value)
    boto3.client("sqs").create_queue(QueueName="anything")  # the harness may


def test_a_policy_it_cannot_read_refuses_the_call_and_leaves_s3_writable(local) -> None:
    local.policies.buckets["auth-bucket"] = [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
         "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}}]
    s3 = boto3.client("s3")
    with acting_as(role_session(ROLE, "step")), pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="auth-bucket", Key="mine/a", Body=b"x")
    assert "NumericLessThan" in str(refused.value)
    done = threading.Event()
    threading.Thread(target=lambda: (s3.put_object(Bucket="auth-bucket", Key="b", Body=b"y"),
                                     done.set()), daemon=True).start()
    assert done.wait(10), "S3 writes hang after a refused call"
