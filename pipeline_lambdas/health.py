"""Step 7 core: invoke the endpoint with canary requests in both formats and judge the answers.

First it warms the endpoint: a freshly deployed serverless endpoint cold-starts on its first
call (model download, the container's `pip install` of code/, model load; 10-15 s is normal), so
that call is retried through ModelNotReadyException, throttling and 5xx for up to SageMaker's
3-minute setup limit and is not timed against the latency bound. Then it checks, warm, the
status, the response schema, that probabilities are in [0, 1], that every recommended slot is
inside the requested window, and that each call answered within the latency bound. Anything
wrong raises `HealthCheckFailed` with every problem found, so the state machine can Catch it by
name and roll back.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline_lambdas.clients import client
from pipeline_lambdas.contract import PipelineMetric
from pipeline_lambdas.errors import HealthCheckFailed
from pipeline_lambdas.observability import MetricUnit, metrics, step_handler
from pipeline_lambdas.settings import PipelineSettings
from pipeline_lambdas.time_budget import Budget

CANARY_WINDOW = {"monday": [9, 12], "wednesday": [17, 21], "friday": [9, 14]}
CANARY_SEED = {"features": [[1, 19, 0.4], [3, 9, 0.1], [0, 12, 0.9, 5]]}
CANARY_SLOTS = {
    "contacts": [
        {"contact_id": "canary-evening", "timezone": "Asia/Jerusalem", "history": [
            {"called_at": "2026-05-04T16:30:00Z", "answered": True, "duration_seconds": 40},
            {"called_at": "2026-05-06T07:00:00Z", "answered": False}]},
        {"contact_id": "canary-cold"},
    ],
    "calling_window": CANARY_WINDOW, "top_k": 3, "as_of": "2026-06-01T06:00:00Z"}


@dataclass
class HealthReport:
    endpoint_name: str
    warm_up_ms: float = 0.0  # until the endpoint first answered (a cold start, if any)
    latency_ms: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# SageMaker gives a container 3 minutes to load the model and answer /ping.
SETUP_LIMIT_SECONDS = 180.0
# What the canaries may take once warm (two calls, each at most the 60 s invocation timeout).
CANARY_SECONDS = 120.0
# Answers that mean "not ready yet" while an endpoint sets up (codes, or any HTTP 5xx).
WARMING_UP = ("ModelNotReadyException", "ThrottlingException", "ServiceUnavailable",
              "InternalFailure", "InternalDependencyException")
HEALTH_CHECK_SECONDS = SETUP_LIMIT_SECONDS + CANARY_SECONDS  # the most a health check takes


def warm_up(runtime, endpoint: str, budget_seconds: float = SETUP_LIMIT_SECONDS,
            sleep: Callable[[float], None] = time.sleep) -> float:
    """Invoke until the endpoint answers at all; return the seconds it took. An answer from the
    model, even a 4xx, means it is up; other errors are left to the canaries to report."""
    started = time.monotonic()
    delay = 1.0
    while True:
        try:
            runtime.invoke_endpoint(EndpointName=endpoint, ContentType="application/json",
                                    Accept="application/json", Body=json.dumps(CANARY_SEED))
            return time.monotonic() - started
        except (ClientError, BotoCoreError) as err:  # BotoCoreError: timeouts, resets
            if isinstance(err, ClientError):
                code = err.response["Error"]["Code"]
                status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if code not in WARMING_UP and status < 500:
                    return time.monotonic() - started
                last = f"{code}: {err.response['Error'].get('Message', '')}"
            else:
                last = f"{type(err).__name__}: {err}"
            waited = time.monotonic() - started
            if waited + delay > budget_seconds:
                raise HealthCheckFailed(
                    f"{endpoint} did not answer within {budget_seconds:.0f} s of warming up "
                    f"(last: {last})") from err
            sleep(delay)
            delay = min(delay * 2, 10.0)


def _call(runtime, endpoint: str, body: dict, report: HealthReport, label: str,
          max_latency_ms: float) -> dict | None:
    started = time.perf_counter()
    try:
        response = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="application/json",
                                           Accept="application/json", Body=json.dumps(body))
        payload = json.loads(response["Body"].read())
    except ClientError as err:
        report.problems.append(f"{label}: {err.response['Error']['Code']}: "
                               f"{err.response.get('OriginalMessage') or err}")
        return None
    except BotoCoreError as err:
        report.problems.append(f"{label}: {type(err).__name__}: {err}")
        return None
    except json.JSONDecodeError as err:
        report.problems.append(f"{label}: response is not JSON ({err})")
        return None
    elapsed = (time.perf_counter() - started) * 1000
    report.latency_ms[label] = round(elapsed, 1)
    if elapsed > max_latency_ms:
        report.problems.append(f"{label}: {elapsed:.0f} ms exceeds the {max_latency_ms:.0f} ms "
                               "bound")
    return payload


def _probability(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and 0 <= value <= 1)


def check_seed_format(payload: dict, report: HealthReport) -> None:
    predictions = payload.get("predictions")
    if not isinstance(predictions, list) or len(predictions) != len(CANARY_SEED["features"]):
        report.problems.append(f"features: expected {len(CANARY_SEED['features'])} "
                               f"predictions, got {predictions!r:.200}")
        return
    bad = [p for p in predictions if not _probability(p)]
    if bad:
        report.problems.append(f"features: predictions outside [0, 1]: {bad}")


def check_slots_format(payload: dict, report: HealthReport) -> None:
    recommendations = payload.get("recommendations")
    expected = [c["contact_id"] for c in CANARY_SLOTS["contacts"]]
    if not isinstance(recommendations, list) or [
            r.get("contact_id") for r in recommendations if isinstance(r, dict)] != expected:
        report.problems.append(f"contacts: expected recommendations for {expected}, got "
                               f"{recommendations!r:.200}")
        return
    for rec in recommendations:
        slots = rec.get("slots")
        if not isinstance(slots, list) or len(slots) != CANARY_SLOTS["top_k"]:
            report.problems.append(f"contacts[{rec['contact_id']}]: expected "
                                   f"{CANARY_SLOTS['top_k']} slots, got {slots!r:.200}")
            continue
        for slot in slots:
            window = CANARY_WINDOW.get(slot.get("day"))
            if window is None or not window[0] <= slot.get("hour", -1) < window[1]:
                report.problems.append(f"contacts[{rec['contact_id']}]: slot {slot} is outside "
                                       "the calling window")
            if not _probability(slot.get("answer_probability")):
                report.problems.append(f"contacts[{rec['contact_id']}]: answer_probability "
                                       f"{slot.get('answer_probability')!r} outside [0, 1]")
        probabilities = [s.get("answer_probability", 0) for s in slots]
        if probabilities != sorted(probabilities, reverse=True):
            report.problems.append(f"contacts[{rec['contact_id']}]: slots not sorted best first")


def health_check(runtime, endpoint_name: str, max_latency_ms: float,
                 budget: Budget | None = None) -> HealthReport:
    """Warm the endpoint up, then invoke it with both canaries; raise HealthCheckFailed
    listing every problem found. The warm-up takes at most SageMaker's setup limit, or what
    `budget` leaves after the canaries' share."""
    budget = budget or Budget.unlimited()
    report = HealthReport(endpoint_name)
    warm_budget = min(SETUP_LIMIT_SECONDS, max(1.0, budget.left() - CANARY_SECONDS))
    report.warm_up_ms = round(warm_up(runtime, endpoint_name, warm_budget) * 1000, 1)
    seed = _call(runtime, endpoint_name, CANARY_SEED, report, "features", max_latency_ms)
    if seed is not None:
        check_seed_format(seed, report)
    slots = _call(runtime, endpoint_name, CANARY_SLOTS, report, "contacts", max_latency_ms)
    if slots is not None:
        check_slots_format(slots, report)
    if report.problems:
        raise HealthCheckFailed("; ".join(distinct(report.problems)))
    return report


def distinct(problems: list[str]) -> list[str]:
    """Each problem once, in the order found, with how often it was found (three identical
    bad slots are one problem seen three times, not three lines to read)."""
    counts = Counter(problems)
    return [p if counts[p] == 1 else f"{p} (x{counts[p]})" for p in dict.fromkeys(problems)]


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = PipelineSettings.from_env()
    report = health_check(client("sagemaker-runtime"), settings.endpoint_name,
                          settings.health_max_latency_ms, Budget.of(context))
    metrics.add_metric(name=PipelineMetric.HEALTH_LATENCY_MS, unit=MetricUnit.Milliseconds,
                       value=max(report.latency_ms.values()))
    return report.to_dict()
