"""What a faulty function does in place of its handler, for the fault matrix (tests/faults).

Each runs in the function's own worker process under the function's limits, so the local
runtime, not the handler, produces Lambda's error: `Sandbox.Timedout` for one that hangs past
its timeout, `Runtime.OutOfMemory` for one that outgrows its memory.
"""

from __future__ import annotations

import time
from typing import Any


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
    while True:
        held.append(b"\x01" * (32 * 1024 * 1024))
