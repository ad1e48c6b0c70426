"""Temporary directories that do not accumulate.

Each is made under the system's temporary directory with an `owner.pid` file naming the process
that made it. A process that exits normally removes its own; one killed outright (SIGKILL, a
crash) cannot, so every new one first sweeps the directories of its kind whose owner no longer
runs. `/tmp` never keeps more than the live processes' directories.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

OWNER_FILE = "owner.pid"


def make(prefix: str) -> Path:
    """A new directory `<tmp>/<prefix>XXXX` owned by this process (stale ones swept first).
    It appears under its name with its owner file already in it: made as a hidden staging
    directory, then renamed, so no other process sees one of ours without an owner."""
    sweep(prefix)
    staging = Path(tempfile.mkdtemp(prefix=_staging(prefix)))
    (staging / OWNER_FILE).write_text(f"{os.getpid()}\n")
    # mkdtemp's random part, unique among the staging names: only a directory made by hand
    # under our prefix could hold the name (a non-empty one fails the rename)
    directory = staging.with_name(prefix + staging.name.removeprefix(_staging(prefix)))
    staging.rename(directory)
    return directory


def _staging(prefix: str) -> str:
    return f".{prefix}staging-"


def sweep(prefix: str) -> list[Path]:
    """Remove the directories of this kind whose owner process is gone (a staging one too);
    which were removed."""
    removed = []
    tmp = Path(tempfile.gettempdir())
    for directory in [*tmp.glob(f"{prefix}*"), *tmp.glob(f"{_staging(prefix)}*")]:
        try:
            owner = int((directory / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not one of ours, or still being made
        if not running(owner):
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed


def running(pid: int) -> bool:
    """Whether process `pid` runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    return True
