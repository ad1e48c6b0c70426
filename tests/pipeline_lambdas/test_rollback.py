"""Deploy -> check -> health succeeds; a model that fails its health check is rolled back and
the endpoint then answers with the previous model's answers."""

from __future__ import annotations

import json

import boto3
import pytest

from pipeline_lambdas import rollback as rollback_module
from pipeline_lambdas import time_budget
from pipeline_lambdas.contract import DeploymentState
from pipeline_lambdas.deployment import deploy
from pipeline_lambdas.endpoint_config import create_model_and_config
from pipeline_lambdas.errors import HealthCheckFailed, RollbackFailed
from pipeline_lambdas.health import HEALTH_CHECK_SECONDS, health_check
from pipeline_lambdas.rollback import rollback
from pipeline_lambdas.time_budget import Budget
from tests.support.clock import FakeClock
from tests.support.local_account import artifact_uri, settle, upload_lying_artifact

PROBE = json.dumps({"features": [[1, 19, 0.4], [4, 10, 0.2]]})


def _answers(endpoint: str) -> list[float]:
    response = boto3.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint, ContentType="application/json", Body=PROBE)
    return json.loads(response["Body"].read())["predictions"]


def test_deploy_check_health_then_rollback_restores_previous_answers(aws, trained,
                                                                     settings) -> None:
    sm, runtime = boto3.client("sagemaker"), boto3.client("sagemaker-runtime")
    endpoint = settings.endpoint_name
    v1 = create_model_and_config(sm, settings, "v1", artifact_uri("good"))
    deploy(sm, endpoint, v1.endpoint_config_name)
    assert settle(sm, endpoint, v1.endpoint_config_name)[0].state is DeploymentState.IN_SERVICE
    health_check(runtime, endpoint, 5000)
    before = _answers(endpoint)

    v2 = create_model_and_config(sm, settings, "v2", upload_lying_artifact(trained))
    result = deploy(sm, endpoint, v2.endpoint_config_name)
    assert settle(sm, endpoint, v2.endpoint_config_name)[0].state is DeploymentState.IN_SERVICE
    with pytest.raises(HealthCheckFailed):
        health_check(runtime, endpoint, 5000)
    assert _answers(endpoint) == [1.7, 1.7]

    restored = rollback(sm, runtime, endpoint, result.previous_endpoint_config_name, 5000,
                        poll=0.05)
    assert restored.action == "restored"
    current = sm.describe_endpoint(EndpointName=endpoint)
    assert (current["EndpointStatus"], current["EndpointConfigName"]) == \
        ("InService", v1.endpoint_config_name)
    assert _answers(endpoint) == before


def test_rollback_of_a_refused_update_needs_no_update(aws, settings) -> None:
    sm, runtime = boto3.client("sagemaker"), boto3.client("sagemaker-runtime")
    endpoint = settings.endpoint_name
    v1 = create_model_and_config(sm, settings, "v1", artifact_uri("good"))
    deploy(sm, endpoint, v1.endpoint_config_name)
    settle(sm, endpoint, v1.endpoint_config_name)
    bad = create_model_and_config(sm, settings, "bad", artifact_uri("import_error"))
    result = deploy(sm, endpoint, bad.endpoint_config_name)
    # Roll back while the failed update is still in progress: it waits, then finds v1 kept.
    restored = rollback(sm, runtime, endpoint, result.previous_endpoint_config_name, 5000,
                        poll=0.05)
    assert restored.action == "kept-previous"
    assert restored.endpoint_config_name == v1.endpoint_config_name


def test_failed_first_deployment_is_deleted(aws, settings) -> None:
    sm, runtime = boto3.client("sagemaker"), boto3.client("sagemaker-runtime")
    bad = create_model_and_config(sm, settings, "bad", artifact_uri("import_error"))
    deploy(sm, settings.endpoint_name, bad.endpoint_config_name)
    restored = rollback(sm, runtime, settings.endpoint_name, None, 5000, poll=0.05)
    assert restored.action == "deleted"
    assert sm.list_endpoints()["Endpoints"] == []


def test_without_a_rollback_target_an_endpoint_this_run_did_not_create_is_kept(
        aws, settings) -> None:
    """A run whose Deploy step failed before recording a rollback target must not delete the
    live endpoint: without a previous config, only this run's own config is deleted."""
    sm, runtime = boto3.client("sagemaker"), boto3.client("sagemaker-runtime")
    live = create_model_and_config(sm, settings, "live", artifact_uri("good"))
    deploy(sm, settings.endpoint_name, live.endpoint_config_name)
    settle(sm, settings.endpoint_name, live.endpoint_config_name)
    ours = create_model_and_config(sm, settings, "ours", artifact_uri("good"))
    result = rollback(sm, runtime, settings.endpoint_name, None, 5000, poll=0.05,
                      deployed_config=ours.endpoint_config_name)
    assert result.action == "nothing-to-do"
    assert result.endpoint_config_name == live.endpoint_config_name
    endpoint = sm.describe_endpoint(EndpointName=settings.endpoint_name)
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == (
        "InService", live.endpoint_config_name)


def test_an_endpoint_that_served_when_the_run_started_is_never_deleted(aws, settings) -> None:
    """Deploy found the endpoint already on this run's config and recorded no previous one (a
    retry whose update was done; before VersionAlreadyLive, a deploy_version of the live
    version): the health check failed. What served at the run's start is the target, and
    Rollback keeps it serving; it does not delete the endpoint."""
    sm, runtime = boto3.client("sagemaker"), boto3.client("sagemaker-runtime")
    live = create_model_and_config(sm, settings, "live", artifact_uri("good"))
    deploy(sm, settings.endpoint_name, live.endpoint_config_name)
    settle(sm, settings.endpoint_name, live.endpoint_config_name)
    result = rollback(sm, runtime, settings.endpoint_name, None, 5000, poll=0.05,
                      deployed_config=live.endpoint_config_name,
                      config_at_start=live.endpoint_config_name)
    assert (result.action, result.endpoint_config_name) == ("kept-previous",
                                                            live.endpoint_config_name)
    endpoint = sm.describe_endpoint(EndpointName=settings.endpoint_name)
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == (
        "InService", live.endpoint_config_name)


class _StuckEndpoint:
    """DescribeEndpoint that never leaves Updating."""

    def describe_endpoint(self, EndpointName: str) -> dict:
        return {"EndpointStatus": "Updating", "EndpointConfigName": "v1"}


def test_every_wait_ends_within_the_invocations_time(monkeypatch) -> None:
    """A 15-minute function used to wait up to 720 s twice plus a health check: killed, it
    reported nothing. Now the wait ends before the budget and says where it left things."""
    clock = FakeClock().install(monkeypatch, rollback_module, time_budget)
    with pytest.raises(RollbackFailed, match="still Updating after 0 s; left on v1"):
        rollback(_StuckEndpoint(), None, "ep", "v0", 3000, poll=0.05, sleep=clock.sleep,
                 budget=Budget(clock.now + 0.3))
    assert clock.slept == []  # 0.3 s leave nothing once the health check's time is kept
    clock = FakeClock().install(monkeypatch, rollback_module, time_budget)
    with pytest.raises(RollbackFailed, match="still Updating after 60 s; left on v1"):
        rollback(_StuckEndpoint(), None, "ep", "v0", 3000, poll=15, sleep=clock.sleep,
                 budget=Budget(clock.now + HEALTH_CHECK_SECONDS + 60))
    assert clock.elapsed == 60 and clock.slept == [15, 15, 15, 15]  # not the 720 s timeout
