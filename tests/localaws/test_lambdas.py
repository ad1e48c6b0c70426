"""In-process Lambda runs each function under its limits from the template."""

from __future__ import annotations

import json
import time

from localaws.lambdas import PAYLOAD_LIMIT, FunctionConfig, LocalLambda


def _lambda(handler, limits: FunctionConfig | None = None) -> LocalLambda:
    local = LocalLambda("us-east-1", "123456789012")
    local.register("arn:aws:lambda:us-east-1:123456789012:function:step", handler, limits)
    return local


def test_the_context_reports_the_functions_memory_and_time_left() -> None:
    local = _lambda(lambda event, context: {"memory": context.memory_limit_in_mb,
                                            "left": context.get_remaining_time_in_millis()},
                    FunctionConfig(memory_mb=512, timeout_seconds=60))
    result = json.loads(local.invoke("step", b"{}").payload)
    assert result["memory"] == 512 and 59_000 < result["left"] <= 60_000
    local.register("step", lambda event, context: context.memory_limit_in_mb)  # a new handler
    assert json.loads(local.invoke("step", b"{}").payload) == 512  # keeps the limits


def test_a_handler_past_its_timeout_fails_as_a_lambda_timeout() -> None:
    local = _lambda(lambda event, context: time.sleep(1.2) or {"done": True},
                    FunctionConfig(timeout_seconds=1))
    result = local.invoke("step", b"{}")
    error = json.loads(result.payload)
    assert result.function_error == "Unhandled" and error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]


def test_payloads_over_six_megabytes_are_refused_both_ways() -> None:
    local = _lambda(lambda event, context: {"echo": "x" * PAYLOAD_LIMIT})
    too_big = local.invoke("step", json.dumps({"x": "y" * PAYLOAD_LIMIT}).encode())
    assert too_big.status == 413 and too_big.function_error == "RequestEntityTooLargeException"
    answer = local.invoke("step", b"{}")
    assert json.loads(answer.payload)["errorType"] == "Function.ResponseSizeTooLarge"
