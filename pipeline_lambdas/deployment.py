"""Steps 5 and 6 cores: create or update the endpoint, then read where it really stands.

SageMaker can refuse an update silently: the endpoint goes back to InService on its PREVIOUS
config, sometimes with an empty FailureReason. So the only trustworthy signal is the endpoint's
actual EndpointConfigName compared with the one deployed, never the status alone.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from pipeline_lambdas.clients import client
from pipeline_lambdas.contract import IN_PROGRESS_STATUSES, DeploymentState, PipelineMetric
from pipeline_lambdas.events import read_field
from pipeline_lambdas.observability import MetricUnit, metrics, step_handler
from pipeline_lambdas.settings import PipelineSettings
from pipeline_lambdas.time_budget import Budget


@dataclass(frozen=True)
class DeployResult:
    endpoint_name: str
    endpoint_config_name: str
    # The rollback target: "" when nothing served before this run (a first deployment). The
    # state machine's own restore compares it with "" (its placeholders cannot be null).
    previous_endpoint_config_name: str
    action: str  # "created", "updated", or on a retry "already-deploying"/"already-deployed"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CheckResult:
    state: DeploymentState
    endpoint_status: str
    endpoint_config_name: str | None
    failure_reason: str

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state.value}


def describe(sagemaker, endpoint_name: str) -> dict[str, Any] | None:
    try:
        return sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as err:
        if err.response["Error"]["Code"] == "ValidationException":
            return None
        raise


def _wait_deleted(sagemaker, endpoint_name: str, timeout: float = 300.0,
                  poll: float = 2.0) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while (current := describe(sagemaker, endpoint_name)) is not None:
        if time.monotonic() > deadline:
            return current  # still Deleting: the update below fails with SageMaker's message
        time.sleep(poll)
    return None


def deploy(sagemaker, endpoint_name: str, config_name: str, budget: Budget | None = None,
           config_at_start: str = "") -> DeployResult:
    """Create the endpoint if missing, else update it to config_name. Waiting for a Failed
    endpoint's deletion ends within `budget` (the invocation's time left).

    `config_at_start` is what the endpoint served before this run touched it
    (CreateModelAndConfig read it). A retry after a first attempt whose call went through (its
    response lost) finds the endpoint already deploying config_name (PendingDeploymentSummary)
    or serving it, and does not call again; the rollback target is still the config serving
    before this deployment, which only `config_at_start` still knows once the update is done.
    """
    current = describe(sagemaker, endpoint_name)
    if current is not None and current["EndpointStatus"] == "Failed":
        # A Failed endpoint serves nothing and cannot be updated: replace it.
        sagemaker.delete_endpoint(EndpointName=endpoint_name)
        current = _wait_deleted(sagemaker, endpoint_name,
                                (budget or Budget.unlimited()).cap(300.0))
    if current is None:
        sagemaker.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name)
        return DeployResult(endpoint_name, config_name, "", "created")
    status, live_config = current["EndpointStatus"], current.get("EndpointConfigName") or ""
    pending = current.get("PendingDeploymentSummary", {}).get("EndpointConfigName")
    if pending == config_name:
        previous = config_at_start if status == "Creating" else live_config
        return DeployResult(endpoint_name, config_name, previous or config_at_start,
                            "already-deploying")
    if live_config == config_name and status == "InService":
        return DeployResult(endpoint_name, config_name, config_at_start, "already-deployed")
    sagemaker.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name)
    return DeployResult(endpoint_name, config_name, live_config or config_at_start, "updated")


def check(sagemaker, endpoint_name: str, deployed_config: str) -> CheckResult:
    """One DescribeEndpoint, classified for the state machine's Wait/Choice loop."""
    current = describe(sagemaker, endpoint_name)
    if current is None:
        return CheckResult(DeploymentState.FAILED, "Missing", None,
                           f"endpoint {endpoint_name} does not exist")
    status = current["EndpointStatus"]
    live = current.get("EndpointConfigName")
    reason = current.get("FailureReason", "")
    if status in IN_PROGRESS_STATUSES:
        state = DeploymentState.IN_PROGRESS
    elif status == "InService" and live == deployed_config:
        state = DeploymentState.IN_SERVICE
    elif status == "InService":
        state = DeploymentState.KEPT_PREVIOUS
        reason = reason or (f"SageMaker kept {live} in service instead of {deployed_config} "
                            "and gave no reason")
    else:
        state = DeploymentState.FAILED
    return CheckResult(state, status, live, reason)


@step_handler
def deploy_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = PipelineSettings.from_env()
    result = deploy(client("sagemaker"), settings.endpoint_name,
                    read_field(event, "endpoint_config_name", str), Budget.of(context),
                    read_field(event, "endpoint_config_at_start", str, ""))
    return {**result.to_dict(), "deploy_started_at": dt.datetime.now(dt.UTC).isoformat()}


@step_handler
def check_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One check per call; `attempt` (1, 2, ...) against `max_attempts` bounds the loop."""
    settings = PipelineSettings.from_env()
    result = check(client("sagemaker"), settings.endpoint_name,
                   read_field(event, "endpoint_config_name", str))
    attempt = read_field(event, "attempt", int, 1)
    max_attempts = read_field(event, "max_attempts", int, 120)
    out = {**result.to_dict(), "attempt": attempt, "next_attempt": attempt + 1}
    if result.state is DeploymentState.IN_PROGRESS and attempt >= max_attempts:
        out["state"] = DeploymentState.TIMED_OUT.value
        out["failure_reason"] = (f"still {result.endpoint_status} after {attempt} checks; "
                                 "the rollback step waits it out")
    if result.state is DeploymentState.IN_SERVICE and event.get("deploy_started_at"):
        started = dt.datetime.fromisoformat(read_field(event, "deploy_started_at", str))
        seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
        metrics.add_metric(name=PipelineMetric.DEPLOY_SECONDS, unit=MetricUnit.Seconds,
                           value=seconds)
        out["deploy_seconds"] = round(seconds, 1)
    return out
