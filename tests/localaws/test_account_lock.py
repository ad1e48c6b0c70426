"""One process at a time on a local account; a dead holder never leaves it locked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localaws.account_lock import HOLDER_FILE, AccountInUse, exclusive

HOLD = ("import sys, time; from pathlib import Path; from localaws.account_lock import exclusive\n"
        "with exclusive(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)\n")


def _holder(state: Path) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(state)], stdout=subprocess.PIPE,
                              text=True, cwd=Path(__file__).parents[2])
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_process_is_told_who_holds_the_account_until_the_holder_dies(tmp_path) -> None:
    state = tmp_path / "local-aws"
    holder = _holder(state)
    try:
        with pytest.raises(AccountInUse, match=f"in use by process {holder.pid}"), \
                exclusive(state):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)  # no cleanup runs: the kernel drops the lock
        holder.wait()
    with exclusive(state):
        assert (state / HOLDER_FILE).read_text().strip() == str(os.getpid())


def test_make_pipeline_on_an_account_in_use_stops_at_once_and_says_so(tmp_path) -> None:
    holder = _holder(tmp_path / "local-aws")
    try:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "calltime", "local", "pipeline", "--out",
                               str(tmp_path)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and f"in use by process {holder.pid}" in done.stderr
        assert "synthesizing" not in done.stdout  # nothing was done on it
        assert time.monotonic() - started < 30
    finally:
        holder.kill()
        holder.wait()
