"""Where a call log is: an S3 URI of one object or of a prefix of CSV/Parquet parts. Kept apart
from the training step so the scale-out workers import no model code (scikit-learn alone is
about 100 MB of a worker's memory)."""

from __future__ import annotations

from urllib.parse import urlparse

from training.call_log import InvalidCallLog

LOG_SUFFIXES = (".csv", ".parquet")


def split_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise InvalidCallLog(f"data_uri {uri!r} is not an s3://bucket/key-or-prefix URI")
    return parsed.netloc, parsed.path.lstrip("/")


def list_parts(s3, uri: str) -> list[tuple[str, int]]:
    """(s3 uri, size) of the object at uri or of every CSV/Parquet object under it, by key."""
    bucket, key = split_uri(uri)
    if key.lower().endswith(LOG_SUFFIXES):
        size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
        return [(uri, size)]
    found = [(obj["Key"], obj["Size"]) for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=key) for obj in page.get("Contents", [])
        if obj["Key"].lower().endswith(LOG_SUFFIXES)]
    if not found:
        raise InvalidCallLog(f"no .csv or .parquet objects under {uri}")
    return [(f"s3://{bucket}/{k}", size) for k, size in sorted(found)]
