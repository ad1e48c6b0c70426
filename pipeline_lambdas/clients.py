"""boto3 clients, created once per Lambda container (per boto3 default session)."""

from __future__ import annotations

import os

import boto3
from botocore.config import Config

_cache: dict[tuple[int, str], object] = {}
# InvokeEndpoint: SageMaker gives the model 60 s to answer; one attempt per call, because the
# health check retries itself within its time budget (botocore's own retries would not be).
_CONFIG = {"sagemaker-runtime": Config(connect_timeout=5, read_timeout=70,
                                       retries={"max_attempts": 1, "mode": "standard"})}


def client(service: str):
    """The cached client for `service`; a new default session (local runs) gets new clients."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    key = (id(boto3.DEFAULT_SESSION), service)
    if key not in _cache:
        _cache[key] = boto3.client(service, config=_CONFIG.get(service))
    return _cache[key]


def at_init(*services: str) -> None:
    """Inside a Lambda environment, create these clients now: at the handler module's import,
    Lambda's INIT (once an environment), not in its first invocation. botocore reads the
    service's model and endpoint rules to make one: about 0.2 s of CPU for S3, which every
    environment pays once either way (AWS's advice: clients outside the handler). Elsewhere
    (tests, tools) nothing is made at import."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        for service in services:
            client(service)
