"""A saved local account's files checked before anything uses them: a damaged one is named, with
what to do, before a run trains (and finds it only when it saves), never a traceback.

    <state>/state.json         the region, S3 objects, SSM parameters, SageMaker resources
    <state>/executions.json    every saved run with its history
    <state>/running/*.json     a run under way in another process, as it stands
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

STATE_FILE, EXECUTIONS_FILE, RUNNING_DIR = "state.json", "executions.json", "running"
_REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d")


class DamagedAccount(ValueError):
    """A local account's file cannot be read; the message names it and what to do."""


def _damaged(path: Path, problem: str, remedy: str) -> DamagedAccount:
    return DamagedAccount(f"{path} is damaged ({problem}): {remedy}")


def _load(path: Path, remedy: str) -> Any:
    try:
        return json.loads(path.read_text())
    except UnicodeDecodeError as err:
        raise _damaged(path, f"not UTF-8 text at byte {err.start}", remedy) from err
    except json.JSONDecodeError as err:
        raise _damaged(path, f"not JSON: {err}", remedy) from err


def _record_problem(record: Any) -> str | None:
    """What is wrong with one saved run, or None."""
    if not isinstance(record, dict):
        return "a run is not an object"
    execution = record.get("execution")
    if not isinstance(execution, dict) or not all(
            isinstance(execution.get(k), str) for k in ("executionArn", "name", "status")):
        return "a run has no execution with an ARN, a name and a status"
    if not isinstance(execution.get("startDate"), str):
        return f"run {execution['name']} has no start date"
    if not isinstance(record.get("definition"), str) or not isinstance(record.get("history"),
                                                                        list):
        return f"run {execution['name']} has no definition or history"
    return None


def check_state(directory: Path) -> dict[str, Any] | None:
    """state.json's content, checked (None when there is none)."""
    path = directory / STATE_FILE
    if not path.is_file():
        return None
    remedy = (f"the local account cannot be restored from it; remove {directory} (or "
              "`make clean`) to start a new one")
    state = _load(path, remedy)
    if not isinstance(state, dict):
        raise _damaged(path, "not a JSON object", remedy)
    region = state.get("region")
    if not isinstance(region, str) or not _REGION.fullmatch(region):
        raise _damaged(path, f"region {region!r} is not an AWS region name", remedy)
    if not isinstance(state.get("buckets"), dict) or not all(
            isinstance(keys, list) for keys in state["buckets"].values()):
        raise _damaged(path, "its buckets are not a map of bucket to keys", remedy)
    if not isinstance(state.get("parameters"), list) or not isinstance(
            state.get("sagemaker"), dict) or not all(
            isinstance(state["sagemaker"].get(k), list)
            for k in ("models", "configs", "endpoints")):
        raise _damaged(path, "its parameters or SageMaker resources are not what a save writes",
                       remedy)
    return state


def check_executions(directory: Path) -> list[dict[str, Any]]:
    """executions.json's runs, checked ([] when there are none)."""
    path = directory / EXECUTIONS_FILE
    if not path.is_file():
        return []
    remedy = (f"its saved runs cannot be read; move it aside (e.g. to {path.name}.damaged) "
              "to keep the rest of the account and start a new list of runs")
    records = _load(path, remedy)
    if not isinstance(records, list):
        raise _damaged(path, "not a list of runs", remedy)
    for record in records:
        if (problem := _record_problem(record)) is not None:
            raise _damaged(path, problem, remedy)
    return records


def running_record(path: Path) -> dict[str, Any] | None:
    """A running/ file's run, checked; None while it is being replaced (written atomically,
    it can be gone between the listing and the read)."""
    remedy = "remove it: it is a run another process was keeping, not the saved account"
    try:
        record = _load(path, remedy)
    except FileNotFoundError:
        return None
    if (problem := _record_problem(record)) is not None:
        raise _damaged(path, problem, remedy)
    return record


def check(directory: Path) -> None:
    """Every file of the account at `directory`, before a run or a command uses it."""
    check_state(directory)
    check_executions(directory)
    for live in sorted((directory / RUNNING_DIR).glob("*.json")):
        running_record(live)
