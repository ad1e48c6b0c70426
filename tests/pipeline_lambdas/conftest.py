"""The pipeline cores run against the local runtime: moto S3 and the local SageMaker."""

from __future__ import annotations

import io
import tarfile

import boto3
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


# Appended to the artifact's inference.py: answers out of [0, 1] and outside any window.
LYING_PREDICT = b'''
def predict_fn(data, model):
    if isinstance(data, Rejection):
        return data
    if isinstance(data, SeedRequest):
        return {"predictions": [1.7 for _ in data.rows]}
    return {"recommendations": [{"contact_id": c.contact_id, "slots": [
        {"day": "saturday", "hour": 3, "answer_probability": 0.5}] * 3} for c in data.contacts]}
'''


def upload_lying_artifact(trained) -> str:
    """A model that loads and pings fine but answers garbage; returns its S3 URI."""
    out = io.BytesIO()
    with tarfile.open(trained.artifact) as src, tarfile.open(fileobj=out, mode="w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "code/inference.py":
                data += LYING_PREDICT
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    boto3.client("s3").put_object(Bucket=BUCKET, Key="models/lying/model.tar.gz",
                                  Body=out.getvalue())
    return artifact_uri("lying")
