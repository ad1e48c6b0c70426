"""The health invocation passes a good model and names what is wrong with a bad one."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from localaws.runtime import LocalAWS
from pipeline_lambdas import health
from pipeline_lambdas.deployment import deploy
from pipeline_lambdas.endpoint_config import create_model_and_config
from pipeline_lambdas.errors import HealthCheckFailed
from pipeline_lambdas.health import (
    HealthReport,
    check_seed_format,
    check_slots_format,
    health_check,
    warm_up,
)
from tests.support.clock import FakeClock
from tests.support.local_account import (
    artifact_uri,
    put_artifacts,
    settle,
    upload_lying_artifact,
)


def _deploy(settings, name: str, artifact: str) -> None:
    sm = boto3.client("sagemaker")
    config = create_model_and_config(sm, settings, name, artifact_uri(artifact))
    deploy(sm, settings.endpoint_name, config.endpoint_config_name)
    settle(sm, settings.endpoint_name, config.endpoint_config_name)


def test_a_good_model_passes_with_latencies(aws, settings) -> None:
    _deploy(settings, "good", "good")
    report = health_check(boto3.client("sagemaker-runtime"), settings.endpoint_name, 5000)
    assert report.problems == []
    assert set(report.latency_ms) == {"features", "contacts"}


def test_a_model_that_answers_garbage_fails_with_every_problem_named(aws, trained,
                                                                      settings) -> None:
    upload_lying_artifact(trained)
    _deploy(settings, "lying", "lying")
    with pytest.raises(HealthCheckFailed) as err:
        health_check(boto3.client("sagemaker-runtime"), settings.endpoint_name, 5000)
    message = str(err.value)
    assert "features: predictions outside [0, 1]: [1.7, 1.7, 1.7]" in message
    assert "outside the calling window" in message
    # Its three identical bad slots are one problem, counted, not the same line three times.
    problems = message.split("; ")
    assert len(problems) == len(set(problems))
    assert "outside the calling window (x3)" in message


def test_latency_bound_and_missing_endpoint(aws, settings) -> None:
    _deploy(settings, "good", "good")
    with pytest.raises(HealthCheckFailed, match="exceeds the 0 ms bound"):
        health_check(boto3.client("sagemaker-runtime"), settings.endpoint_name, 0)
    with pytest.raises(HealthCheckFailed, match="ValidationError"):
        health_check(boto3.client("sagemaker-runtime"), "no-such-endpoint", 5000)


@pytest.mark.parametrize(("payload", "problem"), [
    ({"predictions": [0.2, 0.3]}, "expected 3 predictions"),
    ({"predictions": [0.2, float("nan"), 0.1]}, "outside [0, 1]"),
    ({"oops": 1}, "expected 3 predictions"),
])
def test_seed_format_checks(payload, problem) -> None:
    report = HealthReport("e")
    check_seed_format(payload, report)
    assert problem in report.problems[0]


def test_slot_checks_catch_order_and_shape() -> None:
    report = HealthReport("e")
    slots = [{"day": "monday", "hour": 9, "answer_probability": p} for p in (0.1, 0.5, 0.3)]
    check_slots_format({"recommendations": [
        {"contact_id": "canary-evening", "slots": slots},
        {"contact_id": "canary-cold", "slots": slots[:1]}]}, report)
    assert any("not sorted best first" in p for p in report.problems)
    assert any("expected 3 slots" in p for p in report.problems)


@pytest.mark.slow
def test_a_cold_start_is_waited_out_before_the_canaries_are_timed(artifacts, tmp_path,
                                                                  settings) -> None:
    """SageMaker's first call after a deployment pays the cold start (here 4 s): timed against
    a bound below it, it failed every first deployment. The warm-up takes it; the canaries run
    warm (no second cold start), so the check passes a bound the cold start alone exceeds."""
    with LocalAWS(work_dir=tmp_path / "local", ping_timeout=20, cold_start_delay=4.0) as aws:
        put_artifacts(artifacts)
        _deploy(settings, "good", "good")
        report = health_check(boto3.client("sagemaker-runtime"), settings.endpoint_name, 3900)
        [cold_start] = aws.sagemaker.cold_starts()[settings.endpoint_name]
    assert report.warm_up_ms >= 4000
    assert report.warm_up_ms >= cold_start["invocation_seconds"] * 1000  # paid in the warm-up


class _Runtime:
    """invoke_endpoint answering a scripted list of errors, then success."""

    def __init__(self, *errors: tuple[str, int]) -> None:
        self.errors = list(errors)
        self.calls = 0

    def invoke_endpoint(self, **_: object) -> dict:
        self.calls += 1
        if self.errors:
            code, status = self.errors.pop(0)
            if code == "ReadTimeout":
                raise ReadTimeoutError(endpoint_url="https://runtime.sagemaker")
            raise ClientError({"Error": {"Code": code, "Message": "m"},
                               "ResponseMetadata": {"HTTPStatusCode": status}}, "InvokeEndpoint")
        return {}


def test_warm_up_retries_what_a_setting_up_endpoint_answers() -> None:
    runtime = _Runtime(("ModelNotReadyException", 429), ("ThrottlingException", 400),
                       ("ServiceUnavailable", 503), ("InternalDependencyException", 530),
                       ("ReadTimeout", 0))
    slept: list[float] = []
    warm_up(runtime, "ep", budget_seconds=100, sleep=slept.append)
    assert runtime.calls == 6 and slept == [1.0, 2.0, 4.0, 8.0, 10.0]


def test_warm_up_stops_at_an_answer_from_the_model_or_a_client_error() -> None:
    for error in (("ModelError", 424), ("ValidationError", 400)):
        runtime = _Runtime(error)
        warm_up(runtime, "ep", budget_seconds=100, sleep=lambda _: None)
        assert runtime.calls == 1


def test_warm_up_gives_up_within_its_budget_naming_the_last_answer() -> None:
    runtime = _Runtime(*[("ModelNotReadyException", 429)] * 50)
    with pytest.raises(HealthCheckFailed, match=r"within 10 s of warming up.*ModelNotReady"):
        warm_up(runtime, "ep", budget_seconds=10, sleep=lambda _: None)
    assert runtime.calls < 6


def test_warm_up_waits_three_minutes_by_default_as_sagemakers_setup_limit(monkeypatch) -> None:
    """docs/operating.md: the health check warms the endpoint "for up to 3 minutes" (SageMaker's
    setup limit for model download and /ping), retrying what a setting-up endpoint answers."""
    clock = FakeClock().install(monkeypatch, health)
    runtime = _Runtime(*[("ModelNotReadyException", 429)] * 100)
    with pytest.raises(HealthCheckFailed, match=r"within 180 s of warming up"):
        warm_up(runtime, "ep", sleep=clock.sleep)
    assert 170 <= clock.elapsed <= 180 and max(clock.slept) == 10.0
    runtime = _Runtime(*[("ServiceUnavailable", 503)] * 20)  # answers at 175 s: waited out
    clock = FakeClock().install(monkeypatch, health)
    assert warm_up(runtime, "ep", sleep=clock.sleep) == clock.elapsed == 175.0


def test_a_canary_that_times_out_in_the_container_fails_the_health_check() -> None:
    """SageMaker answers an invocation past the container's timeout with ModelError 424
    ("Received server error (0) ... timed out": tests/localaws/test_sagemaker.py); the warm-up
    takes it as the model answering, and the canaries fail the check, naming it. (The fault
    matrix's HealthCheck-health-timeout cell, `make faults`, runs it through the state machine
    to the rollback.)"""
    timed_out = ("ModelError", 424)
    runtime = _Runtime(timed_out, timed_out, timed_out)
    with pytest.raises(HealthCheckFailed, match=r"features: ModelError.*contacts: ModelError"):
        health_check(runtime, "ep", max_latency_ms=10_000)
    assert runtime.calls == 3  # one warm-up call, then both canaries
