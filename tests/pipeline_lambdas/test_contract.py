"""The contract between the state machine and the steps: names, keys and limits, written once."""

from __future__ import annotations

import pytest

from pipeline_lambdas import contract as c
from pipeline_lambdas.errors import SettingsError


@pytest.mark.parametrize(("memory", "concurrency"), [(1024, 1), (6144, 200), (3072, 50)])
def test_serverless_limits_accept_what_sagemaker_accepts(memory: int, concurrency: int) -> None:
    c.check_serverless(memory, concurrency, "memory", "concurrency")


@pytest.mark.parametrize(("memory", "concurrency", "message"), [
    (1000, 10, "memory=1000: must be one of 1024, 2048"),
    (7168, 10, "memory=7168"),
    (True, 10, "memory=True"),
    (1024, 0, "concurrency=0: must be an integer 1..200"),
    (1024, 201, "concurrency=201"),
    (1024, 2.0, "concurrency=2.0"),
    (1024, False, "concurrency=False"),
])
def test_serverless_limits_refuse_the_rest_naming_the_field(memory: object, concurrency: object,
                                                            message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        c.check_serverless(memory, concurrency, "memory", "concurrency")


def test_names_and_keys() -> None:
    assert c.endpoint_name("calltime", "prod") == "calltime-prod-optimal-call-time"
    assert c.resource_prefix("calltime", "prod") == "calltime-prod"
    assert c.staging_prefix("v1") == "staging/v1/"
    assert c.version_prefix("v1") == "models/optimal-call-time/v1/"
    assert c.notification_key("run-1", c.Outcome.DEPLOYED) == \
        "notifications/run-1/deployed.json"
    assert c.DEFAULT_CALLS_PREFIX.startswith(c.DATA_PREFIX)


@pytest.mark.parametrize("name", ["Calltime", "a b", "-x", "x" * 22, ""])
def test_project_and_environment_names_are_refused_by_field(name: str) -> None:
    with pytest.raises(SettingsError, match="project_name="):
        c.check_name("project_name", name)


def test_run_refused_is_the_lock_errors_name() -> None:
    from pipeline_lambdas.errors import DeploymentInProgress

    assert c.RUN_REFUSED_ERROR == DeploymentInProgress.__name__ == "DeploymentInProgress"
