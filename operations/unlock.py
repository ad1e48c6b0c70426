"""`calltime unlock`: free the endpoint lock a dead run left, by hand.

Runs free a dead owner's lock themselves (AcquireLock asks Step Functions whether the owner still
runs), so this is for an operator who wants the lock free now, or one written before locks
recorded their execution. Refused while the owner's execution runs; `--force` when whether it
runs cannot be told.

    calltime unlock [--stack calltime-prod] [--region il-central-1]    # the deployed stack
    calltime unlock --bucket <models bucket> [--region il-central-1]   # its bucket, by name
    calltime unlock --local-state out/local-aws                        # `make pipeline`'s
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path


def _unlock(args: argparse.Namespace) -> int:
    from pipeline_lambdas.contract import LOCK_KEY
    from pipeline_lambdas.errors import DeploymentInProgress, LockUnreadable
    from pipeline_lambdas.run_lock import unlock

    by = f"calltime unlock ({getpass.getuser()})"
    try:
        if args.local_state:
            message = _unlock_local(Path(args.local_state), args.force, by)
        else:
            import boto3

            session = boto3.Session(region_name=args.region)
            bucket = args.bucket
            if bucket is None:  # found from the stack's outputs
                from operations.account import deployed

                bucket = deployed(args.stack, args.region).bucket
            message = unlock(session.client("s3"), session.client("stepfunctions"),
                             bucket, LOCK_KEY, by, args.force)
    except (DeploymentInProgress, LockUnreadable) as err:
        print(f"calltime unlock: refused: {err}", file=sys.stderr)
        return 1
    print(message)
    return 0


def _unlock_local(state: Path, force: bool, by: str) -> str:
    """The local account's lock: no execution outlives the process that ran it, and the
    account is held (localaws/account_lock.py) while a run uses it."""
    import boto3

    from localaws.account_lock import exclusive
    from localaws.runtime import LocalAWS, saved_region
    from pipeline_lambdas.contract import LOCK_KEY
    from pipeline_lambdas.run_lock import unlock

    region = saved_region(state)
    with exclusive(state), LocalAWS(region=region) as aws:
        aws.load_state(state)
        s3 = boto3.client("s3")
        buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]
                   if s3.list_objects_v2(Bucket=b["Name"], Prefix=LOCK_KEY).get("KeyCount")]
        if not buckets:
            return f"no lock in the local account {state}: nothing to release"
        message = unlock(s3, boto3.client("stepfunctions"), buckets[0], LOCK_KEY, by, force)
        aws.save_state(state)
    return message


def add_unlock(parser: argparse.ArgumentParser) -> None:
    from operations.account import DEFAULT_STACK

    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", default=DEFAULT_STACK,
                       help=f"the deployed stack's name (default: {DEFAULT_STACK})")
    where.add_argument("--bucket",
                       help="the deployed stack's models bucket (its models_bucket_name output)")
    where.add_argument("--local-state", help="a local account, e.g. out/local-aws")
    parser.add_argument("--region", help="the stack's region (default: the AWS profile's)")
    parser.add_argument("--force", action="store_true",
                        help="release even when whether the owner still runs cannot be told")
    parser.set_defaults(func=_unlock)
