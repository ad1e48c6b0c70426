"""A process running the local runtime that is killed leaves nothing behind: its model servers
stop on their own, and its work directory goes (at once on SIGTERM; on SIGKILL, swept by the
next runtime)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localaws import scratch
from localaws.runtime import SCRATCH_PREFIX

ROOT = Path(__file__).parents[2]
HOLDER = """
import json, sys, time
from pathlib import Path
import boto3
from calltime.cli import unwind_on_sigterm
from localaws.runtime import LocalAWS
from tests.support.local_account import create_config, put_artifacts

unwind_on_sigterm()
# Ctrl-C as a terminal delivers it (a background job may have inherited SIGINT ignored).
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)
with LocalAWS(ping_timeout=30, cold_start_delay=0.0) as aws:
    put_artifacts({"good": Path(sys.argv[1]).read_bytes()})
    create_config("c1", "good")
    sm = boto3.client("sagemaker")
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c1")
    while sm.describe_endpoint(EndpointName="e")["EndpointStatus"] == "Creating":
        time.sleep(0.1)
    boto3.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="e", Body=b'{"features": [[1, 10, 0.5]]}', ContentType="application/json")
    print(json.dumps({"servers": aws.sagemaker.server_pids(), "work": str(aws.work_dir)}),
          flush=True)
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    return scratch.running(pid)


def _gone(pids: list[int], within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while any(_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_killed_runtime_leaves_no_server_and_no_work_directory(artifacts, tmp_path,
                                                                 how) -> None:
    model = tmp_path / "model.tar.gz"
    model.write_bytes(artifacts["good"])
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(model)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        state = json.loads(holder.stdout.readline())
        servers, work = state["servers"], Path(state["work"])
        assert servers and all(_alive(p) for p in servers) and work.is_dir()
        os.kill(holder.pid, how)
        holder.wait(timeout=30)
        assert _gone(servers), "a model server outlived the process that started it"
        if how != signal.SIGKILL:  # unwound (Ctrl-C too): the runtime cleaned up after itself
            assert not work.exists()
        else:  # nothing of it ran: the next runtime's directory sweeps it
            assert work.exists()
            made = scratch.make(SCRATCH_PREFIX)
            shutil.rmtree(made)  # made only to sweep: it must not outlive the test
            assert not work.exists()
    finally:
        holder.kill()
