"""The pipeline cores run against the local runtime: moto S3 and the local SageMaker."""

from __future__ import annotations

import pytest

from pipeline_lambdas.settings import PipelineSettings
from tests.localaws.conftest import BUCKET, IMAGE, ROLE, artifacts, aws, silent_aws

__all__ = ["artifacts", "aws", "silent_aws"]


@pytest.fixture
def settings() -> PipelineSettings:
    return PipelineSettings(project_name="calltime", environment="test", models_bucket=BUCKET,
                            container_image=IMAGE, execution_role_arn=ROLE)


def artifact_uri(name: str) -> str:
    return f"s3://{BUCKET}/models/{name}/model.tar.gz"
