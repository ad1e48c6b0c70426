"""Powertools for every step: one Logger, Tracer and Metrics namespace, one handler decorator.

Logs carry the Step Functions execution name as correlation id (the state machine passes it in
`execution_name`); metrics go out as CloudWatch EMF under `POWERTOOLS_METRICS_NAMESPACE`
(default "calltime"); traces go to X-Ray when running in Lambda.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "calltime")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "calltime-pipeline")

logger = Logger()
tracer = Tracer()
metrics = Metrics()

__all__ = ["MetricUnit", "logger", "metrics", "step_handler", "tracer"]

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def step_handler(function: Handler) -> Handler:
    """Decorate a step's handler with the logging, tracing and metrics every step uses."""

    @functools.wraps(function)
    def run(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return function(event, context)

    run = tracer.capture_lambda_handler(run)
    run = logger.inject_lambda_context(correlation_id_path="execution_name")(run)
    # A step that adds no metric still flushes the cold-start one; with metrics disabled
    # (POWERTOOLS_METRICS_DISABLED, as in local runs) nothing is printed at all.
    cold_start = os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() != "true"
    return metrics.log_metrics(capture_cold_start_metric=cold_start,
                               raise_on_empty_metrics=False)(run)
