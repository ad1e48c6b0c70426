"""The pipeline cores run against the local runtime: moto S3 and the local SageMaker."""

from __future__ import annotations

import time

import boto3
import pytest

from localaws.scenarios import garbage_artifact
from pipeline_lambdas.deployment import CheckResult, DeploymentState, check
from pipeline_lambdas.settings import PipelineSettings
from tests.localaws.conftest import (
    BUCKET,
    IMAGE,
    ROLE,
    artifacts,
    aws,
    silent_aws,
)

__all__ = ["artifacts", "aws", "silent_aws"]


@pytest.fixture
def settings() -> PipelineSettings:
    return PipelineSettings(project_name="calltime", environment="test", models_bucket=BUCKET,
                            container_image=IMAGE, execution_role_arn=ROLE)


def artifact_uri(name: str) -> str:
    return f"s3://{BUCKET}/models/{name}/model.tar.gz"


def upload_lying_artifact(trained) -> str:
    """A model that loads and pings fine but answers garbage; returns its S3 URI."""
    data = garbage_artifact(trained.artifact.read_bytes())
    boto3.client("s3").put_object(Bucket=BUCKET, Key="models/lying/model.tar.gz", Body=data)
    return artifact_uri("lying")


def settle(sagemaker, endpoint: str, config: str,
           timeout: float = 40) -> tuple[CheckResult, list[DeploymentState]]:
    """Check until the deployment leaves IN_PROGRESS; the result and every state seen."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        result = check(sagemaker, endpoint, config)
        seen.append(result.state)
        if result.state is not DeploymentState.IN_PROGRESS or time.monotonic() > deadline:
            return result, seen
        time.sleep(0.05)
