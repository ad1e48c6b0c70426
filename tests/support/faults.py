"""What a faulty function runs in place of its handler, for the local runtime's tests.

Each runs in the function's own worker process under the function's limits, so the local
runtime, not the handler, produces Lambda's error: `Sandbox.Timedout` for one that hangs past its
timeout, `Runtime.OutOfMemory` for one that outgrows its memory. The fault matrix
(tests/faults) registers `raise_error`, `hang` and `hoard` for a function; `out_of_memory_once`
is injected into a template (`inject`) with, in the function's environment, `FAULT_WRAPS` (the
real handler's import path) and `FAULT_MARKER` (a file the first invocation creates, so exactly
one invocation of the function is hit, however many run concurrently).
"""

from __future__ import annotations

import importlib
import os
import time
from typing import Any

WRAPS_ENV, MARKER_ENV = "FAULT_WRAPS", "FAULT_MARKER"


def _real(event: dict[str, Any], context: Any) -> Any:
    module, name = os.environ[WRAPS_ENV].rsplit(".", 1)
    return getattr(importlib.import_module(module), name)(event, context)


def _first() -> bool:
    try:
        os.close(os.open(os.environ[MARKER_ENV], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


class InjectedFault(RuntimeError):
    """The error a faulty handler raises (Step Functions sees its class name)."""


def raise_error(event: dict[str, Any], context: Any) -> Any:
    raise InjectedFault(f"{context.function_name} failed (injected)")


def hang(event: dict[str, Any], context: Any) -> Any:
    """Wait forever, as a handler stuck on a call that never answers does."""
    while True:
        time.sleep(1)


def hoard(event: dict[str, Any], context: Any) -> Any:
    """Hold ever more memory until the function's MemorySize is reached and it is killed."""
    held = []
    while True:  # filled, so resident: the runtime sees the peak grow, then kills
        held.append(b"\x01" * (64 * 1024 * 1024))


def out_of_memory_once(event: dict[str, Any], context: Any) -> Any:
    """The first invocation does its work, writes its outputs, then runs out of memory before
    it returns (as a worker whose peak comes at the end does); every other is the real one."""
    result = _real(event, context)
    if _first():
        hoard(event, context)
    return result


def inject(template: dict[str, Any], handler: str, fault: str, marker: str) -> None:
    """Point the template's function whose handler is `handler` at `fault` (this module's)."""
    (props,) = [r["Properties"] for r in template["Resources"].values()
                if r["Type"] == "AWS::Lambda::Function"
                and r["Properties"].get("ImageConfig", {}).get("Command") == [handler]]
    props["ImageConfig"]["Command"] = [f"{__name__}.{fault}"]
    props["Environment"]["Variables"].update({WRAPS_ENV: handler, MARKER_ENV: marker})


def hang_and_tell(event: dict[str, Any], context: Any) -> Any:
    """Write this worker's pid and its parent's (the forkserver) to event["tell"], then keep a
    core busy, as a training step does (the kill must not wait for the handler to return)."""
    with open(event["tell"], "w") as told:
        told.write(f"{os.getpid()} {os.getppid()}\n")
    while True:
        sum(range(100_000))
