"""A local account for tests: a models bucket holding a good artifact and broken ones, SageMaker
models and configs made from them, and waits on endpoint states."""

from __future__ import annotations

import time

import boto3

from localaws.artifact_faults import garbage_artifact, rewrite_artifact
from pipeline_lambdas.contract import DeploymentState
from pipeline_lambdas.deployment import CheckResult, check

BUCKET = "calltime-models"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"


def artifacts_from(good: bytes) -> dict[str, bytes]:
    """The good artifact and several that fail to deploy, each differently."""
    return {
        "good": good,
        "import_error": rewrite_artifact(good, {
            "code/inference.py": b"import not_a_module_anywhere\n"}),
        "model_fn_raises": rewrite_artifact(good, {"model.npz": b"tampered"}),
        "not_a_tarball": b"this is not a tar.gz",
    }


def put_artifacts(artifacts: dict[str, bytes]) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for name, data in artifacts.items():
        s3.put_object(Bucket=BUCKET, Key=f"models/{name}/model.tar.gz", Body=data)


def artifact_uri(name: str) -> str:
    return f"s3://{BUCKET}/models/{name}/model.tar.gz"


def upload_lying_artifact(trained) -> str:
    """A model that loads and pings fine but answers garbage; returns its S3 URI."""
    data = garbage_artifact(trained.artifact.read_bytes())
    boto3.client("s3").put_object(Bucket=BUCKET, Key="models/lying/model.tar.gz", Body=data)
    return artifact_uri("lying")


def create_config(name: str, artifact: str, concurrency: int = 200, memory: int = 1024) -> None:
    sm = boto3.client("sagemaker")
    sm.create_model(ModelName=f"model-{name}", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": IMAGE,
        "ModelDataUrl": artifact_uri(artifact),
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
