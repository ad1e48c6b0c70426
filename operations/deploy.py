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
from pathlib import Path

from operations.account import add_target, deployed
from operations.runs import watch
from operations.versions import published


def _deploy(args: argparse.Namespace) -> int:
    if args.local_state:
        from local_pipeline.pipeline import deploy_published

        state = Path(args.local_state)
        return deploy_published(state.parent, args.version, timeout=args.timeout)
    account = deployed(args.stack, args.region)
    if args.version not in published(account.s3, account.bucket, account.models_prefix):
        print(f"calltime deploy: no published version {args.version!r} in {account.label} "
              "(`calltime versions list` shows them)")
        return 2
    name = f"deploy-{args.version}-{dt.datetime.now(dt.UTC):%H%M%S}"[:80]
    started = account.sfn.start_execution(stateMachineArn=account.state_machine_arn, name=name,
                                          input=json.dumps({"deploy_version": args.version}))
    print(f"started {started['executionArn']}")
    if args.no_wait:
        return 0
    status = watch(account, name, poll=5.0)
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
