"""The step handlers, chained as the state machine will chain them, on the local runtime:
a first deployment, a concurrent run refused by the lock, and a model that fails its health
check rolled back to the previous one, which then answers as before."""

from __future__ import annotations

import datetime as dt
import json
import time

import boto3
import pytest

from localaws.lambdas import LambdaContext
from pipeline_lambdas import (
    cleanup,
    deployment,
    endpoint_config,
    health,
    notify,
    package_step,
    quality_gate,
    rollback,
    run_lock,
    train_step,
)
from pipeline_lambdas.errors import DeploymentInProgress, InvalidStepInput
from tests.support.local_account import BUCKET, IMAGE, ROLE, upload_lying_artifact

PROBE = json.dumps({"features": [[1, 19, 0.4], [4, 10, 0.2]]})


def step(handler, event: dict) -> dict:
    context = LambdaContext(function_name=handler.__module__.split(".")[-1],
                            invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:"
                                                 "function:step")
    return handler(event, context)


@pytest.fixture
def pipeline_env(aws, demo_log, monkeypatch):
    topic = boto3.client("sns").create_topic(Name="calltime-test")["TopicArn"]
    for key, value in {"PROJECT_NAME": "calltime", "ENVIRONMENT": "test",
                       "MODELS_BUCKET": BUCKET, "CONTAINER_IMAGE": IMAGE,
                       "SAGEMAKER_EXECUTION_ROLE_ARN": ROLE, "TOPIC_ARN": topic,
                       "HEALTH_MAX_LATENCY_MS": "10000"}.items():
        monkeypatch.setenv(key, value)
    boto3.client("s3").put_object(Bucket=BUCKET, Key="data/calls/part-0.csv",
                                  Body=demo_log[0].read_bytes())
    return aws


def _settle(config: str) -> dict:
    deadline = time.monotonic() + 40
    while True:
        checked = step(deployment.check_handler, {"endpoint_config_name": config})
        if checked["state"] != "IN_PROGRESS" or time.monotonic() > deadline:
            return checked
        time.sleep(0.05)


def _answers() -> list[float]:
    response = boto3.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="calltime-test-optimal-call-time", ContentType="application/json",
        Body=PROBE)
    return json.loads(response["Body"].read())["predictions"]


@pytest.mark.slow
def test_first_run_concurrent_run_and_rollback(pipeline_env, trained) -> None:
    run = {"execution_name": "run-1", "execution_start": "2026-06-01T03:00:00Z"}
    taken = step(run_lock.acquire_handler, run)
    assert taken["owner"] == "run-1"
    train_out = step(train_step.handler, run)
    version = train_out["model_version"]
    assert version.startswith("20260601T030000Z-")
    assert step(train_step.handler, run)["model_version"] == version  # a retry: same version
    assert train_out["rows_rejected"] > 0 and train_out["live_model_version"] is None

    # A second execution starting now must not deploy.
    with pytest.raises(DeploymentInProgress, match="run-1"):
        step(run_lock.acquire_handler, {"execution_name": "run-2"})

    packaged = step(package_step.handler, {"model_version": version})
    gate = step(quality_gate.handler, {"model_version": version})
    assert gate["decision"] == "deploy" and "first deployment" in gate["reason"]
    config = step(endpoint_config.handler, {"model_version": version,
                                            "artifact_uri": packaged["artifact_uri"],
                                            "max_concurrency": 20})
    deployed = step(deployment.deploy_handler,
                    {"endpoint_config_name": config["endpoint_config_name"]})
    assert deployed["previous_endpoint_config_name"] == ""  # none: the first deployment
    # The Wait/Check loop is bounded: a check past max_attempts while in progress times out.
    bounded = step(deployment.check_handler, {
        "endpoint_config_name": config["endpoint_config_name"], "attempt": 3,
        "max_attempts": 3})
    assert bounded["state"] == "TIMED_OUT" and "after 3 checks" in bounded["failure_reason"]
    assert _settle(config["endpoint_config_name"])["state"] == "IN_SERVICE"
    done = step(deployment.check_handler, {
        "endpoint_config_name": config["endpoint_config_name"],
        "deploy_started_at": deployed["deploy_started_at"]})
    since = (dt.datetime.now(dt.UTC)
             - dt.datetime.fromisoformat(deployed["deploy_started_at"])).total_seconds()
    # deploy_seconds is rounded to 0.1 s: at most half of that above the true time.
    assert done["state"] == "IN_SERVICE" and 0 < done["deploy_seconds"] <= since + 0.05
    report = step(health.handler, {})
    assert report["problems"] == []
    cleaned = step(cleanup.handler, {})
    assert cleaned["kept"] == [config["endpoint_config_name"]]  # the only version, now live
    note = {"outcome": "deployed", "execution_name": "run-1",
            "details": {"model_version": version, "roc_auc": train_out["roc_auc"]}}
    assert step(notify.handler, note)["published"] is True
    sent = json.loads(boto3.client("s3").get_object(
        Bucket=BUCKET, Key="notifications/run-1/deployed.json")["Body"].read())
    assert sent["model_version"] == version and sent["links"]["report"].endswith(
        f"{version}/report.html")
    again = step(notify.handler, note)  # a retried Notify does not send twice
    assert again == {"outcome": "deployed", "published": False, "reason": "already notified",
                     "history": "1 runs"}  # ... nor add the run twice to the history
    assert step(run_lock.release_handler, {**run, "etag": taken["etag"]}) == {"released": True}
    before = _answers()

    # A later run deploys a model that loads but answers garbage: health fails, rollback.
    assert step(run_lock.acquire_handler, {"execution_name": "run-3"})["owner"] == "run-3"
    lying = step(endpoint_config.handler, {"model_version": "lying",
                                           "artifact_uri": upload_lying_artifact(trained)})
    redeployed = step(deployment.deploy_handler,
                      {"endpoint_config_name": lying["endpoint_config_name"]})
    assert redeployed["previous_endpoint_config_name"] == config["endpoint_config_name"]
    assert _settle(lying["endpoint_config_name"])["state"] == "IN_SERVICE"
    with pytest.raises(health.HealthCheckFailed, match="outside"):
        step(health.handler, {})
    restored = step(rollback.handler, {
        "previous_endpoint_config_name": redeployed["previous_endpoint_config_name"],
        "poll_seconds": 0.05})
    assert restored["action"] == "restored"
    assert _answers() == before


def test_inputs_are_checked_by_name(pipeline_env) -> None:
    with pytest.raises(InvalidStepInput, match="'outcome' must be one of"):
        step(notify.handler, {"outcome": "party", "execution_name": "x"})
    with pytest.raises(InvalidStepInput, match="'model_version' is required"):
        step(package_step.handler, {})
    with pytest.raises(InvalidStepInput, match="'max_concurrency' must be int"):
        step(endpoint_config.handler, {"model_version": "v", "artifact_uri": "s3://b/k",
                                       "max_concurrency": "200"})
