"""Typed reading of step inputs: a missing or mistyped field is an error that names it."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from pipeline_lambdas.errors import InvalidStepInput


def read_field(event: dict[str, Any], name: str, kind: type | tuple[type, ...],
          default: Any = ...) -> Any:
    if name not in event or event[name] is None:
        if default is ...:
            raise InvalidStepInput(f"input field {name!r} is required")
        return default
    value = event[name]
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise InvalidStepInput(f"input field {name!r} must be a number, got {value!r}")
    if not isinstance(value, kind):
        raise InvalidStepInput(f"input field {name!r} must be {getattr(kind, '__name__', kind)},"
                               f" got {value!r}")
    return value


def model_version(event: dict[str, Any]) -> str:
    """Sortable and unique per execution, and the same on every retry of the execution's steps:
    the execution's start time plus a hash of its name."""
    if event.get("model_version"):
        return read_field(event, "model_version", str)
    name = read_field(event, "execution_name", str)
    started = dt.datetime.fromisoformat(read_field(event, "execution_start", str).replace("Z",
                                                                                     "+00:00"))
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{started.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{digest}"
