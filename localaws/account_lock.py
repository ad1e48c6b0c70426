"""One process at a time uses a local account (`out/local-aws`): an exclusive `flock` on a file
in it, which the kernel releases when the process ends however it ends (SIGKILL included), so
a crashed run never leaves the account locked. A second `make pipeline` started while the first
runs is told which process holds the account, instead of deploying on its own copy of it and
overwriting the first one's saved state when it finishes."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOLDER_FILE = "in-use.pid"


class AccountInUse(OSError):
    """Another process holds the local account."""


@contextmanager
def exclusive(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(state_dir / HOLDER_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "?"
            raise AccountInUse(
                f"the local account {state_dir} is in use by process {holder} (another "
                "`make pipeline`?): wait for it to finish, or give this run another --out"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # releases the lock
