"""Find and fetch the model the endpoint really serves (DescribeEndpoint -> config -> model)."""

from __future__ import annotations

import datetime as dt
import io
import json
import tarfile
from pathlib import Path
from urllib.parse import urlparse

from pipeline_lambdas.deployment import describe


def live_model(sagemaker, endpoint_name: str) -> dict | None:
    """DescribeModel of the model an InService endpoint serves, or None."""
    endpoint = describe(sagemaker, endpoint_name)
    if endpoint is None or endpoint["EndpointStatus"] != "InService":
        return None
    config = sagemaker.describe_endpoint_config(
        EndpointConfigName=endpoint["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return {**model, "EndpointConfigName": endpoint["EndpointConfigName"]}


def live_artifact_uri(sagemaker, endpoint_name: str) -> str | None:
    model = live_model(sagemaker, endpoint_name)
    return None if model is None else model["PrimaryContainer"]["ModelDataUrl"]


def record_live_model(sagemaker, ssm, endpoint_name: str, parameter: str) -> dict | None:
    """Write what the endpoint serves to an SSM parameter (the stack outputs its name).

    Read from DescribeEndpoint, never from what the run intended, so after a rollback it names
    the model that is really answering. None (and nothing written) when nothing is in service.
    """
    model = live_model(sagemaker, endpoint_name)
    if model is None:
        return None
    record = {"endpoint_name": endpoint_name, "model_name": model["ModelName"],
              "endpoint_config_name": model["EndpointConfigName"],
              "model_data_url": model["PrimaryContainer"]["ModelDataUrl"],
              "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    ssm.put_parameter(Name=parameter, Value=json.dumps(record), Type="String", Overwrite=True)
    return record


def fetch(s3, uri: str, directory: Path) -> Path:
    parsed = urlparse(uri)
    data = s3.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"].read()
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(directory, filter="data")
    return directory
