"""Every outcome is published exactly once per execution, and a Publish that fails is not
taken for one that succeeded."""

from __future__ import annotations

import json
from dataclasses import replace

import boto3
import pytest
from botocore.exceptions import ClientError

from pipeline_lambdas.contract import Outcome
from pipeline_lambdas.notify import notify
from tests.support.local_account import BUCKET


@pytest.fixture
def topic(aws, settings):
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    arn = sns.create_topic(Name="calltime-test-notifications")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)

    def received() -> list[dict]:
        messages = []
        while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get(
                "Messages"):
            for message in batch:
                messages.append(json.loads(json.loads(message["Body"])["Message"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return messages

    return replace(settings, topic_arn=arn), received


def test_every_outcome_is_published_once_however_often_notify_runs(topic) -> None:
    settings, received = topic
    sns, s3 = boto3.client("sns"), boto3.client("s3")
    for outcome in Outcome:
        for _ in range(2):  # a retried Notify
            notify(sns, s3, settings, outcome.value, {"model_version": "v1"}, f"run-{outcome}",
                   "us-east-1")
    assert sorted(m["outcome"] for m in received()) == sorted(o.value for o in Outcome)


def test_every_outcome_links_to_the_endpoint_the_execution_and_the_report(topic) -> None:
    """docs/operating.md: each outcome is published with links to the endpoint, the execution
    and the report (a run that trained no version has no report to link)."""
    settings, received = topic
    sns, s3 = boto3.client("sns"), boto3.client("s3")
    arn = "arn:aws:states:il-central-1:111122223333:execution:calltime-dev-retraining:run-7"
    for outcome in Outcome:
        notify(sns, s3, settings, outcome.value, {"model_version": "v7"}, f"run-{outcome}",
               "il-central-1", execution_arn=arn)
    notify(sns, s3, settings, "failed", {}, "run-untrained", "il-central-1",
           execution_arn=arn)
    messages = received()
    assert len(messages) == len(Outcome) + 1
    for message in messages:
        links = message["links"]
        assert links["endpoint"].startswith("https://il-central-1.console.aws.amazon.com/")
        assert links["endpoint"].endswith(f"#/endpoints/{settings.endpoint_name}")
        assert links["execution"].endswith(f"/executions/details/{arn}")
        if message.get("model_version") == "v7":
            assert links["report"] == f"s3://{settings.models_bucket}/" \
                f"{settings.models_prefix.rstrip('/')}/v7/report.html"
        else:
            assert "report" not in links


def test_a_failed_publish_is_sent_by_the_next_try(topic) -> None:
    settings, _ = topic
    sns, s3 = boto3.client("sns"), boto3.client("s3")
    sns.delete_topic(TopicArn=settings.topic_arn)  # SNS refuses: the topic is gone
    with pytest.raises(ClientError):
        notify(sns, s3, settings, "deployed", {}, "run-1", "us-east-1")
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="notifications/run-1/")
    sns.create_topic(Name="calltime-test-notifications")  # the same ARN again
    out = notify(sns, s3, settings, "deployed", {}, "run-1", "us-east-1")
    assert out["published"] is True
