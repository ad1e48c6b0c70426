"""Two runs cannot both hold the endpoint lock; releases are owner-checked; stale locks expire."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from pipeline_lambdas.errors import DeploymentInProgress
from pipeline_lambdas.run_lock import acquire, release, unlock
from tests.support.local_account import BUCKET

KEY = "locks/endpoint.lock"


def test_second_run_is_refused_until_the_first_releases(aws) -> None:
    s3 = boto3.client("s3")
    first = acquire(s3, BUCKET, KEY, "run-1")
    with pytest.raises(DeploymentInProgress, match="execution run-1 has been deploying"):
        acquire(s3, BUCKET, KEY, "run-2")
    assert acquire(s3, BUCKET, KEY, "run-1").owner == "run-1"  # our own retry is fine
    assert not release(s3, BUCKET, KEY, "run-2", "")  # never took it: nothing happens
    assert release(s3, BUCKET, KEY, "run-1", first.etag)
    assert not release(s3, BUCKET, KEY, "run-1", first.etag)  # repeating is harmless
    second = acquire(s3, BUCKET, KEY, "run-2")
    assert second.owner == "run-2"
    assert not release(s3, BUCKET, KEY, "run-1", first.etag)  # a late release frees nothing
    with pytest.raises(DeploymentInProgress, match="run-2"):
        acquire(s3, BUCKET, KEY, "run-3")


def test_the_lock_works_in_a_versioned_bucket_and_is_never_deleted(aws) -> None:
    """The models bucket is versioned: a deleted lock would leave a delete marker, whose
    treatment under If-None-Match would decide correctness. The lock is never deleted."""
    s3 = boto3.client("s3")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for owner in ("run-1", "run-2", "run-3"):
        lock = acquire(s3, BUCKET, KEY, owner)
        with pytest.raises(DeploymentInProgress):
            acquire(s3, BUCKET, KEY, "intruder")
        assert release(s3, BUCKET, KEY, owner, lock.etag)
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix=KEY)
    assert "DeleteMarkers" not in versions and len(versions["Versions"]) == 6


def test_release_reads_nothing_and_needs_only_put_object(aws) -> None:
    """Reading a missing key without s3:ListBucket is a 403 in AWS, not NoSuchKey: release
    must not read at all (the release role may only PutObject the lock)."""
    s3 = boto3.client("s3")
    lock = acquire(s3, BUCKET, KEY, "run-1")
    calls: list[str] = []
    s3.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    assert not release(s3, BUCKET, KEY, "run-0", "")
    assert calls == []
    assert release(s3, BUCKET, KEY, "run-1", lock.etag)
    assert calls == ["PutObject"]


@pytest.mark.parametrize("lock", ["missing", "released"])
def test_concurrent_acquires_have_exactly_one_winner(aws, lock: str) -> None:
    s3 = boto3.client("s3")
    if lock == "released":
        first = acquire(s3, BUCKET, KEY, "run-0")
        assert release(s3, BUCKET, KEY, "run-0", first.etag)
    barrier = threading.Barrier(8)
    winners, losers = [], []

    def contend(owner: str) -> None:
        client = boto3.client("s3")
        barrier.wait()
        try:
            acquire(client, BUCKET, KEY, owner)
            winners.append(owner)
        except DeploymentInProgress:
            losers.append(owner)

    threads = [threading.Thread(target=contend, args=(f"run-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(losers) == 7
    holder = json.loads(s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read())["owner"]
    assert holder == winners[0]


def test_a_stale_lock_is_taken_over(aws) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=json.dumps(
        {"owner": "dead-run", "acquired_at": "2026-01-01T00:00:00+00:00"}).encode())
    lock = acquire(s3, BUCKET, KEY, "run-3", ttl_seconds=3600)
    assert (lock.owner, lock.took_over) == ("run-3", "dead-run")


class _Conflicting:
    """S3 answering 409 ConditionalRequestConflict a few times, as it does while another
    conditional write to the key is in flight, then applying the write."""

    def __init__(self, s3, conflicts: int) -> None:
        self.s3, self.conflicts = s3, conflicts

    def put_object(self, **kwargs):
        if self.conflicts:
            self.conflicts -= 1
            raise ClientError({"Error": {"Code": "ConditionalRequestConflict", "Message": "m"},
                               "ResponseMetadata": {"HTTPStatusCode": 409}}, "PutObject")
        return self.s3.put_object(**kwargs)


def test_a_release_that_meets_a_conflicting_write_retries_instead_of_leaking(aws) -> None:
    s3 = boto3.client("s3")
    lock = acquire(s3, BUCKET, KEY, "run-1")
    assert release(_Conflicting(s3, 2), BUCKET, KEY, "run-1", lock.etag)
    assert acquire(s3, BUCKET, KEY, "run-2").owner == "run-2"


def test_by_default_a_lock_older_than_the_longest_run_is_taken_over(aws) -> None:
    """No execution outlives the state machine's timeout (2 h): an older lock's owner is dead."""
    s3 = boto3.client("s3")
    now = dt.datetime.now(dt.UTC)
    for age, taken in ((dt.timedelta(hours=1, minutes=59), False),
                       (dt.timedelta(hours=2, seconds=30), True)):
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=json.dumps(
            {"owner": "old-run", "acquired_at": (now - age).isoformat()}).encode())
        if taken:
            assert acquire(s3, BUCKET, KEY, "new-run").took_over == "old-run"
        else:
            with pytest.raises(DeploymentInProgress):
                acquire(s3, BUCKET, KEY, "new-run")


@pytest.fixture
def executions(aws):
    """Real executions of a state machine on the local Step Functions (moto's interpreter): a
    long Wait, so one is RUNNING until it is stopped."""
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="lock-owners", roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "Hold", "States": {
            "Hold": {"Type": "Wait", "Seconds": 20, "End": True}}}))["stateMachineArn"]

    def start(name: str) -> str:
        return sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]

    yield sfn, start, machine
    for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
        if execution["status"] == "RUNNING":
            sfn.stop_execution(executionArn=execution["executionArn"])


def _stop(sfn, arn: str) -> None:
    """StopExecution, then wait until Step Functions reports it (the interpreter stops the
    execution's thread asynchronously, as the service settles an execution)."""
    sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped by hand")
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not stop"
        time.sleep(0.05)


def test_a_lock_whose_owner_stopped_is_free_at_once_not_after_hours(aws, executions) -> None:
    sfn, start, machine = executions
    s3 = boto3.client("s3")
    first = start("run-1")
    acquire(s3, BUCKET, KEY, "run-1", execution_arn=first, sfn=sfn)
    with pytest.raises(DeploymentInProgress, match="run-1"):  # its owner runs
        acquire(s3, BUCKET, KEY, "run-2", execution_arn=start("run-2"), sfn=sfn)
    _stop(sfn, first)
    assert sfn.describe_execution(executionArn=first)["status"] == "ABORTED"
    lock = acquire(s3, BUCKET, KEY, "run-3", execution_arn=start("run-3"), sfn=sfn)
    assert (lock.owner, lock.took_over) == ("run-3", "run-1")  # minutes old, owner stopped
    # An owner Step Functions never heard of (another account's local state, history gone)
    # does not run either.
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=json.dumps(
        {"owner": "ghost", "acquired_at": dt.datetime.now(dt.UTC).isoformat(),
         "execution_arn": f"{machine.replace(':stateMachine:', ':execution:')}:ghost"}).encode())
    assert acquire(s3, BUCKET, KEY, "run-4", sfn=sfn).took_over == "ghost"


def test_unlock_refuses_while_the_owner_runs_and_frees_a_dead_owners_lock(aws,
                                                                          executions) -> None:
    sfn, start, _ = executions
    s3 = boto3.client("s3")
    assert "nothing to release" in unlock(s3, sfn, BUCKET, KEY, "operator")
    owner = start("run-1")
    acquire(s3, BUCKET, KEY, "run-1", execution_arn=owner, sfn=sfn)
    with pytest.raises(DeploymentInProgress, match="still running"):
        unlock(s3, sfn, BUCKET, KEY, "operator")
    _stop(sfn, owner)
    assert "released the lock held by run-1 (not running)" in unlock(s3, sfn, BUCKET, KEY,
                                                                     "operator")
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read())["owner"] is None
    assert "the lock is free" in unlock(s3, sfn, BUCKET, KEY, "operator")
    # A lock that names no execution (written before locks did): only with --force.
    acquire(s3, BUCKET, KEY, "legacy")
    with pytest.raises(DeploymentInProgress, match="cannot be told"):
        unlock(s3, sfn, BUCKET, KEY, "operator")
    assert "released" in unlock(s3, sfn, BUCKET, KEY, "operator", force=True)


@pytest.fixture
def bare_s3():
    """S3 alone (no model servers): the lock's own object."""
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.mark.parametrize("content", [b"not json", b"[1, 2]", b'{"owner": 7}',
                                     b'{"owner": "run-0", "acquired_at": "yesterday"}',
                                     b'{"owner": "run-0"}', b"\xff\xfe"])
def test_a_lock_that_cannot_be_read_is_named_and_unlock_force_always_clears_it(
        bare_s3, content) -> None:
    """A damaged lock object is no dead end: a run refuses by name and says what to do, a plain
    unlock says the same, and `unlock --force` replaces it with a free lock."""
    from pipeline_lambdas.errors import LockUnreadable

    bare_s3.put_object(Bucket=BUCKET, Key=KEY, Body=content)
    with pytest.raises(LockUnreadable) as refused:
        acquire(bare_s3, BUCKET, KEY, "run-1")
    message = str(refused.value)
    assert f"s3://{BUCKET}/{KEY}" in message and "calltime unlock --force" in message
    with pytest.raises(LockUnreadable, match="unlock --force"):
        unlock(bare_s3, None, BUCKET, KEY, "operator")
    said = unlock(bare_s3, None, BUCKET, KEY, "operator", force=True)
    assert said.startswith("replaced the unreadable lock")
    lock = acquire(bare_s3, BUCKET, KEY, "run-1")  # the next run takes it
    assert lock.owner == "run-1" and lock.took_over is None
