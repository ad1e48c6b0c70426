"""The contract between the state machine and the steps: names, keys and limits, written once."""

from __future__ import annotations

import pytest

from pipeline_lambdas import contract as c
from pipeline_lambdas.errors import SettingsError
from pipeline_lambdas.events import model_version


# The messages and the common bad values are asserted where the settings are read
# (test_settings.py, test_run_input.py, tests/infra/test_settings.py); here, the edges.
def test_serverless_limits_accept_both_ends() -> None:
    c.check_serverless(1024, 1, "memory", "concurrency")
    c.check_serverless(6144, 200, "memory", "concurrency")


@pytest.mark.parametrize(("memory", "concurrency", "message"), [
    (7168, 10, "memory=7168"),
    (True, 10, "memory=True"),
    (1024, 2.0, "concurrency=2.0"),
    (1024, False, "concurrency=False"),
])
def test_serverless_limits_refuse_past_the_ends_and_other_types(
        memory: object, concurrency: object, message: str) -> None:
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


def test_model_versions_sort_as_their_runs_started_and_a_retry_gets_the_same_one() -> None:
    """docs/developing.md: `model_version` is the start time + a hash of the execution name:
    sortable, the same on retries (an event that already carries one keeps it)."""
    starts = ["2026-01-04T03:00:00Z", "2026-01-04T03:00:01.5+00:00", "2026-01-04T06:59:59+03:00",
              "2026-02-01T00:00:00Z", "2026-12-31T23:59:59Z"]
    versions = [model_version({"execution_name": f"run-{9 - i}", "execution_start": start})
                for i, start in enumerate(starts)]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    again = {"execution_name": "run-9", "execution_start": starts[0]}
    assert model_version(dict(again)) == versions[0]  # a retry of the same execution
    assert model_version({**again, "execution_name": "run-other"}) != versions[0]
    assert model_version({**again, "model_version": versions[3]}) == versions[3]


def test_the_longest_accepted_names_still_make_valid_sagemaker_names() -> None:
    """The synth-time length check is tied to the versions the pipeline really makes."""
    version = model_version({"execution_name": "run", "execution_start": "2026-12-31T23:59:59Z"})
    assert len(version) == len(c.MODEL_VERSION_EXAMPLE)
    c.check_name_lengths("p", "p" * 19, "e", "e" * 19)  # 38 together: accepted
    assert len(c.versioned_name("p" * 19, "e" * 19, version)) == 63
    with pytest.raises(SettingsError, match=r"too long together.* within 38 characters"):
        c.check_name_lengths("p", "p" * 20, "e", "e" * 19)
    with pytest.raises(SettingsError, match="64 characters"):
        c.versioned_name("p" * 20, "e" * 19, version)
