"""Settings: read from the environment, refused with the variable named."""

from __future__ import annotations

import pytest

from pipeline_lambdas.errors import SettingsError
from pipeline_lambdas.settings import PipelineSettings

ENV = {"PROJECT_NAME": "calltime", "ENVIRONMENT": "prod", "MODELS_BUCKET": "b",
       "CONTAINER_IMAGE": "img", "SAGEMAKER_EXECUTION_ROLE_ARN": "arn:aws:iam::1:role/r"}


def test_defaults_and_names() -> None:
    settings = PipelineSettings.from_env(ENV)
    assert (settings.memory_size_mb, settings.max_concurrency) == (1024, 200)
    assert settings.endpoint_name == "calltime-prod-optimal-call-time"
    assert settings.versioned_name("20260601T000000Z-ab12cd") == \
        "calltime-prod-20260601t000000z-ab12cd"


@pytest.mark.parametrize(("change", "message"), [
    ({"MODELS_BUCKET": ""}, "MODELS_BUCKET is not set"),
    ({"MEMORY_SIZE_MB": "1000"}, "MEMORY_SIZE_MB=1000: must be one of"),
    ({"MEMORY_SIZE_MB": "lots"}, "MEMORY_SIZE_MB='lots' is not an integer"),
    ({"MEMORY_SIZE_MB": "1500"}, "MEMORY_SIZE_MB=1500: must be one of 1024"),
    ({"MAX_CONCURRENCY": "201"}, "MAX_CONCURRENCY=201: must be an integer 1..200"),
    ({"MAX_CONCURRENCY": "0"}, "MAX_CONCURRENCY=0"),
    ({"PROJECT_NAME": "Call Time"}, "PROJECT_NAME='Call Time'"),
])
def test_bad_settings_name_the_variable(change: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        PipelineSettings.from_env({**ENV, **change})
