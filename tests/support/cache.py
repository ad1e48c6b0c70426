"""What tests make once and share across processes (pytest-xdist workers, the TypeScript
client's tests): a generated log, a model trained on it. Kept under .cache/tests/<name>-<key>/,
where the key hashes the sources that make it (a change makes it again); made by one process
while the others wait on a file lock."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path

from filelock import FileLock

REPOSITORY = Path(__file__).resolve().parents[2]
MARKER = ".complete"


def cache_root() -> Path:
    return Path(os.environ.get("CALLTIME_CACHE", REPOSITORY / ".cache")) / "tests"


def source_key(folders: Iterable[str], extra: str = "") -> str:
    """A hash of every Python file under `folders` (of the repository), the pinned libraries'
    versions and `extra`."""
    digest = hashlib.sha256(extra.encode())
    for folder in folders:
        for path in sorted((REPOSITORY / folder).rglob("*.py")):
            digest.update(str(path.relative_to(REPOSITORY)).encode() + b"\0" + path.read_bytes())
    for library in ("numpy", "pandas", "scikit-learn", "pyarrow"):
        digest.update(f"{library}=={metadata.version(library)}".encode())
    return digest.hexdigest()[:24]


def made_once(name: str, key: str, make: Callable[[Path], None]) -> Path:
    """The directory `make(directory)` fills, made by the first process to ask, shared."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"{name}-{key}"
    with FileLock(str(root / f"{name}-{key}.lock")):
        if not (target / MARKER).exists():
            shutil.rmtree(target, ignore_errors=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
            make(staging)
            (staging / MARKER).touch()
            staging.rename(target)
    return target
