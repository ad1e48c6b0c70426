"""In-process Lambda: `lambda.Invoke` runs the project's real handler in this process.

The state machine's Lambda ARNs map to handler import paths ("package.module:function") or
callables. The handler gets a Lambda-like context and its exceptions become Lambda's error
payload (`FunctionError: Unhandled`, `{"errorType", "errorMessage", "stackTrace"}`), which is what
Step Functions matches Retry/Catch `ErrorEquals` against.

Each function runs with its limits from the template (`FunctionLimits`): the context reports its
memory and remaining time; a payload over 6 MB is refused and a response over 6 MB fails, as in
AWS; a handler that ran past its timeout fails with `Sandbox.Timedout` (it is not stopped midway:
it runs in this process). Memory is reported, not enforced.
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


@dataclass(frozen=True)
class FunctionLimits:
    """A function's configuration that AWS enforces on every invocation (without a template:
    the most Lambda allows)."""

    memory_mb: int = 10240
    timeout_seconds: int = 900


PAYLOAD_LIMIT = 6 * 1024 * 1024  # synchronous invocation: request and response, 6 MB each


@dataclass
class Invocation:
    status: int
    payload: bytes
    function_error: str | None


class LocalLambda:
    def __init__(self, region: str, account: str) -> None:
        self.region, self.account = region, account
        self.handlers: dict[str, Handler | str] = {}
        self.limits: dict[str, FunctionLimits] = {}
        self.invocations: list[dict[str, Any]] = []

    def register(self, name_or_arn: str, handler: Handler | str,
                 limits: FunctionLimits | None = None) -> None:
        """A new handler for a function keeps the function's limits unless given new ones."""
        name = function_name(name_or_arn)
        self.handlers[name] = handler
        if limits is not None:
            self.limits[name] = limits

    def invoke(self, name_or_arn: str, payload: bytes) -> Invocation:
        name = function_name(name_or_arn)
        if name not in self.handlers:
            body = json.dumps({"Type": "User", "message": f"Function not found: {name_or_arn}"})
            return Invocation(404, body.encode(), "ResourceNotFoundException")
        if len(payload) > PAYLOAD_LIMIT:
            body = json.dumps({"Type": "User", "message": f"{len(payload)} byte payload is too "
                               f"large for the RequestResponse invocation type "
                               f"({PAYLOAD_LIMIT} bytes)"})
            return Invocation(413, body.encode(), "RequestEntityTooLargeException")
        arn = f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
        limits = self.limits.get(name, FunctionLimits())
        context = LambdaContext(function_name=name, invoked_function_arn=arn,
                                memory_limit_in_mb=limits.memory_mb,
                                timeout_seconds=limits.timeout_seconds)
        event = json.loads(payload) if payload else {}
        started = time.monotonic()
        try:
            result = resolve(self.handlers[name])(event, context)
            body, error = json.dumps(result).encode(), None
        except Exception as err:  # every failure becomes the error payload
            body = _error(context, type(err).__name__, str(err),
                          traceback.format_tb(err.__traceback__))
            error = "Unhandled"
        elapsed = time.monotonic() - started
        # What AWS would have stopped: a handler past its timeout (here it ran to the end, so
        # its side effects happened; in AWS they may be cut short) or answering too much.
        if elapsed > limits.timeout_seconds:
            body = _error(context, "Sandbox.Timedout", f"RequestId: {context.aws_request_id} "
                          f"Error: Task timed out after {limits.timeout_seconds:.2f} seconds")
            error = "Unhandled"
        elif len(body) > PAYLOAD_LIMIT:
            body = _error(context, "Function.ResponseSizeTooLarge",
                          f"Response payload size ({len(body)} bytes) exceeded maximum allowed "
                          f"payload size ({PAYLOAD_LIMIT} bytes).")
            error = "Unhandled"
        self.invocations.append({"function": name, "request_id": context.aws_request_id,
                                 "seconds": round(elapsed, 3),
                                 "error": error})
        return Invocation(200, body, error)


def _error(context: LambdaContext, error_type: str, message: str,
           stack: list[str] | None = None) -> bytes:
    """Lambda's error payload, whose errorType Step Functions matches Retry/Catch against."""
    return json.dumps({"errorMessage": message, "errorType": error_type,
                       "requestId": context.aws_request_id, "stackTrace": stack or []}).encode()
