"""Deployment settings: every bad value is refused at synth time with its name in the error."""

from __future__ import annotations

import json

import pytest

from infra.settings import build, load
from pipeline_lambdas.errors import SettingsError


@pytest.mark.parametrize(("values", "message"), [
    ({"memory_size_mb": 1000}, "memory_size_mb=1000"),
    ({"max_concurrency": 0}, "max_concurrency=0"),
    ({"max_concurrency": 201}, "max_concurrency=201"),
    ({"memory_size_mb": "2048x"}, "memory_size_mb: expected int"),
    ({"schedule_time_zone": "Mars/Olympus"}, "schedule_time_zone='Mars/Olympus'"),
    ({"schedule_expression": "every sunday"}, "schedule_expression='every sunday'"),
    ({"schedule_enabled": "yes"}, "schedule_enabled: expected bool"),
    ({"project_name": "CallTime"}, "project_name='CallTime'"),
    ({"environment": "a" * 30}, "environment="),
    ({"ml_models_bucket": "Not_A_Bucket"}, "ml_models_bucket='Not_A_Bucket'"),
    ({"sagemaker_container_image": "sklearn:latest"}, "sagemaker_container_image="),
    ({"tags": {"aws:owner": "x"}}, "tags.aws:owner"),
    ({"tags": {"team": 7}}, "tags.team=7"),
    ({"versions_to_keep": 0}, "versions_to_keep=0"),
    ({"quality_gate_tolerance": -0.1}, "quality_gate_tolerance=-0.1"),
    ({"notification_email": "ops-at-example"}, "notification_email="),
    ({"alarms": {"model_latency_ms": 0}}, "alarms.model_latency_ms=0"),
    ({"alarms": {"latency": 5}}, "unknown alarm setting(s): latency"),
    ({"alarms": {"concurrency_utilization": 1.5}}, "alarms.concurrency_utilization"),
    ({"alarms": {"cold_start_ms": 180000}}, "alarms.cold_start_ms=180000: SageMaker fails"),
    ({"training_memory_mb": 512}, "training_memory_mb=512: below 1024 MB, TrainOnSample"),
    ({"training_memory_mb": 10241}, "training_memory_mb=10241: Lambda takes 128..10240"),
    ({"log_retention_days": 10}, "log_retention_days=10"),
    ({"scale_out_rows": -1}, "scale_out_rows=-1"),
    ({"scale_out_buckets": 0}, "scale_out_buckets=0"),
    ({"scale_out_concurrency": 0}, "scale_out_concurrency=0"),
    ({"region": "moon-1"}, "region='moon-1'"),
    ({"memory_sise_mb": 2048}, "unknown setting(s): memory_sise_mb"),
    ({"project_name": "p" * 20, "environment": "e" * 19}, "are too long together"),
])
def test_bad_settings_are_refused_naming_the_field(values: dict, message: str) -> None:
    with pytest.raises(SettingsError) as err:
        build(values)
    assert message in str(err.value)


def test_defaults_are_the_documented_ones() -> None:
    settings = build({})
    assert (settings.memory_size_mb, settings.max_concurrency) == (1024, 200)
    assert settings.schedule_expression == "cron(0 3 ? * SUN *)"
    assert settings.schedule_time_zone == "Asia/Jerusalem"
    assert settings.endpoint_name == "calltime-dev-optimal-call-time"


def test_context_overrides_the_file_and_strings_are_read_as_json(tmp_path) -> None:
    (tmp_path / "qa.json").write_text(json.dumps({"memory_size_mb": 2048,
                                                  "tags": {"team": "voice"}}))
    settings = load({"env": "qa", "max_concurrency": "50", "memory_size_mb": "3072"}, tmp_path)
    assert (settings.environment, settings.memory_size_mb, settings.max_concurrency) == (
        "qa", 3072, 50)
    assert settings.tags == {"team": "voice"}


def test_unknown_environment_names_the_known_ones(tmp_path) -> None:
    (tmp_path / "dev.json").write_text("{}")
    with pytest.raises(SettingsError, match=r"env='staging'.*known: dev"):
        load({"env": "staging"}, tmp_path)


def test_shipped_environment_files_are_valid() -> None:
    for env in ("dev", "prod", "local"):
        assert load({"env": env}).environment == env


def test_a_misspelt_setting_given_to_the_app_is_refused_not_ignored() -> None:
    """`calltime local pipeline -c memory_sise_mb=2048` used to run with the default."""
    from infra.app import build_app

    with pytest.raises(SettingsError, match=r"unknown setting.*memory_sise_mb"):
        build_app({"env": "dev", "memory_sise_mb": "2048"})
