"""Find and fetch the model the endpoint really serves (DescribeEndpoint -> config -> model)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from urllib.parse import urlparse

from pipeline_lambdas.deployment import describe


def live_artifact_uri(sagemaker, endpoint_name: str) -> str | None:
    endpoint = describe(sagemaker, endpoint_name)
    if endpoint is None or endpoint["EndpointStatus"] != "InService":
        return None
    config = sagemaker.describe_endpoint_config(
        EndpointConfigName=endpoint["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return model["PrimaryContainer"]["ModelDataUrl"]


def fetch(s3, uri: str, directory: Path) -> Path:
    parsed = urlparse(uri)
    data = s3.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"].read()
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(directory, filter="data")
    return directory
