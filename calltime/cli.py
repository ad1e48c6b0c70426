"""The `calltime` command: generate and train (training), serve and invoke a model, run the
local AWS runtime and the `make pipeline` demo.

Each room of the repository registers its own subcommands in COMMANDS below, by module path (as
Metaflow's plugin table does), so this module imports none of them until the parser is built
and each subcommand's heavy imports wait until it runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import signal
import sys
import tarfile
import urllib.error
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]  # ("local", "run") is `calltime local run`
    adder: str  # "module:function" that adds the arguments and sets `func`
    help: str


GROUPS = {"local": "the local AWS runtime and the retraining pipeline on it",
          "runs": "the state machine's runs (the deployed stack's, or --local-state's)",
          "versions": "published model versions and which one is live"}
COMMANDS = (
    Command(("generate",), "training.commands:add_generate",
            "write a synthetic call log with known ground truth"),
    Command(("train",), "training.commands:add_train",
            "validate a call log, train, evaluate and package"),
    Command(("serve",), "localaws.commands:add_serve",
            "serve model.tar.gz as the SageMaker container would"),
    Command(("invoke",), "localaws.commands:add_invoke",
            "POST a request to a running model server, or to the local endpoint "
            "`make pipeline` deployed"),
    Command(("status",), "operations.status:add_status",
            "is the deployed system healthy: live version, endpoint, last runs, lock, schedule, "
            "alarms, subscriptions, region (exit 1 when something needs a person)"),
    Command(("unlock",), "operations.unlock:add_unlock",
            "free the endpoint lock a dead run left (refused while its owner runs)"),
    Command(("runs", "list"), "operations.runs:add_list", "the newest runs, how each ended"),
    Command(("runs", "show"), "operations.runs:add_show",
            "one run's steps: status, duration, output, the failed step's error"),
    Command(("runs", "watch"), "operations.runs:add_watch", "a run's steps as they happen"),
    Command(("versions", "list"), "operations.versions:add_list",
            "every published model version with its figures; which one is live"),
    Command(("deploy",), "operations.deploy:add_deploy",
            "deploy a published version (roll forward or back) through the state machine"),
    Command(("local", "run"), "localaws.commands:add_run",
            "execute a state machine definition locally"),
    Command(("local", "endpoint"), "localaws.endpoint_command:add_endpoint",
            "serve a model (or `make pipeline`'s endpoints) through the SageMaker Runtime HTTP "
            "API on loopback, for any AWS SDK"),
    Command(("local", "pipeline"), "local_pipeline.pipeline:add_arguments",
            "synthesize the CDK app and run its state machine locally (what `make pipeline` "
            "runs)"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="calltime", description=__doc__.split("\n\n")[0])
    top = parser.add_subparsers(dest="command", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for command in COMMANDS:
        sub = top
        if len(command.path) == 2:
            group = command.path[0]
            if group not in groups:
                groups[group] = top.add_parser(group, help=GROUPS[group]).add_subparsers(
                    dest=f"{group}_command", required=True)
            sub = groups[group]
        module, _, function = command.adder.partition(":")
        add_arguments = getattr(importlib.import_module(module), function)
        add_arguments(sub.add_parser(command.path[-1], help=command.help))
    return parser


def unwind_on_sigterm() -> None:
    """SIGTERM (a `kill`, CI cancelling a job) unwinds like Ctrl-C: every `with` closes, so the
    local runtime stops its model servers and removes its work directory on the way out."""
    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def main(argv: list[str] | None = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from localaws.account_files import DamagedAccount

    unwind_on_sigterm()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (OSError, urllib.error.URLError, tarfile.TarError, json.JSONDecodeError,
            ClientError, BotoCoreError, DamagedAccount) as err:
        # A missing file, an unreachable server, a broken artifact, no AWS credentials: say
        # which, no traceback.
        reason = getattr(err, "reason", None) or err
        print(f"calltime {args.command}: error: {reason}", file=sys.stderr)
        return 2
