"""A step's waits end before Lambda would kill the function."""

from __future__ import annotations

import math

from localaws.lambdas import LambdaContext
from pipeline_lambdas.time_budget import Budget

# docs/operating.md ("Timing"): every wait inside a step ends 15 s before the function's timeout.
MARGIN_SECONDS = 15


def test_the_budget_is_the_invocations_time_left_less_the_margin() -> None:
    context = LambdaContext(function_name="f", invoked_function_arn="arn", timeout_seconds=60)
    budget = Budget.of(context)
    assert 60 - MARGIN_SECONDS - 1 < budget.left() <= 60 - MARGIN_SECONDS
    assert budget.cap(10) == 10
    assert budget.cap(3600) <= 60 - MARGIN_SECONDS


def test_no_time_left_means_no_waiting_and_no_context_means_no_limit() -> None:
    short = LambdaContext(function_name="f", invoked_function_arn="arn", timeout_seconds=5)
    assert Budget.of(short).left() == 0 and Budget.of(short).cap(300) == 0
    assert Budget.of(None).left() == math.inf and Budget.of(None).cap(300) == 300
