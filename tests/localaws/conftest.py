"""A local AWS with a models bucket holding a good artifact and several broken ones."""

from __future__ import annotations

import time
from collections.abc import Iterator

import boto3
import pytest

from localaws.runtime import LocalAWS
from localaws.scenarios import rewrite_artifact

BUCKET = "calltime-models"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"


@pytest.fixture(scope="session")
def artifacts(trained) -> dict[str, bytes]:
    good = trained.artifact.read_bytes()
    return {
        "good": good,
        "import_error": rewrite_artifact(good, {
            "code/inference.py": b"import not_a_module_anywhere\n"}),
        "model_fn_raises": rewrite_artifact(good, {"model.npz": b"tampered"}),
        "not_a_tarball": b"this is not a tar.gz",
    }


def _deploy_objects(artifacts: dict[str, bytes]) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for name, data in artifacts.items():
        s3.put_object(Bucket=BUCKET, Key=f"models/{name}/model.tar.gz", Body=data)


@pytest.fixture
def aws(artifacts, tmp_path) -> Iterator[LocalAWS]:
    with LocalAWS(work_dir=tmp_path / "local", ping_timeout=20) as runtime:
        _deploy_objects(artifacts)
        yield runtime


@pytest.fixture
def silent_aws(artifacts, tmp_path) -> Iterator[LocalAWS]:
    with LocalAWS(work_dir=tmp_path / "local", ping_timeout=20,
                  silent_update_failures=True) as runtime:
        _deploy_objects(artifacts)
        yield runtime


def create_config(name: str, artifact: str, concurrency: int = 200, memory: int = 1024) -> None:
    sm = boto3.client("sagemaker")
    sm.create_model(ModelName=f"model-{name}", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": IMAGE,
        "ModelDataUrl": f"s3://{BUCKET}/models/{artifact}/model.tar.gz",
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py",
                        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": f"model-{name}",
        "ServerlessConfig": {"MemorySizeInMB": memory, "MaxConcurrency": concurrency}}])


def wait_status(endpoint: str, leaving: tuple[str, ...], timeout: float = 40) -> dict:
    sm = boto3.client("sagemaker")
    deadline = time.monotonic() + timeout
    while True:
        description = sm.describe_endpoint(EndpointName=endpoint)
        if description["EndpointStatus"] not in leaving or time.monotonic() > deadline:
            return description
        time.sleep(0.05)
