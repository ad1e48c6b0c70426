"""Step 8 core: put the endpoint back on the config that served before this run.

With a previous config: wait out any deployment still in progress, update back to the previous
config unless SageMaker already kept it, wait for InService ON that config, and re-run the
health invocation on the restored model. The previous config is Deploy's, else the one the
endpoint served when the run started (CreateModelAndConfig read it before anything was touched):
an endpoint that served before this run is never deleted. Without either (a failed first
deployment): delete the endpoint so nothing half-deployed is left serving. Anything else raises
`RollbackFailed`, which says what state the endpoint was left in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from pipeline_lambdas.clients import client
from pipeline_lambdas.contract import IN_PROGRESS_STATUSES, PipelineMetric
from pipeline_lambdas.deployment import describe
from pipeline_lambdas.errors import HealthCheckFailed, RollbackFailed
from pipeline_lambdas.events import read_field
from pipeline_lambdas.health import HEALTH_CHECK_SECONDS, health_check
from pipeline_lambdas.observability import MetricUnit, metrics, step_handler
from pipeline_lambdas.settings import PipelineSettings
from pipeline_lambdas.time_budget import Budget


@dataclass(frozen=True)
class RollbackResult:
    action: str  # "restored", "kept-previous", "deleted" or "nothing-to-do"
    endpoint_name: str
    endpoint_config_name: str | None
    health_latency_ms: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _wait_settled(sagemaker, endpoint: str, timeout: float, poll: float,
                  sleep: Callable[[float], None]) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while True:
        current = describe(sagemaker, endpoint)
        if current is None or current["EndpointStatus"] not in IN_PROGRESS_STATUSES:
            return current
        left = deadline - time.monotonic()
        if left <= 0:
            raise RollbackFailed(f"{endpoint} still {current['EndpointStatus']} after "
                                 f"{timeout:.0f} s; left on {current.get('EndpointConfigName')}")
        sleep(min(poll, left))


def rollback(sagemaker, runtime, endpoint_name: str, previous_config: str | None,
             max_latency_ms: float, timeout: float = 720.0, poll: float = 15.0,
             sleep: Callable[[float], None] = time.sleep,
             deployed_config: str | None = None, budget: Budget | None = None,
             config_at_start: str | None = None) -> RollbackResult:
    """`deployed_config`, when given, is this run's config: without a previous config the
    endpoint is deleted only if it is that config's (a failed first deployment), never an
    endpoint this run did not create. Every wait ends within `budget` (the invocation's time
    left), so a slow endpoint ends in RollbackFailed saying where it was left, not in a killed
    function that reports nothing."""
    budget = budget or Budget.unlimited()
    previous_config = previous_config or config_at_start or None
    # The waits leave the health check (a cold start of the restored config) its full time.
    waits = Budget(budget.deadline - HEALTH_CHECK_SECONDS)
    current = _wait_settled(sagemaker, endpoint_name, waits.cap(timeout), poll, sleep)
    if current is None:
        return RollbackResult("nothing-to-do", endpoint_name, None)
    if previous_config is None:
        configs = {current.get("EndpointConfigName"),
                   current.get("PendingDeploymentSummary", {}).get("EndpointConfigName")}
        if deployed_config is not None and deployed_config not in configs:
            return RollbackResult("nothing-to-do", endpoint_name,
                                  current.get("EndpointConfigName"))
        sagemaker.delete_endpoint(EndpointName=endpoint_name)
        return RollbackResult("deleted", endpoint_name, None)
    action = "kept-previous"
    if not (current["EndpointStatus"] == "InService"
            and current.get("EndpointConfigName") == previous_config):
        sagemaker.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=previous_config)
        action = "restored"
        sleep(min(poll, 1.0))
        current = _wait_settled(sagemaker, endpoint_name, waits.cap(timeout), poll, sleep)
        if current is None or current["EndpointStatus"] != "InService" or \
                current.get("EndpointConfigName") != previous_config:
            state = "missing" if current is None else (
                f"{current['EndpointStatus']} on {current.get('EndpointConfigName')} "
                f"({current.get('FailureReason') or 'no reason given'})")
            raise RollbackFailed(f"could not restore {previous_config}: endpoint is {state}")
    try:
        report = health_check(runtime, endpoint_name, max_latency_ms, budget)
    except HealthCheckFailed as err:
        raise RollbackFailed(f"{previous_config} is back in service but fails its health "
                             f"check: {err}") from err
    return RollbackResult(action, endpoint_name, previous_config, report.latency_ms)


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = PipelineSettings.from_env()
    # The state machine passes "" for "none" (its placeholders cannot be null).
    previous = read_field(event, "previous_endpoint_config_name", str, None) or None
    try:
        result = rollback(client("sagemaker"), client("sagemaker-runtime"),
                          settings.endpoint_name, previous, settings.health_max_latency_ms,
                          poll=read_field(event, "poll_seconds", (int, float), 15.0),
                          deployed_config=read_field(event, "endpoint_config_name", str,
                                                     None) or None, budget=Budget.of(context),
                          config_at_start=read_field(event, "endpoint_config_at_start", str,
                                                     "") or None)
    except RollbackFailed:
        metrics.add_metric(name=PipelineMetric.ROLLBACK_FAILED, unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name=PipelineMetric.ROLLBACKS, unit=MetricUnit.Count, value=1)
    return result.to_dict()
