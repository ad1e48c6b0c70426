"""Every run's figures, kept beside the versions (history.json) and shown on one page per stack
(history.html): written by the Notify step at the end of every run that did something."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from botocore.exceptions import ClientError

from pipeline_lambdas.contract import HISTORY_FILE, HISTORY_PAGE, Outcome, history_key
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
            "endpoint_config": deploy.get("endpoint_config_name") or None,
            "error": error.get("Error") or None,
            # What it said (a failed map item: which one), as the notification says it.
            "error_detail": said(error.get("Cause"))[:ERROR_DETAIL_CHARS] or None}


def record_run(s3: Any, bucket: str, models_prefix: str, stack: str,
               record: dict[str, Any]) -> int:
    """Add (or, for a retried step, replace) the run's record, conditionally on the history
    not having changed since it was read; rewrite the page. Returns the number of runs."""
    if record["outcome"] == Outcome.REFUSED:  # nothing was done: not part of the history
        return -1
    key = history_key(HISTORY_FILE, models_prefix)
    for _ in range(CONFLICT_RETRIES):
        denied: ClientError | None = None
        try:
            found = s3.get_object(Bucket=bucket, Key=key)
            records, condition = json.loads(found["Body"].read()), {"IfMatch": found["ETag"]}
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
        return len(records)
    raise RuntimeError(f"s3://{bucket}/{key} kept changing while this run was added to it")
