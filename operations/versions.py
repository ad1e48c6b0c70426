"""`calltime versions list`: every published model version with its figures, and which one the
endpoint serves, read from DescribeEndpoint (never from what a run meant to deploy).

    calltime versions list [--stack calltime-prod | --local-state out/local-aws]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from operations.account import Account, add_target, chosen
from operations.runs import table
from pipeline_lambdas.contract import HISTORY_FILE, Outcome, history_key
from pipeline_lambdas.live_model import live_model
from training.outputs import METADATA_FILE, METRICS_FILE
from training.report import recommendation_summary


@dataclass
class Version:
    version: str
    created: str
    rows_valid: int | None
    rows_rejected: int | None
    roc_auc: float | None
    quality: str  # capture against ground truth, or the replay estimate
    live: bool
    rolled_back: str = ""  # the runs that deployed it and rolled it back, and why


def published(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Versions under <prefix>/ that hold an artifact, oldest first (versions sort by time)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/",
                                                         Delimiter="/")
    return sorted(p["Prefix"].removeprefix(f"{prefix}/").rstrip("/")
                  for page in pages for p in page.get("CommonPrefixes", []))


def live_version(sagemaker: Any, endpoint: str | None, prefix: str) -> str | None:
    """The version the endpoint serves: its model's data URL names it."""
    model = live_model(sagemaker, endpoint) if endpoint else None
    if model is None:
        return None
    url = model["PrimaryContainer"]["ModelDataUrl"]
    _, _, key = url.removeprefix("s3://").partition("/")
    return key.removeprefix(f"{prefix}/").split("/")[0] if key.startswith(f"{prefix}/") \
        else None


def read_json(s3: Any, bucket: str, key: str) -> Any:
    """The JSON at key; {} when it is missing or not JSON (a damaged file is not an error of
    the listing)."""
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except (ClientError, ValueError):
        return {}


def rollbacks(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """Version -> "rolled back by <run> (<error>)" from the stack's run history (Notify's):
    every run that deployed the version and had to put the previous one back."""
    records = read_json(s3, bucket, history_key(HISTORY_FILE, prefix))
    marks: dict[str, list[str]] = {}
    for record in records if isinstance(records, list) else []:
        if isinstance(record, dict) and record.get("outcome") in (
                Outcome.ROLLED_BACK, Outcome.ROLLBACK_FAILED) and record.get("model_version"):
            why = f" ({record['error']})" if record.get("error") else ""
            verb = "rolled back" if record["outcome"] == Outcome.ROLLED_BACK else \
                "failed, its rollback too,"
            marks.setdefault(record["model_version"], []).append(
                f"{verb} by {record.get('execution')}{why}")
    return {version: "; ".join(runs) for version, runs in marks.items()}


def versions(account: Account) -> list[Version]:
    live = live_version(account.sagemaker, account.endpoint_name, account.models_prefix)
    rolled_back = rollbacks(account.s3, account.bucket, account.models_prefix)
    found = []
    for version in published(account.s3, account.bucket, account.models_prefix):
        base = f"{account.models_prefix}/{version}/"
        metrics = read_json(account.s3, account.bucket, base + METRICS_FILE)
        data = read_json(account.s3, account.bucket, base + METADATA_FILE)
        auc = metrics.get("classification", {}).get("roc_auc")
        found.append(Version(version, data.get("created_at", "-"),
                             data.get("data", {}).get("rows_valid"),
                             data.get("data", {}).get("rows_rejected"), auc,
                             recommendation_summary(metrics.get("recommendation", {})),
                             version == live, rolled_back.get(version, "")))
    return found


def render(account: Account, found: list[Version]) -> str:
    if not found:
        return f"no published versions in {account.label}"
    rows = [{"": "*" if v.live else "", "version": v.version, "created": v.created[:19],
             "rows": f"{v.rows_valid:,}" if v.rows_valid is not None else "-",
             "rejected": f"{v.rows_rejected:,}" if v.rows_rejected is not None else "-",
             "auc": f"{v.roc_auc:.4f}" if v.roc_auc is not None else "-",
             "recommendations": v.quality, "deployments": v.rolled_back} for v in found]
    live = next((v.version for v in found if v.live), None)
    footer = (f"* live on {account.endpoint_name} (DescribeEndpoint)" if live else
              f"no version is live on {account.endpoint_name or 'an endpoint'}")
    columns = ["", "version", "created", "rows", "rejected", "auc", "recommendations"]
    if any(v.rolled_back for v in found):
        columns.append("deployments")
    return table(rows, columns) + "\n" + footer


def _list(args: argparse.Namespace) -> int:
    with chosen(args) as account:
        print(render(account, versions(account)))
    return 0


def add_list(parser: argparse.ArgumentParser) -> None:
    add_target(parser)
    parser.set_defaults(func=_list)
