"""boto3 clients, created once per Lambda container (per boto3 default session)."""

from __future__ import annotations

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
