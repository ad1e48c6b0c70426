"""`calltime local run`: execute a state machine definition on the local runtime.

    calltime local run --definition sm.json --lambdas lambdas.json --input '{"x": 1}' \
        [--export DIR] [--silent-update-failures]

`lambdas.json` maps Lambda ARNs (or function names) in the definition to handler import paths,
e.g. {"arn:aws:lambda:us-east-1:123456789012:function:train": "pipeline_lambdas.train:handler"}.
Each state is printed as it is entered and left, with its output.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any


def describe(event: dict[str, Any], width: int = 160) -> str | None:
    """One readable line for a history event, or None for the ones not worth a line."""
    kind = event["type"]
    if kind == "ExecutionStarted":
        return "execution started"
    if kind.endswith("StateEntered"):
        return f"-> {event['stateEnteredEventDetails']['name']}"
    if kind.endswith("StateExited"):
        details = event["stateExitedEventDetails"]
        output = details.get("output", "")
        output = output if len(output) <= width else output[: width - 3] + "..."
        return f"<- {details['name']}  {output}"
    if kind.endswith("Failed") and kind != "ExecutionFailed":
        details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
        return f"   x {kind}: {details.get('error', '')} {details.get('cause', '')[:width]}"
    if kind in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted",
                "ExecutionTimedOut"):
        return kind
    return None


def _print_event(event: dict[str, Any]) -> None:
    line = describe(event)
    if line:
        print(line, flush=True)


def run(args: argparse.Namespace) -> int:
    from localaws.runtime import LocalAWS

    # moto's interpreter logs every failed state with its parse tree; the lines above say it.
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    definition = Path(args.definition).read_text()
    lambdas = json.loads(Path(args.lambdas).read_text()) if args.lambdas else {}
    execution_input = json.loads(args.input)
    with LocalAWS(region=args.region,
                  silent_update_failures=args.silent_update_failures) as aws:
        arn = aws.deploy_state_machine(args.name, definition, lambdas)
        result = aws.run_execution(arn, execution_input, on_event=_print_event,
                                   timeout=args.timeout)
        if args.export:
            aws.export(Path(args.export))
    print(json.dumps({"status": result.status, "output": result.output, "error": result.error,
                      "cause": result.cause}, indent=2))
    return 0 if result.status == "SUCCEEDED" else 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    local = sub.add_parser("local", help="the local AWS runtime")
    local_sub = local.add_subparsers(dest="local_command", required=True)
    runner = local_sub.add_parser("run", help="execute a state machine definition locally")
    runner.add_argument("--definition", required=True, help="ASL JSON file")
    runner.add_argument("--lambdas", help="JSON file: Lambda ARN or name -> module:function")
    runner.add_argument("--input", default="{}", help="execution input (JSON)")
    runner.add_argument("--name", default="local")
    runner.add_argument("--region", default="us-east-1")
    runner.add_argument("--timeout", type=float, default=900.0)
    runner.add_argument("--export", help="write S3, SageMaker and execution state here")
    runner.add_argument("--silent-update-failures", action="store_true",
                        help="failed endpoint updates roll back without a FailureReason")
    runner.set_defaults(func=run)
    from localaws.pipeline import add_arguments

    add_arguments(local_sub.add_parser(
        "pipeline", help="synthesize the CDK app and run its state machine locally "
                         "(what `make pipeline` runs)"))


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command", required=True))
    parsed = parser.parse_args()
    sys.exit(parsed.func(parsed))
