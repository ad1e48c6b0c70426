"""A damaged local account is named before anything uses it: which file, what is wrong, what
to do; never a traceback, never found only when a run saves after training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from localaws.account_files import DamagedAccount, check

ROOT = Path(__file__).resolve().parents[2]
RUN = {"execution": {"executionArn": "arn:aws:states:us-east-1:1:execution:m:r", "name": "r",
                     "status": "SUCCEEDED", "startDate": "2026-12-06T00:00:00+00:00"},
       "definition": "{}", "history": []}
STATE = {"region": "us-east-1", "buckets": {"b": ["k"]}, "parameters": [],
         "sagemaker": {"models": [], "configs": [], "endpoints": []}}


def _account(path: Path, state=STATE, executions=(RUN,), running=None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, value in (("state.json", state), ("executions.json", executions)):
        if value is not None:
            (path / name).write_text(value if isinstance(value, str) else json.dumps(value))
    if running is not None:
        (path / "running").mkdir(exist_ok=True)
        (path / "running" / "r.json").write_text(running)
    return path


@pytest.mark.parametrize(("files", "file", "said"), [
    ({"executions": json.dumps([RUN])[:-20]}, "executions.json", "not JSON"),
    ({"executions": {"runs": []}}, "executions.json", "not a list of runs"),
    ({"executions": [{"execution": {"name": "r"}}]}, "executions.json",
     "no execution with an ARN, a name and a status"),
    ({"state": "[]"}, "state.json", "not a JSON object"),
    ({"state": {**STATE, "region": "mars-1"}}, "state.json", "region 'mars-1' is not"),
    ({"state": {**STATE, "buckets": ["b"]}}, "state.json", "buckets are not a map"),
    ({"state": {**STATE, "sagemaker": {}}}, "state.json", "SageMaker resources"),
    ({"running": "{not json"}, "running/r.json", "not JSON"),
    ({"running": json.dumps({"execution": {}})}, "running/r.json", "no execution"),
])
def test_each_damaged_file_is_named_with_what_to_do(tmp_path, files, file, said) -> None:
    account = _account(tmp_path / "local-aws", **files)
    with pytest.raises(DamagedAccount) as err:
        check(account)
    message = str(err.value)
    assert f"{account / file} is damaged" in message and said in message
    assert "move it aside" in message or "remove" in message


def test_a_sound_account_and_an_empty_one_pass(tmp_path) -> None:
    check(_account(tmp_path / "a", running=json.dumps(RUN)))
    check(tmp_path / "none")


def _calltime(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calltime", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"})


def test_make_pipeline_refuses_a_damaged_account_before_it_trains(tmp_path) -> None:
    _account(tmp_path / "local-aws", executions=json.dumps([RUN])[:-20])
    done = _calltime("local", "pipeline", "--out", str(tmp_path))
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "executions.json is damaged (not JSON" in done.stderr
    assert "synthesizing" not in done.stdout  # nothing was started


def test_the_operator_commands_name_a_damaged_account_and_watch_a_bad_poll(tmp_path) -> None:
    state = _account(tmp_path / "local-aws", state={**STATE, "region": 7})
    for command in (["runs", "list"], ["versions", "list"]):
        done = _calltime(*command, "--local-state", str(state))
        assert done.returncode == 2 and "state.json is damaged (region 7" in done.stderr, \
            done.stderr[-2000:]
        assert "Traceback" not in done.stderr
    done = _calltime("runs", "watch", "--local-state", str(state), "--poll", "-1")
    assert done.returncode == 2 and "'-1' must be a number greater than 0" in done.stderr
