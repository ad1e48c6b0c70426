"""Where the operator commands act: the deployed stack (found from its CloudFormation outputs)
or a local account `make pipeline` saved (`--local-state`). Both give the same clients and
names, so every command is one piece of code for both."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_lambdas.contract import LOCK_KEY, MODELS_PREFIX

DEFAULT_STACK = "calltime-dev"


@dataclass
class Account:
    label: str  # what the commands print as "where"
    s3: Any
    sagemaker: Any
    bucket: str  # the models bucket
    endpoint_name: str | None
    models_prefix: str = MODELS_PREFIX
    # The state machine's executions, newest first: summaries, and one's history by ARN.
    list_executions: Callable[[], list[dict[str, Any]]] = lambda: []
    history: Callable[[str], tuple[dict[str, Any], str, list[dict[str, Any]]]] = \
        lambda arn: ({}, "{}", [])
    state_machine_arn: str | None = None
    sfn: Any = None


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    """The stack's outputs by the names infra/stack.py gives them (`models_bucket_name`;
    CloudFormation's keys drop the underscores)."""
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def output(outputs: dict[str, str], name: str) -> str:
    key = name.replace("_", "")
    if key not in outputs:
        raise KeyError(f"the stack has no output {name!r} (is it calltime's?)")
    return outputs[key]


def deployed(stack: str, region: str | None) -> Account:
    """The deployed stack's models bucket, endpoint and state machine, from its outputs."""
    import boto3

    session = boto3.Session(region_name=region)
    outputs = stack_outputs(session.client("cloudformation"), stack)
    sfn = session.client("stepfunctions")
    machine = output(outputs, "state_machine_arn")

    def executions() -> list[dict[str, Any]]:
        pages = sfn.get_paginator("list_executions").paginate(
            stateMachineArn=machine, PaginationConfig={"MaxItems": 200})
        return [e for page in pages for e in page["executions"]]

    def history(arn: str) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
        described = sfn.describe_execution(executionArn=arn)
        definition = sfn.describe_state_machine_for_execution(executionArn=arn)["definition"]
        events = [e for page in sfn.get_paginator("get_execution_history").paginate(
            executionArn=arn) for e in page["events"]]
        return described, definition, events

    return Account(f"stack {stack} ({session.region_name})", session.client("s3"),
                   session.client("sagemaker"), output(outputs, "models_bucket_name"),
                   output(outputs, "endpoint_name"), list_executions=executions, history=history,
                   state_machine_arn=machine, sfn=sfn)


@contextmanager
def local(state: Path) -> Iterator[Account]:
    """The local account `make pipeline` saved, restored in this process for the command."""
    import logging

    import boto3

    from localaws.runtime import EXECUTIONS_FILE, RUNNING_DIR, LocalAWS, saved_region

    region = saved_region(state)
    if region is None:
        raise FileNotFoundError(f"no local account in {state} (run `make pipeline` first)")
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    saved = json.loads((state / "state.json").read_text())
    bucket = next((name for name, keys in saved["buckets"].items()
                   if any(k.startswith((MODELS_PREFIX, LOCK_KEY)) for k in keys)), None)
    if bucket is None:
        raise FileNotFoundError(f"the local account in {state} has no models bucket yet")
    endpoints = [e["name"] for e in saved["sagemaker"]["endpoints"]]

    def records() -> dict[str, dict[str, Any]]:
        """Saved runs, and those under way in another process (a `make pipeline`)."""
        path = state / EXECUTIONS_FILE
        found = {r["execution"]["executionArn"]: r
                 for r in (json.loads(path.read_text()) if path.is_file() else [])}
        for live in sorted((state / RUNNING_DIR).glob("*.json")):
            try:
                record = json.loads(live.read_text())
            except (OSError, json.JSONDecodeError):  # ended (and removed) as it was read
                continue
            found.setdefault(record["execution"]["executionArn"], record)
        return found

    def executions() -> list[dict[str, Any]]:
        return sorted((r["execution"] for r in records().values()),
                      key=lambda e: e["startDate"], reverse=True)

    def history(arn: str) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
        record = records()[arn]
        return record["execution"], record["definition"], record["history"]

    with LocalAWS(region=region) as aws:
        aws.load_state(state)
        yield Account(f"local account {state}", boto3.client("s3"), boto3.client("sagemaker"),
                      bucket, endpoints[0] if endpoints else None, list_executions=executions,
                      history=history)


@contextmanager
def chosen(args: argparse.Namespace) -> Iterator[Account]:
    if args.local_state:
        with local(Path(args.local_state)) as account:
            yield account
    else:
        yield deployed(args.stack, args.region)


def add_target(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", default=DEFAULT_STACK,
                       help=f"the deployed stack's name (default: {DEFAULT_STACK})")
    where.add_argument("--local-state", help="a local account `make pipeline` saved, e.g. "
                       "out/local-aws")
    parser.add_argument("--region", help="the stack's region (default: the AWS profile's)")
