"""Two runs cannot both hold the endpoint lock; releases are owner-checked; stale locks expire."""

from __future__ import annotations

import json
import threading

import boto3
import pytest

from pipeline_lambdas.errors import DeploymentInProgress
from pipeline_lambdas.run_lock import acquire, release
from tests.support.local_account import BUCKET

KEY = "locks/endpoint.lock"


def test_second_run_is_refused_until_the_first_releases(aws) -> None:
    s3 = boto3.client("s3")
    acquire(s3, BUCKET, KEY, "run-1")
    with pytest.raises(DeploymentInProgress, match="execution run-1 has been deploying"):
        acquire(s3, BUCKET, KEY, "run-2")
    assert acquire(s3, BUCKET, KEY, "run-1").owner == "run-1"  # our own retry is fine
    assert not release(s3, BUCKET, KEY, "run-2")  # not the holder: nothing happens
    assert release(s3, BUCKET, KEY, "run-1")
    assert not release(s3, BUCKET, KEY, "run-1")  # repeating is harmless
    assert acquire(s3, BUCKET, KEY, "run-2").owner == "run-2"


def test_concurrent_acquires_have_exactly_one_winner(aws) -> None:
    s3 = boto3.client("s3")
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
