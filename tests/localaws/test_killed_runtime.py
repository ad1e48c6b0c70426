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
import tempfile
import time
from collections.abc import Iterator
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


@pytest.fixture
def own_tmp(monkeypatch) -> Iterator[Path]:
    """A temporary directory of the test's own, for the runtime it kills and for the sweep it
    runs after: any runtime another test starts meanwhile (on pytest-xdist's other worker)
    sweeps the killed one's work directory from the shared /tmp before the test could see it
    left there. Short, as the runtime's forkserver puts its socket in it."""
    directory = Path(tempfile.mkdtemp(prefix="ckr-"))
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_killed_runtime_leaves_no_server_and_no_work_directory(artifacts, tmp_path, own_tmp,
                                                                 how) -> None:
    model = tmp_path / "model.tar.gz"
    model.write_bytes(artifacts["good"])
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(model)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "TMPDIR": str(own_tmp)})
    try:
        state = json.loads(holder.stdout.readline())
        servers, work = state["servers"], Path(state["work"])
        assert servers and all(_alive(p) for p in servers) and work.is_dir()
        assert work.parent == own_tmp.resolve()
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


WORKER_HOLDER = """
import sys, threading, time
from localaws.runtime import LocalAWS
from localaws.lambdas import FunctionConfig
import boto3, json

with LocalAWS() as aws:
    aws.register_lambda("busy", "tests.support.faults:hang_and_tell",
                        FunctionConfig(memory_mb=1024, timeout_seconds=600))
    threading.Thread(target=lambda: boto3.client("lambda").invoke(
        FunctionName="busy", Payload=json.dumps({"tell": sys.argv[1]}).encode()),
        daemon=True).start()
    time.sleep(600)
"""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_lambda_worker_dies_with_its_runtime_however_the_runtime_dies(tmp_path, how) -> None:
    """`kill -9` of `make pipeline` mid-training must not leave the training worker running
    with nothing enforcing its memory or timeout, nor the forkserver that made it."""
    tell = tmp_path / "worker.pid"
    holder = subprocess.Popen([sys.executable, "-c", WORKER_HOLDER, str(tell)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not (tell.exists() and tell.read_text().endswith("\n")):
            assert time.monotonic() < deadline and holder.poll() is None, "no worker started"
            time.sleep(0.05)
        worker, forkserver = (int(p) for p in tell.read_text().split())
        assert _alive(worker) and _alive(forkserver)
        os.kill(holder.pid, how)
        holder.wait(timeout=30)
        assert _gone([worker], within=10), "the worker outlived its runtime"
        assert _gone([forkserver], within=10), "the forkserver outlived its runtime"
    finally:
        holder.kill()
        for pid in (locals().get("worker"), locals().get("forkserver")):
            if pid and _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_synth_killed_outright_leaves_no_jsii_directory_behind(tmp_path) -> None:
    """jsii unpacks its Node runtime into a new temporary directory per process unless
    JSII_RUNTIME names one: the project names one in the virtual environment, so a `kill -9`
    mid-synth leaves nothing in /tmp."""
    scratch_tmp = tmp_path / "tmp"
    scratch_tmp.mkdir()
    script = ("import infra.app, aws_cdk, sys\n"  # the kernel runs once aws_cdk is imported
              "print('ready', flush=True)\nimport time\ntime.sleep(60)\n")
    env = {**os.environ, "TMPDIR": str(scratch_tmp)}
    env.pop("JSII_RUNTIME", None)
    holder = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        holder.kill()
        holder.wait(timeout=30)
    finally:
        holder.kill()
    assert not list(scratch_tmp.rglob("jsii-runtime.js"))
