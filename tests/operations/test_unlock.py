"""`calltime unlock` on a local account: a dead run's lock is freed, the account saved."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from localaws.runtime import LocalAWS
from pipeline_lambdas.contract import LOCK_KEY

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_unlock_frees_a_lock_whose_run_died_with_its_process(tmp_path) -> None:
    state = tmp_path / "local-aws"
    with LocalAWS(region="us-east-1") as aws:
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="models")
        s3.put_object(Bucket="models", Key=LOCK_KEY, Body=json.dumps({
            "owner": "killed-run", "acquired_at": "2026-11-26T07:00:00+00:00",
            "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:m:killed-run",
        }).encode())
        aws.save_state(state)
    command = [sys.executable, "-m", "calltime", "unlock", "--local-state", str(state)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "released the lock held by killed-run (not running)" in done.stdout
    with LocalAWS(region="us-east-1") as aws:
        aws.load_state(state)  # what unlock saved
        lock = json.loads(boto3.client("s3").get_object(Bucket="models", Key=LOCK_KEY)[
            "Body"].read())
    assert lock["owner"] is None and lock["was_held_by"] == "killed-run"
    again = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert again.returncode == 0 and "the lock is free" in again.stdout
