"""A readable, live view of a Step Functions execution's history: one line per step.

Task and Wait states print as they are entered and left, a Task with its own result (the value
at its ResultPath, not the whole state), failures with the Lambda error's message, outcomes and
the end of the execution. `make pipeline` uses that view; `calltime local run`, which runs
definitions of any shape, asks for every state with its whole output (`whole_outputs=True`).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any


class Progress:
    """`on_event` for `LocalAWS.run_execution`; prefix marks lines of concurrent runs."""

    def __init__(self, definition: str, prefix: str = "", whole_outputs: bool = False) -> None:
        states = json.loads(definition)["States"]
        self.result_key = {name: (state.get("ResultPath") or "").removeprefix("$.")
                           for name, state in states.items()}
        self.kind = {name: state["Type"] for name, state in states.items()}
        self.entered: dict[str, float] = {}
        self.current = ""  # the state the last entered event named
        self.failed: set[str] = set()  # states in which a task failed
        self.prefix = prefix
        self.whole_outputs = whole_outputs
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        line = None
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            self.entered[name] = event_time(event)
            self.current = name
            if self.whole_outputs or self.kind.get(name) in ("Task", "Wait", "Map"):
                line = f"-> {name}"
        elif kind.endswith("StateExited"):
            details = event["stateExitedEventDetails"]
            name = details["name"]
            now = event_time(event)
            seconds = now - self.entered.get(name, now)
            if self.whole_outputs:
                line = f"<- {name} ({seconds:.1f} s)  {short(details.get('output', ''), 160)}"
            elif self.kind.get(name) == "Task":
                line = f"<- {name} ({seconds:.1f} s)  {self.summary(name, details)}"
            elif self.kind.get(name) == "Map":  # its items wrote their own results
                line = f"<- {name} ({seconds:.1f} s)"
            elif self.kind.get(name) == "Pass" and name.startswith("Outcome"):
                line = f"   outcome: {json.loads(details.get('output') or '{}').get('outcome')}"
        elif kind.endswith("Failed") and kind != "ExecutionFailed":
            self.failed.add(self.current)
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            line = f"   ! {details.get('error', '')}: {short(cause(details), 300)}"
        elif kind.startswith("Execution") and kind != "ExecutionStarted":
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            line = f"== {kind.removeprefix('Execution')} {details.get('error', '')}".rstrip()
        if line:
            with self.lock:
                print(f"{self.prefix}{line}", flush=True)

    def summary(self, name: str, details: dict[str, Any]) -> str:
        """A Task's own result (the value at its ResultPath) from its exited event, in one
        line."""
        try:
            output = json.loads(details.get("output") or "{}")
        except json.JSONDecodeError:
            return short(details.get("output", ""), 200)
        key = self.result_key.get(name, "")
        if not key:  # no ResultPath: the state's output is the task's result
            value = output
        elif key not in output:  # the task failed and a Catch put its error elsewhere
            return "failed (caught: see the error above)"
        else:
            value = output[key]
        if not isinstance(value, dict):
            return short(str(value), 200)
        shown = "  ".join(f"{k}={_compact(v)}" for k, v in value.items()
                          if v not in (None, "", [], {}))
        if not shown and name in self.failed:  # its result slot kept an empty placeholder
            return "failed (caught: see the error above)"
        return short(shown, 400)


def event_time(event: dict[str, Any]) -> float:
    """When an execution history event happened, in seconds: its timestamp (a datetime from
    boto3, ISO 8601 text from a saved history), else now."""
    stamp = event.get("timestamp")
    if isinstance(stamp, str):
        stamp = dt.datetime.fromisoformat(stamp)
    return stamp.timestamp() if isinstance(stamp, dt.datetime) else time.monotonic()


def cause(details: dict[str, Any]) -> str:
    """A Lambda error's message (its cause is the JSON error payload)."""
    cause = details.get("cause", "")
    try:
        return json.loads(cause).get("errorMessage", cause)
    except (json.JSONDecodeError, AttributeError):
        return cause


def _compact(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return short(json.dumps(value, separators=(",", ":")), 120)
    return str(value)


def short(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."
