"""Local Lambda: `lambda.Invoke` runs the project's real handler under its function's limits.

The state machine's Lambda ARNs map to handler import paths ("package.module:function") or
callables. The handler gets a Lambda-like context and its exceptions become Lambda's error
payload (`FunctionError: Unhandled`, `{"errorType", "errorMessage", "stackTrace"}`), which is what
Step Functions matches Retry/Catch `ErrorEquals` against.

Each function runs with its configuration from the template (`FunctionConfig`): a handler given
by import path runs in a worker process (`localaws.lambda_workers`) that is killed when it goes
over its memory (`Runtime.OutOfMemory`) or its timeout (`Sandbox.Timedout`), with the function's
environment variables, and whose AWS calls are made with the function's role. A callable (a
test's stand-in) runs in this process, as its role, with the timeout checked after it returns.
Either way a payload over 6 MB is refused and a response over 6 MB fails, as in AWS.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localaws.authorization import acting_as, role_session
from localaws.lambda_workers import Worker, error_payload

Handler = Callable[[Any, Any], Any]


@dataclass
class LambdaContext:
    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 10240  # as FunctionConfig: the most Lambda allows
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
class FunctionConfig:
    """A function's configuration that AWS enforces on every invocation (without a template:
    the most Lambda allows, the caller's own identity and environment)."""

    memory_mb: int = 10240
    timeout_seconds: int = 900
    role_arn: str | None = None
    environment: dict[str, str] = field(default_factory=dict)


PAYLOAD_LIMIT = 6 * 1024 * 1024  # synchronous invocation: request and response, 6 MB each

# Invoke's own errors when the service turns an invocation away (Lambda API reference, Invoke
# errors): status and body. Step Functions names them Lambda.<code>.
SERVICE_REFUSALS: dict[str, tuple[int, dict[str, str]]] = {
    "TooManyRequestsException": (429, {
        "Type": "User", "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
        "message": "Rate Exceeded."}),
    "ServiceException": (500, {"Type": "Service",
                               "message": "The AWS Lambda service encountered an internal error."}),
}

# Makes one AWS call for a worker: (service, operation, params, region) -> (status, parsed).
ServeCall = Callable[[str, str, dict[str, Any], str | None], tuple[int, dict[str, Any]]]


@dataclass
class Invocation:
    status: int
    payload: bytes
    function_error: str | None


class LocalLambda:
    def __init__(self, region: str, account: str, serve_call: ServeCall | None = None,
                 log_dir: Path | None = None) -> None:
        """`serve_call` makes the AWS calls of handlers run in worker processes; without it
        every handler runs in this process."""
        self.region, self.account = region, account
        self.handlers: dict[str, Handler | str] = {}
        self.configs: dict[str, FunctionConfig] = {}
        self.invocations: list[dict[str, Any]] = []
        self._serve_call, self._log_dir = serve_call, log_dir
        self._idle: dict[str, list[Worker]] = {}
        self._workers_lock = threading.Lock()
        self._refusals: dict[str, list[str]] = {}  # the service's answers before the next runs

    def register(self, name_or_arn: str, handler: Handler | str,
                 config: FunctionConfig | None = None) -> None:
        """A new handler for a function keeps the function's configuration unless given a new
        one; its warm workers are retired."""
        name = function_name(name_or_arn)
        self.handlers[name] = handler
        if config is not None:
            self.configs[name] = config
        self._retire(name)

    def refuse(self, name_or_arn: str, error: str, times: int = 1) -> None:
        """The Lambda service refuses the function's next `times` invocations with `error`
        (one of SERVICE_REFUSALS: throttling, a service error), as AWS does under load or in an
        incident; the handler never runs for them."""
        if error not in SERVICE_REFUSALS:
            raise ValueError(f"{error!r}: expected one of {', '.join(SERVICE_REFUSALS)}")
        with self._workers_lock:
            self._refusals.setdefault(function_name(name_or_arn), []).extend([error] * times)

    def _refusal(self, name: str) -> Invocation | None:
        with self._workers_lock:
            pending = self._refusals.get(name)
            if not pending:
                return None
            error = pending.pop(0)
        status, body = SERVICE_REFUSALS[error]
        self.invocations.append({"function": name, "request_id": None, "seconds": 0.0,
                                 "max_memory_mb": None, "memory_mb": None, "error": error,
                                 "error_type": error, "aws_calls": {}, "cpu_seconds": None,
                                 "init_cpu_seconds": None})
        return Invocation(status, json.dumps(body).encode(), error)

    def role_of(self, name: str) -> str | None:
        return self.configs.get(name, FunctionConfig()).role_arn

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
        if (refused := self._refusal(name)) is not None:
            return refused
        arn = f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
        config = self.configs.get(name, FunctionConfig())
        context = LambdaContext(function_name=name, invoked_function_arn=arn,
                                memory_limit_in_mb=config.memory_mb,
                                timeout_seconds=config.timeout_seconds)
        handler = self.handlers[name]
        started = time.monotonic()
        calls: Counter[str] = Counter()  # "service.Operation" -> calls made (workers only)
        used: dict[str, float] = {}  # the worker's CPU seconds (workers only)
        if isinstance(handler, str) and self._serve_call is not None:
            body, error, memory = self._in_worker(name, handler, payload, context, config,
                                                  calls, used)
        else:
            body, error, memory = self._in_process(name, handler, payload, context, config)
        elapsed = time.monotonic() - started
        if error is None and len(body) > PAYLOAD_LIMIT:
            body = error_payload(context.aws_request_id, "Function.ResponseSizeTooLarge",
                                 f"Response payload size ({len(body)} bytes) exceeded maximum "
                                 f"allowed payload size ({PAYLOAD_LIMIT} bytes).")
            error = "Unhandled"
        self.invocations.append({"function": name, "request_id": context.aws_request_id,
                                 "seconds": round(elapsed, 3), "max_memory_mb": memory,
                                 "memory_mb": config.memory_mb, "error": error,
                                 "error_type": _error_type(body) if error else None,
                                 "aws_calls": dict(calls),
                                 "cpu_seconds": used.get("cpu"),
                                 "init_cpu_seconds": used.get("init")})
        return Invocation(200, body, error)

    def _in_process(self, name: str, handler: Handler | str, payload: bytes,
                    context: LambdaContext, config: FunctionConfig
                    ) -> tuple[bytes, str | None, int | None]:
        principal = role_session(config.role_arn, name) if config.role_arn else None
        started = time.monotonic()
        try:
            with acting_as(principal):
                result = resolve(handler)(json.loads(payload) if payload else {}, context)
            body, error = json.dumps(result).encode(), None
        except Exception as err:  # every failure becomes the error payload
            body = error_payload(context.aws_request_id, type(err).__name__, str(err),
                                 traceback.format_tb(err.__traceback__))
            error = "Unhandled"
        # In this process a handler cannot be stopped midway: past its timeout it has run to
        # the end (its side effects happened), and fails as AWS would have failed it.
        if time.monotonic() - started > config.timeout_seconds:
            body = error_payload(context.aws_request_id, "Sandbox.Timedout",
                                 f"RequestId: {context.aws_request_id} Error: Task timed out "
                                 f"after {config.timeout_seconds:.2f} seconds")
            error = "Unhandled"
        return body, error, None

    def _in_worker(self, name: str, handler: str, payload: bytes, context: LambdaContext,
                   config: FunctionConfig, calls: Counter[str], used: dict[str, float]
                   ) -> tuple[bytes, str | None, int | None]:
        worker = self._checkout(name)
        fields = {"function_name": context.function_name,
                  "invoked_function_arn": context.invoked_function_arn,
                  "memory_limit_in_mb": context.memory_limit_in_mb,
                  "timeout_seconds": context.timeout_seconds,
                  "aws_request_id": context.aws_request_id}
        principal = role_session(config.role_arn, name) if config.role_arn else None
        counted = threading.Lock()

        def serve(service: str, operation: str, params: dict[str, Any], region: str | None
                  ) -> tuple[int, dict[str, Any]]:
            with counted:
                calls[f"{service}.{operation}"] += 1
            with acting_as(principal):
                return self._serve_call(service, operation, params, region)

        # Lambda's reserved variables (region, the role's credentials), then the function's.
        environment = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region,
                       "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                       "AWS_SESSION_TOKEN": "local", "AWS_LAMBDA_FUNCTION_NAME": name,
                       "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
                       **config.environment}
        outcome = worker.invoke(handler, payload, fields, environment, config.memory_mb,
                                config.timeout_seconds, serve)
        with open(worker.log_path, "a") as log:
            log.write(f"REPORT RequestId: {context.aws_request_id}\tMemory Size: "
                      f"{config.memory_mb} MB\tMax Memory Used: {outcome.max_memory_mb} MB"
                      f"{'' if outcome.payload is not None else chr(9) + outcome.error_type}\n")
        if outcome.payload is None:  # the environment died: Lambda's own error payload
            worker.kill()
            return (error_payload(context.aws_request_id, outcome.error_type or "Unknown",
                                  f"RequestId: {context.aws_request_id} Error: "
                                  f"{outcome.error_message}"),
                    "Unhandled", outcome.max_memory_mb)
        self._checkin(name, worker)
        if outcome.cpu_seconds is not None:
            used["cpu"] = round(outcome.cpu_seconds, 3)
            used["init"] = round(min(outcome.init_cpu_seconds, outcome.cpu_seconds), 3)
        return outcome.payload, "Unhandled" if outcome.handler_error else None, \
            outcome.max_memory_mb

    # --- execution environments ----------------------------------------------------------------

    def _checkout(self, name: str) -> Worker:
        with self._workers_lock:
            idle = self._idle.setdefault(name, [])
            while idle:
                worker = idle.pop()
                if worker.alive():
                    return worker
        assert self._log_dir is not None
        self._log_dir.mkdir(parents=True, exist_ok=True)
        return Worker(name, self._log_dir)

    def _checkin(self, name: str, worker: Worker) -> None:
        with self._workers_lock:
            self._idle.setdefault(name, []).append(worker)

    def _retire(self, name: str) -> None:
        with self._workers_lock:
            workers = self._idle.pop(name, [])
        for worker in workers:
            worker.kill()

    def stop(self) -> None:
        """Kill every warm worker (the account is going away)."""
        for name in list(self._idle):
            self._retire(name)


def _error_type(body: bytes) -> str | None:
    try:
        return json.loads(body).get("errorType")
    except (ValueError, AttributeError):
        return None
