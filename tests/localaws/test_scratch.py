"""A scratch directory is never seen under its name without its owner file; stale ones, staging
ones included, are swept."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from localaws import scratch

PREFIX = "calltime-scratch-test-"


@pytest.fixture
def tmp(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _ownerless(tmp: Path) -> list[str]:
    return [d.name for d in tmp.glob(f"{PREFIX}*") if not (d / scratch.OWNER_FILE).is_file()]


def test_no_one_sees_the_directory_before_its_owner_file(tmp, monkeypatch) -> None:
    """What another process's sweep or the fault matrix sees at any moment of make(): a
    directory under the prefix always names its owner (it once appeared a moment before)."""
    seen: list[list[str]] = []
    write_text = Path.write_text

    def watched(self: Path, *args, **kwargs):
        seen.append(_ownerless(tmp))
        done = write_text(self, *args, **kwargs)
        seen.append(_ownerless(tmp))
        return done

    monkeypatch.setattr(Path, "write_text", watched)
    made = scratch.make(PREFIX)
    assert seen == [[], []]
    assert made.parent == tmp and made.name.startswith(PREFIX) and made.is_dir()
    assert (made / scratch.OWNER_FILE).read_text() == f"{os.getpid()}\n"
    assert sorted(p.name for p in tmp.iterdir()) == [made.name]  # no staging left behind


def test_stale_directories_and_staging_ones_are_swept_live_ones_kept(tmp) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    for name, owner in [(f"{PREFIX}dead", dead), (f".{PREFIX}staging-dead", dead),
                        (f"{PREFIX}live", str(os.getpid())),
                        (f".{PREFIX}staging-live", str(os.getpid()))]:
        (tmp / name).mkdir()
        (tmp / name / scratch.OWNER_FILE).write_text(f"{owner}\n")
    (tmp / f"{PREFIX}being-made").mkdir()  # no owner file yet: not touched
    made = scratch.make(PREFIX)
    assert sorted(p.name for p in tmp.iterdir()) == sorted([
        f"{PREFIX}live", f".{PREFIX}staging-live", f"{PREFIX}being-made", made.name])
