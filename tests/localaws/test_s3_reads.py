"""Ranged GETs on the local account read their range, and answer what moto answered before."""

from __future__ import annotations

import sys

import boto3
import pytest
from botocore.exceptions import ClientError

from localaws.runtime import ACCOUNT, LocalAWS

BUCKET = "ranged-bucket"
BODY = bytes((i * 7919) % 251 for i in range(300_000))


@pytest.fixture
def s3(tmp_path):
    with LocalAWS(work_dir=tmp_path / "local", cold_start_delay=0.0):
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key="object", Body=BODY)
        yield client


@pytest.mark.parametrize(("header", "first", "last"), [
    ("bytes=0-0", 0, 0), ("bytes=5-9", 5, 9), ("bytes=1000-", 1000, len(BODY) - 1),
    ("bytes=-10", len(BODY) - 10, len(BODY) - 1), ("bytes=250000-999999", 250_000, len(BODY) - 1),
    ("bytes=-999999", 0, len(BODY) - 1), ("bytes=299999-299999", 299_999, 299_999)])
def test_a_range_answers_its_bytes_and_reads_only_them(s3, header, first, last) -> None:
    from moto.s3.models import s3_backends

    buffer = s3_backends[ACCOUNT]["aws"].buckets[BUCKET].keys["object"]._value_buffer
    sizes: list[int] = []
    read = buffer.read
    buffer.read = lambda size=-1: sizes.append(size) or read(size)
    answer = s3.get_object(Bucket=BUCKET, Key="object", Range=header)
    assert answer["Body"].read() == BODY[first:last + 1]
    assert answer["ContentRange"] == f"bytes {first}-{last}/{len(BODY)}"
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert sizes == [last + 1 - first]  # not the whole object, read and then sliced


def test_what_does_not_slice_gets_the_whole_object_or_the_error_as_before(s3) -> None:
    whole = s3.get_object(Bucket=BUCKET, Key="object", Range="bytes=0-9,20-29")
    assert whole["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert whole["Body"].read() == BODY
    assert s3.get_object(Bucket=BUCKET, Key="object")["Body"].read() == BODY
    assert s3.get_object(Bucket=BUCKET, Key="object", PartNumber=1)["Body"].read() == BODY
    with pytest.raises(ClientError) as beyond:
        s3.get_object(Bucket=BUCKET, Key="object", Range=f"bytes={len(BODY)}-")
    assert beyond.value.response["Error"]["Code"] == "InvalidRange"
    s3.put_object(Bucket=BUCKET, Key="empty", Body=b"")
    assert s3.get_object(Bucket=BUCKET, Key="empty")["Body"].read() == b""


@pytest.mark.parametrize("replace", ["put", "delete"])
def test_a_key_replaced_as_a_range_is_answered_answers_the_object_it_found(
        s3, monkeypatch, replace) -> None:
    """Another request replaces or deletes the key just after get_object found it (moto closes
    the old object's buffer then): the range still comes from the object found, as when moto
    copied it there, not a closed-file error."""
    from moto.s3.models import s3_backends
    from moto.s3.responses import S3Response

    backend = s3_backends[ACCOUNT]["aws"]
    send = S3Response.__dict__["_send_response"].__func__
    fired: list[bool] = []

    def replaced_meanwhile(cls, response):
        if not fired:
            fired.append(True)
            if replace == "put":
                backend.put_object(BUCKET, "object", b"new bytes " * 10)
            else:
                backend.delete_object(BUCKET, "object")
        return send(cls, response)

    monkeypatch.setattr(S3Response, "_send_response", classmethod(replaced_meanwhile))
    answer = s3.get_object(Bucket=BUCKET, Key="object", Range="bytes=10-19")
    assert fired and answer["Body"].read() == BODY[10:20]


@pytest.mark.parametrize("replace", ["put", "delete"])
@pytest.mark.parametrize("ranged", [False, True])
def test_a_key_replaced_between_lookup_and_read_answers_what_it_holds_now(
        s3, monkeypatch, replace, ranged) -> None:
    """moto finds the key, then another request replaces or deletes it (closing the old
    object's buffer) before the GET reads it: S3 answers the old or the new object, never an
    error, so the GET answers what the key holds now (seen in CI: eight runs contending for
    the run lock, "I/O operation on closed file")."""
    from moto.s3.models import s3_backends

    backend = s3_backends[ACCOUNT]["aws"]
    lookup = backend.get_object
    fired: list[bool] = []

    def replaced_after_lookup(*args, **kwargs):
        found = lookup(*args, **kwargs)
        # the lookup whose key the GET then reads (moto looks the key up before, too)
        if not fired and sys._getframe(1).f_code.co_name == "_get_key":
            fired.append(True)
            if replace == "put":
                backend.put_object(BUCKET, "object", b"new bytes " * 10)
            else:
                backend.delete_object(BUCKET, "object")
        return found

    monkeypatch.setattr(backend, "get_object", replaced_after_lookup)
    extra = {"Range": "bytes=10-19"} if ranged else {}
    if replace == "delete":
        with pytest.raises(ClientError) as gone:
            s3.get_object(Bucket=BUCKET, Key="object", **extra)
        assert fired and gone.value.response["Error"]["Code"] == "NoSuchKey"
        return
    now = b"new bytes " * 10
    answer = s3.get_object(Bucket=BUCKET, Key="object", **extra)
    assert fired and answer["Body"].read() == (now[10:20] if ranged else now)
