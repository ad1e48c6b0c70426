"""In-process Lambda: `lambda.Invoke` runs the project's real handler in this process.

The state machine's Lambda ARNs map to handler import paths ("package.module:function") or
callables. The handler gets a Lambda-like context and its exceptions become Lambda's error
payload (`FunctionError: Unhandled`, `{"errorType", "errorMessage", "stackTrace"}`), which is what
Step Functions matches Retry/Catch `ErrorEquals` against.
"""

from __future__ import annotations

import importlib
import json
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[Any, Any], Any]


@dataclass
class LambdaContext:
    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 1024
    timeout_seconds: int = 900
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def function_name(name_or_arn: str) -> str:
    """'arn:aws:lambda:r:a:function:name[:qualifier]' or 'name[:qualifier]' -> 'name'."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":")[6]
    return name_or_arn.split(":")[0]


def resolve(handler: Handler | str) -> Handler:
    if callable(handler):
        return handler
    module, _, attr = handler.partition(":")
    return getattr(importlib.import_module(module), attr or "handler")


@dataclass
class Invocation:
    status: int
    payload: bytes
    function_error: str | None


class LocalLambda:
    def __init__(self, region: str, account: str) -> None:
        self.region, self.account = region, account
        self.handlers: dict[str, Handler | str] = {}
        self.invocations: list[dict[str, Any]] = []

    def register(self, name_or_arn: str, handler: Handler | str) -> None:
        self.handlers[function_name(name_or_arn)] = handler

    def invoke(self, name_or_arn: str, payload: bytes) -> Invocation:
        name = function_name(name_or_arn)
        if name not in self.handlers:
            body = json.dumps({"Type": "User", "message": f"Function not found: {name_or_arn}"})
            return Invocation(404, body.encode(), "ResourceNotFoundException")
        arn = f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
        context = LambdaContext(function_name=name, invoked_function_arn=arn)
        event = json.loads(payload) if payload else {}
        started = time.monotonic()
        try:
            result = resolve(self.handlers[name])(event, context)
            body, error = json.dumps(result).encode(), None
        except Exception as err:  # every failure becomes the error payload
            body = json.dumps({"errorMessage": str(err), "errorType": type(err).__name__,
                               "requestId": context.aws_request_id,
                               "stackTrace": traceback.format_tb(err.__traceback__)}).encode()
            error = "Unhandled"
        self.invocations.append({"function": name, "request_id": context.aws_request_id,
                                 "seconds": round(time.monotonic() - started, 3),
                                 "error": error})
        return Invocation(200, body, error)
