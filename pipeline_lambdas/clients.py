"""boto3 clients, created once per Lambda container (per boto3 default session)."""

from __future__ import annotations

import boto3

_cache: dict[tuple[int, str], object] = {}


def client(service: str):
    """The cached client for `service`; a new default session (local runs) gets new clients."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    key = (id(boto3.DEFAULT_SESSION), service)
    if key not in _cache:
        _cache[key] = boto3.client(service)
    return _cache[key]
