"""Model/config creation, deploy and check against the local SageMaker, including the silent
rollback that a status-only waiter would report as success."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from pipeline_lambdas import deployment, time_budget
from pipeline_lambdas.contract import DeploymentState
from pipeline_lambdas.deployment import check, deploy
from pipeline_lambdas.endpoint_config import create_model_and_config
from pipeline_lambdas.errors import SettingsError
from pipeline_lambdas.time_budget import Budget
from tests.support.clock import FakeClock
from tests.support.local_account import artifact_uri, settle


def test_model_and_config_are_versioned_tagged_and_idempotent(aws, settings) -> None:
    sm = boto3.client("sagemaker")
    first = create_model_and_config(sm, settings, "20260601T000000Z-aaaaaa",
                                    artifact_uri("good"), max_concurrency=50)
    assert first.created and first.model_name == "calltime-test-20260601t000000z-aaaaaa"
    config = sm.describe_endpoint_config(EndpointConfigName=first.endpoint_config_name)
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {"MemorySizeInMB": 1024,
                                                                   "MaxConcurrency": 50}
    model = sm.describe_model(ModelName=first.model_name)
    assert model["PrimaryContainer"]["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert model["PrimaryContainer"]["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == \
        "/opt/ml/model/code"
    again = create_model_and_config(sm, settings, "20260601T000000Z-aaaaaa",
                                    artifact_uri("good"), max_concurrency=50)
    assert not again.created and again.endpoint_config_name == first.endpoint_config_name
    assert len(sm.list_endpoint_configs()["EndpointConfigs"]) == 1


def test_overrides_are_validated(aws, settings) -> None:
    with pytest.raises(SettingsError, match="memory_size_mb=1500"):
        create_model_and_config(boto3.client("sagemaker"), settings, "v1", artifact_uri("good"),
                                memory_size_mb=1500)


def test_first_deploy_then_update_and_idempotent_retry(aws, settings) -> None:
    sm = boto3.client("sagemaker")
    v1 = create_model_and_config(sm, settings, "v1", artifact_uri("good"))
    created = deploy(sm, settings.endpoint_name, v1.endpoint_config_name)
    # No previous config is "", the value the state machine's direct restore tests (a null
    # would go on to restore "no config").
    assert (created.action, created.previous_endpoint_config_name) == ("created", "")
    assert created.to_dict()["previous_endpoint_config_name"] == ""
    retry = deploy(sm, settings.endpoint_name, v1.endpoint_config_name)  # still Creating
    assert retry.action == "already-deploying"
    result, _ = settle(sm, settings.endpoint_name, v1.endpoint_config_name)
    assert result.state is DeploymentState.IN_SERVICE

    v2 = create_model_and_config(sm, settings, "v2", artifact_uri("good"))
    updated = deploy(sm, settings.endpoint_name, v2.endpoint_config_name)
    assert (updated.action, updated.previous_endpoint_config_name) == \
        ("updated", v1.endpoint_config_name)
    retry = deploy(sm, settings.endpoint_name, v2.endpoint_config_name)  # no second update
    assert (retry.action, retry.previous_endpoint_config_name) == \
        ("already-deploying", v1.endpoint_config_name)
    result, seen = settle(sm, settings.endpoint_name, v2.endpoint_config_name)
    assert DeploymentState.IN_PROGRESS in seen
    assert result.state is DeploymentState.IN_SERVICE
    assert result.endpoint_config_name == v2.endpoint_config_name


def test_a_retry_that_finds_its_update_done_still_knows_the_rollback_target(aws,
                                                                          settings) -> None:
    """Deploy's first attempt updated the endpoint and its answer was lost; by the retry the
    update is done. What served before is then known only from the run's start."""
    sm = boto3.client("sagemaker")
    v1 = create_model_and_config(sm, settings, "v1", artifact_uri("good"))
    deploy(sm, settings.endpoint_name, v1.endpoint_config_name)
    settle(sm, settings.endpoint_name, v1.endpoint_config_name)
    v2 = create_model_and_config(sm, settings, "v2", artifact_uri("good"))
    assert v2.live_endpoint_config_name == v1.endpoint_config_name
    deploy(sm, settings.endpoint_name, v2.endpoint_config_name)
    settle(sm, settings.endpoint_name, v2.endpoint_config_name)
    retry = deploy(sm, settings.endpoint_name, v2.endpoint_config_name,
                   config_at_start=v2.live_endpoint_config_name)
    assert (retry.action, retry.previous_endpoint_config_name) == (
        "already-deployed", v1.endpoint_config_name)


def test_the_live_version_is_refused_before_anything_is_made(aws, settings) -> None:
    from pipeline_lambdas.errors import VersionAlreadyLive

    sm = boto3.client("sagemaker")
    v1 = create_model_and_config(sm, settings, "v1", artifact_uri("good"))
    assert v1.live_endpoint_config_name == ""  # no endpoint yet
    deploy(sm, settings.endpoint_name, v1.endpoint_config_name)
    settle(sm, settings.endpoint_name, v1.endpoint_config_name)
    with pytest.raises(VersionAlreadyLive, match=f"v1 is already live on "
                                                 f"{settings.endpoint_name}"):
        create_model_and_config(sm, settings, "v1", artifact_uri("good"))


@pytest.mark.slow  # its local accounts come by name (getfixturevalue), unseen by conftest
@pytest.mark.parametrize("runtime", ["aws", "silent_aws"])
def test_refused_update_is_detected_by_config_name_not_status(request, runtime,
                                                              settings) -> None:
    request.getfixturevalue(runtime)
    sm = boto3.client("sagemaker")
    good = create_model_and_config(sm, settings, "good", artifact_uri("good"))
    bad = create_model_and_config(sm, settings, "bad", artifact_uri("import_error"))
    deploy(sm, settings.endpoint_name, good.endpoint_config_name)
    settle(sm, settings.endpoint_name, good.endpoint_config_name)
    deploy(sm, settings.endpoint_name, bad.endpoint_config_name)
    result, _ = settle(sm, settings.endpoint_name, bad.endpoint_config_name)
    # InService, yet not on the deployed config: SageMaker kept the previous one.
    assert result.endpoint_status == "InService"
    assert result.state is DeploymentState.KEPT_PREVIOUS
    assert result.endpoint_config_name == good.endpoint_config_name
    assert result.failure_reason  # ours when SageMaker gives none


def test_failed_first_deployment_and_missing_endpoint(aws, settings) -> None:
    sm = boto3.client("sagemaker")
    bad = create_model_and_config(sm, settings, "bad", artifact_uri("not_a_tarball"))
    assert check(sm, settings.endpoint_name, bad.endpoint_config_name).state is \
        DeploymentState.FAILED
    deploy(sm, settings.endpoint_name, bad.endpoint_config_name)
    result, _ = settle(sm, settings.endpoint_name, bad.endpoint_config_name)
    assert result.state is DeploymentState.FAILED
    assert "Failed to extract model data archive" in result.failure_reason


def test_a_failed_endpoint_is_replaced_by_the_next_deployment(aws, settings) -> None:
    sm = boto3.client("sagemaker")
    bad = create_model_and_config(sm, settings, "bad", artifact_uri("not_a_tarball"))
    deploy(sm, settings.endpoint_name, bad.endpoint_config_name)
    assert settle(sm, settings.endpoint_name, bad.endpoint_config_name)[0].state is \
        DeploymentState.FAILED
    good = create_model_and_config(sm, settings, "good", artifact_uri("good"))
    result = deploy(sm, settings.endpoint_name, good.endpoint_config_name)
    assert (result.action, result.previous_endpoint_config_name) == ("created", "")
    assert settle(sm, settings.endpoint_name, good.endpoint_config_name)[0].state is \
        DeploymentState.IN_SERVICE


class _FailedThenDeleting:
    """A Failed endpoint whose deletion never finishes; SageMaker refuses changes meanwhile."""

    def __init__(self) -> None:
        self.deleted = False

    def describe_endpoint(self, EndpointName: str) -> dict:
        return {"EndpointStatus": "Deleting" if self.deleted else "Failed"}

    def delete_endpoint(self, EndpointName: str) -> None:
        self.deleted = True

    def update_endpoint(self, **_: object) -> None:
        raise ClientError({"Error": {"Code": "ValidationException",
                                     "Message": "Cannot update endpoint in status Deleting"}},
                          "UpdateEndpoint")


def test_waiting_for_a_deletion_ends_within_the_invocations_time(monkeypatch) -> None:
    """The 60 s deploy function used to wait up to 300 s for a Failed endpoint's deletion: the
    wait ends once the budget is spent (by the clock the code reads: at most one 2 s poll
    after it)."""
    clock = FakeClock().install(monkeypatch, deployment, time_budget)
    with pytest.raises(ClientError, match="in status Deleting"):
        deploy(_FailedThenDeleting(), "ep", "v2", Budget(clock.now + 5))
    assert 5 <= clock.elapsed <= 5 + 2
