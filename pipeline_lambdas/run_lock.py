"""One run at a time may touch the endpoint: a lock object in S3 written with If-None-Match.

S3's conditional write makes the first writer win atomically; a second execution that starts
while one is deploying fails fast with `DeploymentInProgress` naming the holder. Release deletes
the object only if it is still ours (If-Match on its ETag), so a late release cannot free a lock
another run has taken over. A lock older than `ttl_seconds` (a run that died without releasing)
may be taken over.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from pipeline_lambdas.clients import client
from pipeline_lambdas.errors import DeploymentInProgress
from pipeline_lambdas.events import read_field
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.run_input import validate_run_input
from pipeline_lambdas.settings import PipelineSettings


@dataclass(frozen=True)
class Lock:
    bucket: str
    key: str
    owner: str
    etag: str
    took_over: str | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def acquire(s3, bucket: str, key: str, owner: str, ttl_seconds: int = 6 * 3600) -> Lock:
    body = json.dumps({"owner": owner, "acquired_at": _now().isoformat()}).encode()
    stale_owner: str | None = None
    for attempt in range(2):
        try:
            response = s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*",
                                     ContentType="application/json")
            return Lock(bucket, key, owner, response["ETag"], took_over=stale_owner)
        except ClientError as err:
            if err.response["Error"]["Code"] not in ("PreconditionFailed",
                                                     "ConditionalRequestConflict"):
                raise
        current = s3.get_object(Bucket=bucket, Key=key)
        holder = json.loads(current["Body"].read())
        if holder["owner"] == owner:  # a retry of our own step: we already hold it
            return Lock(bucket, key, owner, current["ETag"])
        age = (_now() - dt.datetime.fromisoformat(holder["acquired_at"])).total_seconds()
        if age < ttl_seconds or attempt == 1:
            raise DeploymentInProgress(
                f"execution {holder['owner']} has been deploying since {holder['acquired_at']};"
                f" this run ({owner}) did not touch the endpoint")
        stale_owner = holder["owner"]
        try:  # stale: remove exactly that lock, then try once more
            s3.delete_object(Bucket=bucket, Key=key, IfMatch=current["ETag"])
        except ClientError as err:
            if err.response["Error"]["Code"] != "PreconditionFailed":
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def release(s3, bucket: str, key: str, owner: str) -> bool:
    """Delete the lock if `owner` holds it; True when it did. Safe to repeat."""
    try:
        current = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if err.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return False
        raise
    if json.loads(current["Body"].read())["owner"] != owner:
        return False
    try:
        s3.delete_object(Bucket=bucket, Key=key, IfMatch=current["ETag"])
    except ClientError as err:
        if err.response["Error"]["Code"] == "PreconditionFailed":
            return False
        raise
    return True


@step_handler
def acquire_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Validate the run's input (`run`, when given), then take the lock."""
    settings = PipelineSettings.from_env()
    validate_run_input(read_field(event, "run", dict, {}), settings.models_bucket)
    lock = acquire(client("s3"), settings.models_bucket, settings.lock_key,
                   read_field(event, "execution_name", str))
    return {"lock": f"s3://{lock.bucket}/{lock.key}", "owner": lock.owner,
            "took_over": lock.took_over}


@step_handler
def release_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = PipelineSettings.from_env()
    released = release(client("s3"), settings.models_bucket, settings.lock_key,
                       read_field(event, "execution_name", str))
    return {"released": released}
