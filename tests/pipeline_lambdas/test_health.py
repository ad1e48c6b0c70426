"""The health invocation passes a good model and names what is wrong with a bad one."""

from __future__ import annotations

import boto3
import pytest

from pipeline_lambdas.deployment import deploy
from pipeline_lambdas.endpoint_config import create_model_and_config
from pipeline_lambdas.errors import HealthCheckFailed
from pipeline_lambdas.health import (
    HealthReport,
    check_seed_format,
    check_slots_format,
    health_check,
)
from tests.support.local_account import artifact_uri, settle, upload_lying_artifact


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


def test_latency_bound_and_missing_endpoint(aws, settings) -> None:
    _deploy(settings, "good", "good")
    with pytest.raises(HealthCheckFailed, match="exceeds the 0 ms bound"):
        health_check(boto3.client("sagemaker-runtime"), settings.endpoint_name, 0)
    with pytest.raises(HealthCheckFailed, match="ValidationException"):
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
