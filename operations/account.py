"""Where the operator commands act: the deployed stack (found from its CloudFormation outputs)
or a local account `make pipeline` saved (`--local-state`). Both give the same clients, names
and view of the runs, so every command is one piece of code for both."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from localaws import account_files
from pipeline_lambdas.contract import (
    ENDPOINT_SUFFIX,
    LOCK_KEY,
    MODELS_PREFIX,
    TOPIC_SUFFIX,
    schedule_name,
)

DEFAULT_STACK = "calltime-dev"


class NotFound(Exception):
    """No such run (or stack output): the commands say so, by name."""


class Runs(Protocol):
    """The state machine's executions."""

    def newest(self, limit: int) -> list[dict[str, Any]]:
        """Summaries (name, executionArn, status, startDate), newest first."""

    def arn(self, name: str) -> str:
        """An execution's ARN from its name or ARN; NotFound naming it if there is none."""

    def describe(self, arn: str) -> dict[str, Any]:
        """DescribeExecution: status, input, output, error."""

    def history(self, arn: str) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
        """(description, the state machine's definition, every history event)."""


@dataclass
class Account:
    label: str  # what the commands print as "where"
    runs: Runs
    s3: Any = None
    sagemaker: Any = None
    bucket: str = ""  # the models bucket
    endpoint_name: str | None = None
    models_prefix: str = MODELS_PREFIX
    state_machine_arn: str | None = None
    sfn: Any = None
    # What `calltime status` reads besides: the alarms (named <resource_prefix>-*), the
    # schedule, the topic's subscriptions, the region.
    resource_prefix: str = ""
    cloudwatch: Any = None
    scheduler: Any = None
    sns: Any = None
    topic_arn: str | None = None
    region: str | None = None

    @property
    def schedule_name(self) -> str | None:
        return schedule_name(self.resource_prefix) if self.resource_prefix else None


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    """The stack's outputs by the names infra/stack.py gives them (`models_bucket_name`;
    CloudFormation's keys drop the underscores)."""
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def output(outputs: dict[str, str], name: str) -> str:
    key = name.replace("_", "")
    if key not in outputs:
        raise NotFound(f"the stack has no output {name!r} (is it calltime's?)")
    return outputs[key]


class StepFunctionsRuns:
    """A deployed state machine's executions, through the Step Functions API."""

    def __init__(self, sfn: Any, state_machine_arn: str) -> None:
        self.sfn, self.machine = sfn, state_machine_arn

    def newest(self, limit: int) -> list[dict[str, Any]]:
        pages = self.sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self.machine, PaginationConfig={"MaxItems": limit})
        return [e for page in pages for e in page["executions"]]

    def arn(self, name: str) -> str:
        # An execution's ARN is its state machine's with ":execution:" and its name: no
        # listing (ListExecutions is eventually consistent and pages through every run).
        arn = name if name.startswith("arn:") else \
            f"{self.machine.replace(':stateMachine:', ':execution:')}:{name}"
        try:
            self.sfn.describe_execution(executionArn=arn)
        except self.sfn.exceptions.ExecutionDoesNotExist:
            raise NotFound(f"no run {name!r} of {self.machine}") from None
        return arn

    def describe(self, arn: str) -> dict[str, Any]:
        return self.sfn.describe_execution(executionArn=arn)

    def history(self, arn: str) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
        definition = self.sfn.describe_state_machine_for_execution(executionArn=arn)[
            "definition"]
        events = [e for page in self.sfn.get_paginator("get_execution_history").paginate(
            executionArn=arn) for e in page["events"]]
        return self.describe(arn), definition, events


class SavedRuns:
    """A local account's executions: those saved with it, and any under way in another process
    (`make pipeline` keeps its run in <state>/running/ while it runs)."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self._read: tuple[tuple, dict[str, dict[str, Any]]] | None = None

    def _records(self) -> dict[str, dict[str, Any]]:
        """Read again only when a file changed (`runs list` asks once per run shown; the saved
        histories grow with every run)."""
        from localaws.runtime import EXECUTIONS_FILE, RUNNING_DIR

        files = [self.state / EXECUTIONS_FILE, *sorted((self.state / RUNNING_DIR).glob("*.json"))]
        stamp = tuple((str(f), _mtime(f)) for f in files)
        if self._read is None or self._read[0] != stamp:
            self._read = (stamp, self._read_records())
        return self._read[1]

    def _read_records(self) -> dict[str, dict[str, Any]]:
        from localaws.runtime import RUNNING_DIR

        found = {r["execution"]["executionArn"]: r
                 for r in account_files.check_executions(self.state)}
        for live in sorted((self.state / RUNNING_DIR).glob("*.json")):
            record = account_files.running_record(live)
            if record is None:  # saved (and removed) as it was read
                continue
            if record["execution"]["status"] == "RUNNING" and not _alive(record.get("pid")):
                record["execution"] = {**record["execution"], "status": "ABORTED",
                                       "error": "the local runtime's process ended"}
            found.setdefault(record["execution"]["executionArn"], record)
        return found

    def newest(self, limit: int) -> list[dict[str, Any]]:
        return sorted((r["execution"] for r in self._records().values()),
                      key=lambda e: e["startDate"], reverse=True)[:limit]

    def arn(self, name: str) -> str:
        for arn, record in self._records().items():
            if name in (arn, record["execution"]["name"]):
                return arn
        raise NotFound(f"no run {name!r} in the local account {self.state}")

    def describe(self, arn: str) -> dict[str, Any]:
        return self._records()[arn]["execution"]

    def history(self, arn: str) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
        record = self._records()[arn]
        return record["execution"], record["definition"], record["history"]


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:  # a run saved (and its running/ file removed) meanwhile
        return None


def _alive(pid: int | None) -> bool:
    from localaws.scratch import running

    return pid is None or running(pid)


def deployed(stack: str, region: str | None) -> Account:
    """The deployed stack's models bucket, endpoint and state machine, from its outputs."""
    import boto3

    session = boto3.Session(region_name=region)
    outputs = stack_outputs(session.client("cloudformation"), stack)
    sfn = session.client("stepfunctions")
    machine = output(outputs, "state_machine_arn")
    endpoint = output(outputs, "endpoint_name")
    return Account(f"stack {stack} ({session.region_name})", StepFunctionsRuns(sfn, machine),
                   session.client("s3"), session.client("sagemaker"),
                   output(outputs, "models_bucket_name"), endpoint,
                   state_machine_arn=machine, sfn=sfn,
                   resource_prefix=endpoint.removesuffix(ENDPOINT_SUFFIX),
                   cloudwatch=session.client("cloudwatch"),
                   scheduler=session.client("scheduler"), sns=session.client("sns"),
                   topic_arn=outputs.get("topicarn"), region=session.region_name)


@contextmanager
def local(state: Path, services: bool = True) -> Iterator[Account]:
    """The local account `make pipeline` saved. With `services`, restored in this process (S3,
    SageMaker) for the command; the runs alone need no restoring."""
    import logging

    import boto3

    from localaws.runtime import LocalAWS, saved_region

    region = saved_region(state)
    label = f"local account {state}"
    if not services:
        yield Account(label, SavedRuns(state))
        return
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    saved = account_files.check_state(state)
    if saved is None:
        raise NotFound(f"no local account in {state}: `make pipeline` makes one")
    bucket = next((name for name, keys in saved["buckets"].items()
                   if any(k.startswith((MODELS_PREFIX, LOCK_KEY)) for k in keys)), None)
    if bucket is None:
        raise FileNotFoundError(f"the local account in {state} has no models bucket yet")
    endpoints = [e["name"] for e in saved["sagemaker"]["endpoints"]]
    with LocalAWS(region=region) as aws:
        aws.load_state(state)
        sns = boto3.client("sns")
        topic = next((t["TopicArn"] for t in sns.list_topics()["Topics"]
                      if t["TopicArn"].endswith(TOPIC_SUFFIX)), None)
        prefix = topic.rsplit(":", 1)[-1].removesuffix(TOPIC_SUFFIX) if topic else ""
        yield Account(label, SavedRuns(state), boto3.client("s3"), boto3.client("sagemaker"),
                      bucket, endpoints[0] if endpoints else
                      (f"{prefix}{ENDPOINT_SUFFIX}" if prefix else None),
                      resource_prefix=prefix, cloudwatch=boto3.client("cloudwatch"),
                      scheduler=boto3.client("scheduler"), sns=sns, topic_arn=topic,
                      region=region)


@contextmanager
def chosen(args: argparse.Namespace, services: bool = True) -> Iterator[Account]:
    """The account the arguments name; a NotFound inside the block ends the command with its
    message (exit 2), as an operator's typo should."""
    try:
        if args.local_state:
            with local(Path(args.local_state), services) as account:
                yield account
        else:
            yield deployed(args.stack, args.region)
    except (NotFound, account_files.DamagedAccount) as err:
        print(f"calltime: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def add_target(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", default=DEFAULT_STACK,
                       help=f"the deployed stack's name (default: {DEFAULT_STACK})")
    where.add_argument("--local-state", help="a local account `make pipeline` saved, e.g. "
                       "out/local-aws")
    parser.add_argument("--region", help="the stack's region (default: the AWS profile's)")
