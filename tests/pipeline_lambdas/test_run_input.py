"""The execution input: every field optional, each checked by name."""

from __future__ import annotations

import pytest

from pipeline_lambdas.errors import InvalidStepInput
from pipeline_lambdas.run_input import RUN_FIELDS, validate_run_input


def test_all_fields_may_be_given() -> None:
    run = {"data_uri": "s3://b/data/x.csv", "force_deploy": True, "memory_size_mb": 2048,
           "max_concurrency": 20, "poll_seconds": 0, "max_checks": 5,
           "rollback_poll_seconds": 0.5, "deploy_version": ""}
    assert validate_run_input(run) == run
    assert set(run) == set(RUN_FIELDS)
    assert validate_run_input({}) == dict.fromkeys(RUN_FIELDS)


@pytest.mark.parametrize(("run", "message"), [
    ({"forse_deploy": True}, "unknown input field(s) 'forse_deploy'"),
    ({"force_deploy": "yes"}, "'force_deploy' must be bool"),
    ({"memory_size_mb": 1000}, "input field 'memory_size_mb'=1000"),
    ({"memory_size_mb": 0}, "input field 'memory_size_mb'=0"),
    ({"max_concurrency": 0}, "input field 'max_concurrency'=0"),
    ({"max_concurrency": 500}, "input field 'max_concurrency'=500"),
    ({"memory_size_mb": True}, "'memory_size_mb' must be a number"),
    ({"data_uri": "/local/calls.csv"}, "'data_uri' must be an s3:// URI"),
    ({"max_checks": 0}, "'max_checks' must be >= 1"),
    ({"poll_seconds": -1}, "'poll_seconds' must be >= 0"),
    ({"rollback_poll_seconds": 0}, "'rollback_poll_seconds' must be > 0"),
    ({"deploy_version": "../other/v1"}, "'deploy_version' must be a model version"),
    ({"deploy_version": 7}, "'deploy_version' must be str"),
    ({"deploy_version": None}, "'deploy_version' must be str"),
    ({"deploy_version": "20260601T000000Z-aa11bb", "data_uri": "s3://b/data/x.csv"},
     "'deploy_version' and 'data_uri' exclude each other"),
])
def test_bad_input_is_refused_naming_the_field(run: dict, message: str) -> None:
    with pytest.raises(InvalidStepInput) as err:
        validate_run_input(run)
    assert message in str(err.value)


def test_data_uri_must_be_where_the_training_function_may_read() -> None:
    assert validate_run_input({"data_uri": "s3://models/data/calls/"}, "models")["data_uri"]
    for uri in ("s3://other-bucket/data/calls.csv", "s3://models/models/x.csv",
                "s3://models-2/data/x.csv"):
        with pytest.raises(InvalidStepInput, match=r"'data_uri' must be under s3://models/data/"):
            validate_run_input({"data_uri": uri}, "models")
