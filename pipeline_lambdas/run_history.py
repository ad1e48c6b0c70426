"""Every run's figures, kept beside the versions (history.json) and shown on one page per stack
(history.html): written by the Notify step at the end of every run that did something."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from pipeline_lambdas.contract import (
    DAMAGED_HISTORY_PATTERN,
    HISTORY_FILE,
    HISTORY_PAGE,
    Outcome,
    history_key,
)
from pipeline_lambdas.errors import said
from training import history_page

CONFLICT_RETRIES = 5  # concurrent writers (runs are serialized by the lock; this is a fence)
CONFLICTS = ("PreconditionFailed", "ConditionalRequestConflict")
ERROR_DETAIL_CHARS = 500
ABSENT = ("NoSuchKey", "404", "AccessDenied", "403")


def run_record(outcome: str, details: dict[str, Any], execution_name: str,
               finished_at: dt.datetime) -> dict[str, Any]:
    train, gate = details.get("train") or {}, details.get("gate") or {}
    deploy, error = details.get("deploy") or {}, details.get("error") or {}
    return {"execution": execution_name, "finished_at": finished_at.isoformat(),
            "outcome": outcome, "model_version": train.get("model_version") or None,
            "requested": bool(train.get("requested")),
            "rows_valid": train.get("rows_valid"), "rows_rejected": train.get("rows_rejected"),
            "rejected_by_reason": train.get("rejected_by_reason") or {},
            "roc_auc": train.get("roc_auc"), "live_model_version": train.get(
                "live_model_version"), "live_roc_auc": gate.get("live_roc_auc"),
            "recommendation": train.get("recommendation"), "gate": gate.get("decision") or None,
            "gate_reason": gate.get("reason") or None,
            # The recommendations' comparison the gate decided on (new minus live, 2 SE).
            "recommendation_difference": gate.get("recommendation_difference"),
            "recommendation_noise": gate.get("recommendation_noise"),
            "endpoint_config": deploy.get("endpoint_config_name") or None,
            "error": error.get("Error") or None,
            # What it said (a failed map item: which one), as the notification says it.
            "error_detail": said(error.get("Cause"))[:ERROR_DETAIL_CHARS] or None}


@dataclass(frozen=True)
class Recorded:
    """What adding a run to the history did."""

    runs: int  # the runs in the history now; -1: a refused run, not recorded
    damaged: str = ""  # a history that could not be read: where it was kept, and why

    def __str__(self) -> str:
        if self.runs < 0:
            return "not a run that did anything"
        return f"{self.runs} runs" + (f"; {self.damaged}" if self.damaged else "")


def _records(raw: bytes) -> list[dict[str, Any]] | str:
    """The history's run records, or what is wrong with it."""
    try:
        value = json.loads(raw)
    except ValueError as err:  # UnicodeDecodeError is one
        return f"not JSON: {err}"
    if not isinstance(value, list) or not all(
            isinstance(r, dict) and isinstance(r.get("execution"), str) for r in value):
        return "not a list of run records"
    return value


def damaged_key(models_prefix: str, when: dt.datetime) -> str:
    return history_key(DAMAGED_HISTORY_PATTERN.replace("*", f"{when:%Y%m%dT%H%M%S%fZ}"),
                       models_prefix)


def record_run(s3: Any, bucket: str, models_prefix: str, stack: str,
               record: dict[str, Any]) -> Recorded:
    """Add (or, for a retried step, replace) the run's record, conditionally on the history
    not having changed since it was read; rewrite the page. A history that cannot be read is
    kept aside under a dated name and a new one is started with this run."""
    if record["outcome"] == Outcome.REFUSED:  # nothing was done: not part of the history
        return Recorded(-1)
    key = history_key(HISTORY_FILE, models_prefix)
    for _ in range(CONFLICT_RETRIES):
        denied: ClientError | None = None
        damaged = ""
        try:
            found = s3.get_object(Bucket=bucket, Key=key)
            raw, condition = found["Body"].read(), {"IfMatch": found["ETag"]}
            records = _records(raw)
            if isinstance(records, str):
                aside = damaged_key(models_prefix, dt.datetime.now(dt.UTC))
                s3.put_object(Bucket=bucket, Key=aside, Body=raw, IfNoneMatch="*")
                damaged = (f"{HISTORY_FILE} was damaged ({records}): kept as "
                           f"s3://{bucket}/{aside}; a new history starts with this run")
                records = []
        except ClientError as err:
            # AccessDenied is how S3 says "no such key" to a role that may read the key but not
            # list the bucket (Notify's); a history that exists but cannot be read fails the
            # conditional write below instead of being replaced.
            if err.response["Error"]["Code"] not in ABSENT:
                raise
            records, condition, denied = [], {"IfNoneMatch": "*"}, err
        records = [r for r in records if r["execution"] != record["execution"]] + [record]
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(records, indent=1).encode(),
                          ContentType="application/json", **condition)
        except ClientError as err:
            if err.response["Error"]["Code"] in CONFLICTS and denied is not None and \
                    denied.response["Error"]["Code"] in ("AccessDenied", "403"):
                raise RuntimeError(f"s3://{bucket}/{key} exists but this role may not read "
                                   f"it: {denied}") from err
            if err.response["Error"]["Code"] in CONFLICTS:
                continue
            raise
        s3.put_object(Bucket=bucket, Key=history_key(HISTORY_PAGE, models_prefix),
                      Body=history_page.render(records, stack).encode(),
                      ContentType="text/html; charset=utf-8")
        return Recorded(len(records), damaged)
    raise RuntimeError(f"s3://{bucket}/{key} kept changing while this run was added to it")
