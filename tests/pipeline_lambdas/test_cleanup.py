"""Cleanup keeps what the endpoint really uses, the rollback target and the newest versions."""

from __future__ import annotations

import boto3

from pipeline_lambdas.cleanup import cleanup
from pipeline_lambdas.deployment import deploy
from pipeline_lambdas.endpoint_config import create_model_and_config
from pipeline_lambdas.settings import PipelineSettings
from tests.support.local_account import artifact_uri, settle


def test_keeps_live_previous_and_newest_deletes_the_rest(aws, settings) -> None:
    sm = boto3.client("sagemaker")
    names = [create_model_and_config(sm, settings, f"v{i}", artifact_uri("good")).model_name
             for i in range(1, 7)]
    other = PipelineSettings(**{**settings.__dict__, "project_name": "other"})
    create_model_and_config(sm, other, "v1", artifact_uri("good"))
    deploy(sm, settings.endpoint_name, names[2])  # the endpoint serves v3
    settle(sm, settings.endpoint_name, names[2])

    result = cleanup(sm, settings.endpoint_name, f"{settings.project_name}-"
                     f"{settings.environment}-", keep=2, previous_config=names[1])
    assert sorted(result.kept) == sorted([names[1], names[2], names[4], names[5]])
    assert sorted(result.deleted_configs) == sorted([names[0], names[3]])
    assert sorted(result.deleted_models) == sorted([names[0], names[3]])
    remaining = {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]}
    assert names[2] in remaining and "other-test-v1" in remaining
    # Run again: nothing more to delete.
    again = cleanup(sm, settings.endpoint_name, "calltime-test-", keep=2,
                    previous_config=names[1])
    assert again.deleted_configs == [] and again.deleted_models == []
