"""`calltime runs list | show <execution> | watch`: the state machine's runs from a terminal, as
the Step Functions console shows them (each step's status, duration, small output, the failed
step's error), for the deployed stack or a local account.

    calltime runs list [--stack calltime-prod | --local-state out/local-aws] [--limit 10]
    calltime runs show <execution name or ARN>
    calltime runs watch [<execution>]      # the running one (or the newest), live
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import Any

from localaws.progress import Progress, cause, event_time, short
from operations.account import Account, NotFound, add_target, chosen

SHOWN = ("Task", "Map", "Wait", "Choice")  # state types `runs show` lists (and the outcome)
# A task's attempt succeeded: an earlier attempt's failure was retried, not caught.
RETRIED_SUCCESS = ("TaskSucceeded", "LambdaFunctionSucceeded")


@dataclass
class StepRow:
    name: str
    kind: str
    status: str  # succeeded | failed | caught | running
    seconds: float | None
    output: str
    error: str = ""


def steps(definition: str, history: list[dict[str, Any]]) -> list[StepRow]:
    """Every state the run entered, in order, with how it ended."""
    progress = Progress(definition)
    rows: list[StepRow] = []
    open_rows: dict[str, tuple[StepRow, float]] = {}
    current: StepRow | None = None
    for event in history:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            current = StepRow(name, kind.removesuffix("StateEntered"), "running", None, "")
            rows.append(current)
            open_rows[name] = (current, event_time(event))
        elif kind.endswith("StateExited"):
            details = event["stateExitedEventDetails"]
            row, started = open_rows.pop(details["name"], (None, 0.0))
            if row is None:
                continue
            row.seconds = event_time(event) - started
            row.status = "caught" if row.error else "succeeded"
            if row.kind == "Task":
                row.output = progress.summary(row.name, details)
            elif row.kind == "Pass" and row.name.startswith("Outcome"):
                row.output = json.loads(details.get("output") or "{}").get("outcome", "")
        elif kind in RETRIED_SUCCESS and current is not None:  # a retry that succeeded
            current.error, current.status = "", "running"
        elif kind.endswith("Failed") and kind != "ExecutionFailed" and current is not None:
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            current.error = f"{details.get('error', '')}: {short(cause(details), 300)}"
            current.status = "failed"
    return rows


def run_error(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The error the run recorded in `$.error` (a failed map item's, named), as the last state
    left it; None when no step failed."""
    for event in reversed(history):
        if not event["type"].endswith("StateExited"):
            continue
        try:
            output = json.loads(event["stateExitedEventDetails"].get("output") or "{}")
        except json.JSONDecodeError:
            continue
        error = output.get("error") if isinstance(output, dict) else None
        if isinstance(error, dict):
            return error if error.get("Error") else None
    return None


def _when(value: Any) -> str:
    import datetime as dt

    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _seconds(execution: dict[str, Any]) -> str:
    start, stop = execution.get("startDate"), execution.get("stopDate")
    if not start or not stop:
        return "-"
    return f"{event_time({'timestamp': stop}) - event_time({'timestamp': start}):.0f} s"


def run_summary(execution: dict[str, Any]) -> dict[str, str]:
    """One run in a line: what it was asked, how it ended, which version."""
    given = json.loads(execution.get("input") or "{}")
    output = json.loads(execution.get("output") or "null") or {}
    version = given.get("deploy_version")
    kind = f"deploy {version}" if version else "retrain" + (
        f" {given['data_uri']}" if given.get("data_uri") else "")
    model = output.get("train", {}).get("model_version", "") if isinstance(output, dict) else ""
    outcome = output.get("outcome", "") if isinstance(output, dict) else ""
    return {"name": execution["name"], "status": execution["status"],
            "started": _when(execution.get("startDate")), "duration": _seconds(execution),
            "run": kind, "outcome": outcome or execution.get("error", "") or "",
            "model_version": model}


def table(rows: list[dict[str, str]], columns: list[str]) -> str:
    widths = {c: max([len(c), *(len(str(r.get(c, ""))) for r in rows)]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def _list(args: argparse.Namespace) -> int:
    with chosen(args, services=False) as account:
        rows = [run_summary(account.runs.describe(e["executionArn"]))
                for e in account.runs.newest(args.limit)]
    if not rows:
        print(f"no runs in {account.label}")
        return 0
    print(table(rows, ["name", "status", "started", "duration", "run", "outcome",
                       "model_version"]))
    return 0


def show(account: Account, name: str) -> str:
    execution, definition, history = account.runs.history(account.runs.arn(name))
    summary = run_summary(execution)
    lines = [f"{summary['name']}: {summary['status']} ({summary['run']}), started "
             f"{summary['started']}, {summary['duration']}"]
    if execution.get("error"):
        lines.append(f"  error: {execution['error']}: {short(execution.get('cause', ''), 300)}")
    if recorded := run_error(history):  # the failed step's error, as the run recorded it
        lines.append(f"  failed step's error: {recorded['Error']}: "
                     f"{short(cause({'cause': recorded.get('Cause', '')}), 600)}")
    rows = [r for r in steps(definition, history)
            if r.kind in SHOWN or r.name.startswith("Outcome")]
    lines.append(table([{"step": r.name, "status": r.status,
                         "seconds": "-" if r.seconds is None else f"{r.seconds:.1f}",
                         "output": short(r.output, 110), "error": r.error} for r in rows],
                       ["step", "status", "seconds", "output", "error"]))
    return "\n".join(lines)


def _show(args: argparse.Namespace) -> int:
    with chosen(args, services=False) as account:
        print(show(account, args.execution))
    return 0


def watch(account: Account, name: str | None, poll: float, out: Any = sys.stdout) -> str:
    """Print a run's steps as they happen (the one named, else the running one, else the
    newest); returns its final status."""
    if name is None:
        executions = account.runs.newest(50)
        if not executions:
            raise NotFound(f"no runs in {account.label}")
        running = [e for e in executions if e["status"] == "RUNNING"]
        arn = (running or executions)[0]["executionArn"]
    else:
        arn = account.runs.arn(name)
    seen = 0
    progress: Progress | None = None
    while True:
        execution, definition, history = account.runs.history(arn)
        if progress is None:
            progress = Progress(definition)
            print(f"watching {execution['name']} ({account.label})", file=out, flush=True)
        for event in history[seen:]:
            progress(event)
        seen = len(history)
        if execution["status"] != "RUNNING":
            return execution["status"]
        time.sleep(poll)


def _watch(args: argparse.Namespace) -> int:
    with chosen(args, services=False) as account:
        status = watch(account, args.execution, args.poll)
    return 0 if status == "SUCCEEDED" else 1


def add_list(parser: argparse.ArgumentParser) -> None:
    add_target(parser)
    from training.commands import positive

    parser.add_argument("--limit", type=positive(int), default=10,
                        help="newest runs shown (default 10)")
    parser.set_defaults(func=_list)


def add_show(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("execution", help="a run's name or ARN (`calltime runs list`)")
    add_target(parser)
    parser.set_defaults(func=_show)


def add_watch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("execution", nargs="?", help="default: the running run, else the newest")
    add_target(parser)
    from training.commands import positive

    parser.add_argument("--poll", type=positive(float), default=2.0,
                        help="seconds between looks (more than 0)")
    parser.set_defaults(func=_watch)
