"""Lambda execution environments: one worker process per concurrent invocation of a function.

A worker is forked from a server process that has the project's handler modules imported once
(multiprocessing's forkserver with preloaded modules), so a new environment starts in tens of
milliseconds, and is kept warm for the next invocation of the same function, as Lambda keeps an
execution environment. While a handler runs, the parent watches it as Lambda does:
- **memory**: the worker's peak resident memory (VmHWM) is read every 20 ms; above the
  function's MemorySize the worker is killed and the invocation fails with
  `Runtime.OutOfMemory` ("Runtime exited with error: signal: killed");
- **timeout**: at the function's Timeout the worker is killed mid-way and the invocation fails
  with `Sandbox.Timedout`;
- **AWS calls**: every boto3 call the handler makes is sent to the parent, which makes it with
  the function's role (`localaws.authorization`) against the local account (moto, the local
  SageMaker) and sends the answer back; the handler sees ordinary boto3 responses and errors.

A worker dies with the runtime that made it, however the runtime ends (`kill -9` included): it
watches that process (a pidfd) and exits the moment it is gone, even mid-handler, so nothing
keeps running with no one enforcing its memory or timeout; the forkserver, whose last client
is then gone, exits too.

Each invocation gets the function's environment variables from the template. A worker's
stdout/stderr (the function's logs) go to `<log_dir>/<function>.log`, with a REPORT line per
invocation like CloudWatch's.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import select
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# Modules every worker has imported before it is forked: only what every handler imports, so a
# step that does not train does not carry pandas and scikit-learn in its measured memory. The
# handler modules themselves are imported by the worker's first invocation (its cold start),
# after the function's environment is set, as Lambda does: their module-level Logger, Metrics
# and Tracer read it.
PRELOAD = ["localaws.lambda_workers", "localaws.lambdas", "boto3", "botocore.session",
           "aws_lambda_powertools.logging", "aws_lambda_powertools.metrics",
           "aws_lambda_powertools.tracing"]
POLL_SECONDS = 0.02
# The variables a worker keeps from the process that started the forkserver (the interpreter's
# own, and the thread-pool sizes: the machine's, as Lambda's vCPUs are the sandbox's, so a test
# worker's share of the cores, tests/conftest.py, holds in the functions it runs); everything
# else comes from the function's configuration.
_BASE_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PYTHONPATH",
                     "VIRTUAL_ENV", "PYTHONHASHSEED", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                     "MKL_NUM_THREADS", "LOKY_MAX_CPU_COUNT")
_BODY = "__calltime_body__"

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


@dataclass
class Outcome:
    """How one invocation ended: the handler's result or error payload, or the environment's
    failure (error_type set, payload None)."""

    payload: bytes | None
    handler_error: bool
    error_type: str | None
    error_message: str
    max_memory_mb: int
    cpu_seconds: float | None = None  # the environment's CPU time (user + system) for it
    init_cpu_seconds: float = 0.0  # of which importing the handler (a cold start's INIT)



# --- the worker (child) side --------------------------------------------------------------------

_parent: Connection | None = None
_parent_lock = threading.Lock()


def _plain(value: Any) -> Any:
    """A request parameter as it can cross a pipe: file-like bodies read into bytes."""
    if hasattr(value, "read"):
        return value.read()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """The first stash of a call wins: the one made before botocore's handlers changed them."""
    context.setdefault("calltime_worker_params", dict(params))


def _forward(model: Any, context: dict[str, Any], request_signer: Any = None, **_: Any) -> Any:
    """botocore before-call in a worker: the parent makes the call; its answer is returned as
    the HTTP response and parsed body botocore would have produced."""
    from botocore.awsrequest import AWSResponse
    from botocore.response import StreamingBody

    if _parent is None:
        return None
    service = model.service_model.service_name  # what boto3.client() takes
    params = _plain(context.get("calltime_worker_params", {}))
    region = request_signer._region_name if request_signer is not None else None
    with _parent_lock:
        _parent.send(("call", service, model.name, params, region))
        status, parsed = _parent.recv()
    for key, value in list(parsed.items()):
        if isinstance(value, tuple) and value and value[0] == _BODY:
            parsed[key] = StreamingBody(io.BytesIO(value[1]), len(value[1]))
    return AWSResponse("https://local.calltime", status, {}, None), parsed


def _install_forwarding() -> None:
    """Every boto3 session the worker creates sends its calls to the parent (registered as a
    botocore builtin, so sessions and clients made at import time get it too)."""
    from botocore import handlers

    # The caller's own parameters, before botocore's handlers change them (CopySource would be
    # quoted twice), as the parent will build the request from them again.
    # botocore's own handlers on the more specific events run first; copy sources are kept
    # there, before handle_copy_source_param quotes them.
    for event in ("before-parameter-build", "before-parameter-build.s3.CopyObject",
                  "before-parameter-build.s3.UploadPartCopy"):
        handlers.BUILTIN_HANDLERS.append((event, _keep_params, handlers.REGISTER_FIRST))
    handlers.BUILTIN_HANDLERS.append(("before-call", _forward, handlers.REGISTER_FIRST))


def _die_with(pid: int) -> None:
    """Exit this process the moment process `pid` (the runtime) is gone."""

    def watch() -> None:
        try:
            descriptor = os.pidfd_open(pid)
        except (AttributeError, OSError):  # no pidfds here: look twice a second
            while True:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.5)
        else:
            select.select([descriptor], [], [])  # readable once the process has exited
        os._exit(70)

    threading.Thread(target=watch, name="die-with-runtime", daemon=True).start()


def _worker_main(connection: Connection, log_path: str, runtime_pid: int) -> None:
    global _parent
    _die_with(runtime_pid)
    _parent = connection
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    # What a Lambda sandbox starts from: no variable of the harness or of another stack.
    base_env = {key: value for key, value in os.environ.items() if key in _BASE_ENVIRONMENT}
    _install_forwarding()
    import boto3

    boto3.DEFAULT_SESSION = None  # sessions made from here on forward their calls
    from localaws.lambdas import LambdaContext, resolve

    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):  # the parent is gone: so is this environment
            os._exit(0)
        _, handler, payload, context_fields, environment = message
        os.environ.clear()
        os.environ.update({**base_env, **environment})
        context = LambdaContext(**context_fields)
        print(f"START RequestId: {context.aws_request_id} Version: $LATEST", flush=True)
        # The handler module's import on an environment's first invocation is Lambda's INIT
        # phase (its REPORT line's "Init Duration"): its CPU is reported apart.
        started = time.process_time()
        init: float | None = None
        try:
            function = resolve(handler)
            init = time.process_time() - started
            result = function(json.loads(payload) if payload else {}, context)
            reply = ("result", json.dumps(result).encode(), None, "", [], init)
        except Exception as err:  # every failure becomes the error payload
            reply = ("result", None, type(err).__name__, str(err),
                     traceback.format_tb(err.__traceback__),
                     time.process_time() - started if init is None else init)
        print(f"END RequestId: {context.aws_request_id}", flush=True)
        with _parent_lock:
            connection.send(reply)


# --- the parent side -----------------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """A process's CPU time so far, user and system, every thread's (/proc/<pid>/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _peak_rss_mb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


class Worker:
    """One execution environment of one function."""

    def __init__(self, function: str, log_dir: Path) -> None:
        self.function = function
        self.log_path = log_dir / f"{function}.log"
        parent, child = _context.Pipe()
        self.connection = parent
        self.process = _context.Process(target=_worker_main,
                                        args=(child, str(self.log_path), os.getpid()),
                                        name=f"lambda:{function}", daemon=True)
        self.process.start()
        child.close()

    def invoke(self, handler: str, payload: bytes, context_fields: dict[str, Any],
               environment: dict[str, str], memory_mb: int, timeout_seconds: float,
               serve: Callable[[str, str, dict[str, Any], str | None], tuple[int, dict]]
               ) -> Outcome:
        cpu = _cpu_seconds(self.process.pid)
        self.connection.send(("invoke", handler, payload, context_fields, environment))
        deadline = time.monotonic() + timeout_seconds
        peak = 0
        serving: threading.Thread | None = None  # a call of the handler's being made
        while True:
            ready = False
            if serving is None or not serving.is_alive():
                try:
                    ready = self.connection.poll(POLL_SECONDS)
                except (EOFError, OSError):
                    ready = False
            else:
                serving.join(POLL_SECONDS)
            peak = max(peak, _peak_rss_mb(self.process.pid))
            if peak > memory_mb:
                self.kill()
                return Outcome(None, False, "Runtime.OutOfMemory",
                               "Runtime exited with error: signal: killed", peak)
            if time.monotonic() > deadline:
                self.kill()
                return Outcome(None, False, "Sandbox.Timedout",
                               f"Task timed out after {timeout_seconds:.2f} seconds", peak)
            if not ready:
                if not self.process.is_alive():
                    return self._exited(peak)
                continue
            try:
                message = self.connection.recv()
            except (EOFError, OSError):  # the worker died
                return self._exited(peak)
            if message[0] == "call":
                # Made on a thread, so memory and the deadline are still watched meanwhile.
                serving = threading.Thread(target=self._answer, args=(serve, message[1:]),
                                           daemon=True)
                serving.start()
                continue
            _, body, error_type, error_message, stack, init = message
            used = _cpu_seconds(self.process.pid) - cpu
            if error_type is None:
                return Outcome(body, False, None, "", peak, used, init)
            return Outcome(error_payload(context_fields["aws_request_id"], error_type,
                                          error_message, stack), True, error_type,
                           error_message, peak, used, init)

    def _answer(self, serve: Callable[..., tuple[int, dict]], call: tuple) -> None:
        reply = serve(*call)
        with contextlib.suppress(OSError):  # the worker was killed meanwhile
            self.connection.send(reply)

    def _exited(self, peak: int) -> Outcome:
        self.process.join(5)
        return Outcome(None, False, "Runtime.ExitError",
                       f"Runtime exited with error: exit status {self.process.exitcode}", peak)

    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        self.process.kill()  # SIGKILL, as Lambda stops a sandbox
        self.process.join(5)
        self.connection.close()


def error_payload(request_id: str, error_type: str, message: str,
                   stack: list[str] | None = None) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type,
                       "requestId": request_id, "stackTrace": stack or []}).encode()


def streaming_to_bytes(parsed: dict[str, Any]) -> dict[str, Any]:
    """A parsed response as it can cross the pipe: streaming bodies read, marked."""
    out = dict(parsed)
    for key, value in parsed.items():
        if hasattr(value, "read"):
            out[key] = (_BODY, value.read())
    return out
