"""`calltime status`'s judgments that the end-to-end runs do not reach (tests/e2e/test_pipeline.py
shows it on a local account never deployed, healthy, after a rollback, with the lock held and
with the endpoint RollingBack): subscriptions waiting for confirmation, the region, a lock no
run can take, an account that does not exist."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import boto3
from moto import mock_aws

from operations.account import SavedRuns
from operations.status import ATTENTION, NOTE, OK, lock_line, region_line, subscriptions_line


def test_an_unconfirmed_subscription_needs_a_person() -> None:
    # ListSubscriptionsByTopic's shape: an e-mail not yet confirmed is "PendingConfirmation".
    pending = subscriptions_line([
        {"SubscriptionArn": "PendingConfirmation", "Protocol": "email",
         "Endpoint": "ops@example.com"},
        {"SubscriptionArn": "arn:aws:sns:il-central-1:1:t:abc", "Protocol": "email",
         "Endpoint": "lead@example.com"}])
    assert pending.mark == ATTENTION and "ops@example.com" in pending.text
    assert "lead@example.com" not in pending.text
    assert subscriptions_line([]).mark == NOTE  # no one told: worth knowing, a chosen setting
    confirmed = subscriptions_line([{"SubscriptionArn": "arn:aws:sns:il-central-1:1:t:abc",
                                     "Protocol": "email", "Endpoint": "lead@example.com"}])
    assert confirmed.mark == OK


def test_a_region_outside_the_serverless_list_needs_a_person_until_an_endpoint_serves() -> None:
    assert region_line("us-east-1", False).mark == OK
    assert region_line("il-central-1", False).mark == ATTENTION
    assert "Regional Services List" in region_line("il-central-1", False).text
    assert region_line("il-central-1", True).mark == OK  # it serves there: it is offered


def test_a_lock_no_run_can_take_needs_a_person(tmp_path) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="models")
        # A local account with no run (none under way to hold the lock).
        account = SimpleNamespace(s3=s3, bucket="models", sfn=None, runs=SavedRuns(tmp_path))
        assert lock_line(account).text.startswith("free")  # never taken
        s3.put_object(Bucket="models", Key="locks/endpoint.lock", Body=b"held by bob")
        unreadable = lock_line(account)
        assert unreadable.mark == ATTENTION and "calltime unlock --force" in unreadable.text


def test_a_local_account_that_does_not_exist_is_named(tmp_path) -> None:
    done = subprocess.run([sys.executable, "-m", "calltime", "status", "--local-state",
                           str(tmp_path / "nothing")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert f"no local account in {tmp_path / 'nothing'}" in done.stderr
    assert "Traceback" not in done.stderr


class _Runs:
    """Executions as DescribeExecution and GetExecutionHistory give them (operations.account
    .Runs), newest first."""

    def __init__(self, *executions: dict, histories: dict | None = None) -> None:
        self.executions, self.histories = list(executions), histories or {}

    def newest(self, limit: int) -> list[dict]:
        return self.executions[:limit]

    def describe(self, arn: str) -> dict:
        return next(e for e in self.executions if e["executionArn"] == arn)

    def history(self, arn: str):
        return self.describe(arn), "{}", self.histories.get(arn, [])


def _run(name: str, status: str, error: str | None = None, outcome: str | None = None) -> dict:
    return {"name": name, "executionArn": f"arn:aws:states:us-east-1:1:execution:m:{name}",
            "status": status, "startDate": "2026-12-06T03:00:00+00:00",
            "stopDate": "2026-12-06T03:05:00+00:00", "input": "{}",
            "output": json.dumps({"outcome": outcome}) if outcome else None,
            **({"error": error} if error else {})}


def test_a_last_run_that_failed_for_any_reason_needs_a_person_but_a_refused_one_does_not(
        ) -> None:
    from operations.status import run_lines

    # An error of no outcome of its own (a terminal Step Functions error): still a person's.
    lines, running = run_lines(SimpleNamespace(runs=_Runs(
        _run("r3", "FAILED", "States.DataLimitExceeded"),
        _run("r2", "FAILED", "RolledBack"), _run("r1", "SUCCEEDED", outcome="deployed"))))
    assert not running
    assert (lines[0].topic, lines[0].mark) == ("last run", ATTENTION)
    assert "States.DataLimitExceeded" in lines[0].text and "runbook" in lines[0].text
    assert lines[1].mark == NOTE  # an older failure: history, not today's state
    assert lines[2].mark == OK
    refused, _ = run_lines(SimpleNamespace(runs=_Runs(
        _run("r4", "FAILED", "RunRefused"), _run("r1", "SUCCEEDED", outcome="deployed"))))
    assert [line.mark for line in refused] == [OK, OK]


def _exited(name: str, output: dict) -> dict:
    return {"type": "TaskStateExited",
            "stateExitedEventDetails": {"name": name, "output": json.dumps(output)}}


def test_on_a_local_account_the_lock_is_held_by_the_run_that_took_it_not_one_refused() -> None:
    from operations.status import lock_line

    took = {"lock": {"etag": '"e1"', "owner": "r1"}, "error": {"Error": "", "Cause": ""}}
    refused = {"lock": {}, "error": {"Error": "DeploymentInProgress", "Cause": "held by r1"}}
    runs = _Runs(_run("r2", "RUNNING"), _run("r1", "RUNNING"), histories={
        _run("r2", "RUNNING")["executionArn"]: [_exited("AcquireLock", refused)],
        _run("r1", "RUNNING")["executionArn"]: [_exited("AcquireLock", took)]})
    line = lock_line(SimpleNamespace(runs=runs, sfn=None))
    assert line.text.startswith("held by run r1 ")
