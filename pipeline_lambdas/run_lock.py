"""One run at a time may touch the endpoint: a lock object in S3 changed only by conditional
writes, never deleted.

The first acquire creates the object with `If-None-Match: *`; every later change (take,
release, take over a stale lock) is a `PutObject` with `If-Match` on the ETag just read, so the
first writer wins atomically and a second execution fails fast with `DeploymentInProgress`
naming the holder. Release marks the lock free (owner null) with If-Match on the ETag its own
acquire returned, so a late release cannot free a lock another run has taken over and needs
no read. Never deleting keeps the lock correct in the versioned models bucket whatever S3 does
with a delete marker under `If-None-Match`, and keeps the lock roles to GetObject and PutObject
on one key (reading a key that was deleted would need s3:ListBucket to get 404 rather than 403).
The lock records its owner's execution ARN. A run that finds it held asks Step Functions
about the owner (DescribeExecution): an owner that is no longer RUNNING (stopped by an operator,
timed out, failed without reaching ReleaseLock, or gone) leaves a lock that is taken over at
once. Should that question go unanswered, a lock older than `ttl_seconds` (by default the state
machine's timeout: no execution lives longer, so its owner is dead) may still be taken over.
`unlock` is the operators' way to free it by hand (`calltime unlock`), refused while the owner
runs.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from pipeline_lambdas.clients import client
from pipeline_lambdas.contract import RUN_TIMEOUT_SECONDS
from pipeline_lambdas.errors import DeploymentInProgress, LockUnreadable
from pipeline_lambdas.events import read_field
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.run_input import validate_run_input
from pipeline_lambdas.settings import PipelineSettings

_LOST_RACE = ("PreconditionFailed", "ConditionalRequestConflict")
_ABSENT = ("NoSuchKey", "AccessDenied")  # without s3:ListBucket, S3 answers 403 for no key


def owner_running(sfn, execution_arn: str | None) -> bool | None:
    """Whether the lock owner's execution still runs: None when that cannot be told (no ARN
    recorded, or Step Functions did not answer), so the caller falls back to the lock's age."""
    if not execution_arn or sfn is None:
        return None
    try:
        return sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    except ClientError as err:
        if err.response["Error"]["Code"] == "ExecutionDoesNotExist":
            return False
        return None


@dataclass(frozen=True)
class Lock:
    bucket: str
    key: str
    owner: str
    etag: str
    took_over: str | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _holder(current: dict[str, Any], bucket: str, key: str) -> tuple[dict[str, Any], bytes]:
    """The lock's content as this pipeline writes it, and its bytes; LockUnreadable, naming the
    lock, what is wrong with it and what to do, for anything else (a lock held without the time
    it was taken cannot be aged either)."""
    raw = current["Body"].read()
    try:
        holder = json.loads(raw)
        problem = None if isinstance(holder, dict) else "not a JSON object"
    except ValueError:
        holder, problem = None, "not JSON"
    if problem is None:
        owner = holder.get("owner")
        if owner is not None and not isinstance(owner, str):
            problem = f"its owner is {owner!r}, not an execution name"
        elif owner is not None:
            try:
                taken = dt.datetime.fromisoformat(holder["acquired_at"])
                if taken.tzinfo is None:
                    raise ValueError("no time zone")
            except (KeyError, TypeError, ValueError):
                problem = (f"held by {owner} with no readable time it was taken "
                           f"(acquired_at={holder.get('acquired_at')!r})")
    if problem is not None:
        raise LockUnreadable(
            f"s3://{bucket}/{key} is not an endpoint lock this pipeline wrote ({problem}; it "
            f"starts {raw[:40]!r}): no run can take it until it is cleared. If no run is "
            "deploying, free it with `calltime unlock --force` (it keeps what it replaced in "
            "its message)")
    return holder, raw


def _put(s3, bucket: str, key: str, body: dict[str, Any], conflict_retries: int = 0,
         **condition: str) -> str | None:
    """A conditional write: the new ETag, or None when the condition no longer holds (another
    writer got there first, or the key is gone). S3's 409 means another conditional write is
    in flight: retried up to `conflict_retries` times, else also None."""
    for attempt in range(conflict_retries + 1):
        try:
            response = s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode(),
                                     ContentType="application/json", **condition)
            return response["ETag"]
        except ClientError as err:
            code = err.response["Error"]["Code"]
            if code == "ConditionalRequestConflict" and attempt < conflict_retries:
                time.sleep(0.2 * 2 ** attempt)
                continue
            if code in _LOST_RACE or code == "NoSuchKey":
                return None
            raise
    return None  # pragma: no cover


def acquire(s3, bucket: str, key: str, owner: str, ttl_seconds: int = RUN_TIMEOUT_SECONDS,
            attempts: int = 3, execution_arn: str | None = None, sfn=None) -> Lock:
    held = {"owner": owner, "acquired_at": _now().isoformat(), "execution_arn": execution_arn}
    etag = _put(s3, bucket, key, held, IfNoneMatch="*")
    if etag is not None:  # the very first lock of this bucket
        return Lock(bucket, key, owner, etag)
    for _ in range(attempts):
        try:
            current = s3.get_object(Bucket=bucket, Key=key)
        except ClientError as err:  # removed by hand since: create it again
            if err.response["Error"]["Code"] not in _ABSENT:
                raise
            if (etag := _put(s3, bucket, key, held, IfNoneMatch="*")) is not None:
                return Lock(bucket, key, owner, etag)
            continue
        holder, _ = _holder(current, bucket, key)
        stale_owner = None
        if holder.get("owner") == owner:  # a retry of our own step: we already hold it
            return Lock(bucket, key, owner, current["ETag"])
        if holder.get("owner") is not None:
            age = (_now() - dt.datetime.fromisoformat(holder["acquired_at"])).total_seconds()
            running = owner_running(sfn, holder.get("execution_arn"))
            if running or (running is None and age < ttl_seconds):
                raise DeploymentInProgress(
                    f"execution {holder['owner']} has been deploying since "
                    f"{holder['acquired_at']}; this run ({owner}) did not touch the endpoint")
            stale_owner = holder["owner"]
        etag = _put(s3, bucket, key, held, IfMatch=current["ETag"])
        if etag is not None:
            return Lock(bucket, key, owner, etag, took_over=stale_owner)
    current, _ = _holder(s3.get_object(Bucket=bucket, Key=key), bucket, key)
    raise DeploymentInProgress(f"the lock changed hands {attempts} times while this run "
                               f"({owner}) tried to take it; now held by {current.get('owner')}")


def release(s3, bucket: str, key: str, owner: str, etag: str) -> bool:
    """Mark the lock free if `owner` still holds it as its acquire left it (`etag`); True when
    it did. An empty etag (the run never took the lock) does nothing. Safe to repeat."""
    if not etag:
        return False
    released = {"owner": None, "released_by": owner, "released_at": _now().isoformat()}
    return _put(s3, bucket, key, released, conflict_retries=3, IfMatch=etag) is not None


def unlock(s3, sfn, bucket: str, key: str, by: str, force: bool = False) -> str:
    """Free the lock by hand (an operator's `calltime unlock`): refused while its owner's
    execution runs, and, unless `force`, when that cannot be told; a conditional write, so a
    run that takes the lock meanwhile keeps it. Says what it did."""
    try:
        current = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if err.response["Error"]["Code"] in _ABSENT:
            return f"no lock at s3://{bucket}/{key}: nothing to release"
        raise
    try:
        holder, _ = _holder(current, bucket, key)
    except LockUnreadable as err:
        if not force:
            raise
        released = {"owner": None, "released_by": by, "released_at": _now().isoformat(),
                    "replaced_unreadable": str(err)}
        if _put(s3, bucket, key, released, IfMatch=current["ETag"]) is None:
            raise DeploymentInProgress("the lock changed while it was being replaced; run "
                                       "again") from err
        return f"replaced the unreadable lock with a free one: {err}"
    if holder.get("owner") is None:
        return f"the lock is free (released by {holder.get('released_by')})"
    running = owner_running(sfn, holder.get("execution_arn"))
    if running:
        raise DeploymentInProgress(
            f"execution {holder['owner']} is still running ({holder['execution_arn']}): stop "
            "it first (aws stepfunctions stop-execution), or let it finish")
    if running is None and not force:
        raise DeploymentInProgress(
            f"whether execution {holder['owner']} still runs cannot be told (no execution ARN "
            "in the lock, or Step Functions did not answer): check it, then unlock --force")
    released = {"owner": None, "released_by": by, "released_at": _now().isoformat(),
                "was_held_by": holder["owner"]}
    if _put(s3, bucket, key, released, IfMatch=current["ETag"]) is None:
        raise DeploymentInProgress("the lock changed while it was being released; run again")
    state = "not running" if running is False else "of unknown state (no execution recorded)"
    return f"released the lock held by {holder['owner']} ({state}) since {holder['acquired_at']}"


@step_handler
def acquire_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Validate the run's input (`run`, when given), then take the lock."""
    settings = PipelineSettings.from_env()
    validate_run_input(read_field(event, "run", dict, {}), settings.models_bucket)
    lock = acquire(client("s3"), settings.models_bucket, settings.lock_key,
                   read_field(event, "execution_name", str),
                   execution_arn=read_field(event, "execution_arn", str, "") or None,
                   sfn=client("stepfunctions"))
    return {"lock": f"s3://{lock.bucket}/{lock.key}", "owner": lock.owner, "etag": lock.etag,
            "took_over": lock.took_over}


@step_handler
def release_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = PipelineSettings.from_env()
    released = release(client("s3"), settings.models_bucket, settings.lock_key,
                       read_field(event, "execution_name", str),
                       read_field(event, "etag", str, ""))
    return {"released": released}
