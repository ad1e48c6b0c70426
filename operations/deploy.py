"""`calltime deploy --version <v>`: roll forward or back to a published version, through the
state machine: an execution with {"deploy_version": v}, which skips training and the quality
gate but keeps the lock, the deploy, the health check, the rollback and the notification.

    calltime deploy --version 20261126T101500Z-3f2a1b [--stack calltime-prod]
    calltime deploy --version ... --local-state out/local-aws
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from botocore.exceptions import ClientError

from inference_code.artifact_layout import ARTIFACT_FILE
from operations.account import Account, add_target, chosen
from operations.runs import watch
from operations.versions import live_version

NAME_LIMIT = 80  # Step Functions execution names


def refusal(account: Account, version: str) -> str | None:
    """Why this version cannot be deployed here, or None."""
    try:
        account.s3.head_object(Bucket=account.bucket,
                               Key=f"{account.models_prefix}/{version}/{ARTIFACT_FILE}")
    except ClientError:
        return (f"no published version {version!r} in {account.label} (`calltime versions "
                "list` shows them)")
    if live_version(account.sagemaker, account.endpoint_name, account.models_prefix) == version:
        return f"{version} is already live on {account.endpoint_name}: nothing to deploy"
    return None


def execution_name(version: str, now: dt.datetime) -> str:
    stamp = f"-{now:%Y%m%dT%H%M%S}"
    return f"deploy-{version}"[:NAME_LIMIT - len(stamp)] + stamp


def _deploy(args: argparse.Namespace) -> int:
    with chosen(args) as account:
        refused = refusal(account, args.version)
    if refused:
        print(f"calltime deploy: {refused}", file=sys.stderr)
        return 2
    if args.local_state:
        from local_pipeline.pipeline import deploy_published

        return deploy_published(Path(args.local_state), args.version, timeout=args.timeout)
    started = account.sfn.start_execution(
        stateMachineArn=account.state_machine_arn,
        name=execution_name(args.version, dt.datetime.now(dt.UTC)),
        input=json.dumps({"deploy_version": args.version}))
    print(f"started {started['executionArn']}")
    if args.no_wait:
        return 0
    status = watch(account, started["executionArn"], poll=5.0)
    return 0 if status == "SUCCEEDED" else 1


def add_deploy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", required=True,
                        help="a published model version (`calltime versions list`)")
    add_target(parser)
    parser.add_argument("--no-wait", action="store_true",
                        help="start the run and return (watch it with `calltime runs watch`)")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="local runs: seconds before the run is stopped")
    parser.set_defaults(func=_deploy)
