"""A partition slice's pieces: one object, each bucket's rows one byte range of it (so a run's
S3 requests grow with parts x slices, not parts x slices x buckets)."""

from __future__ import annotations

import boto3
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pipeline_lambdas import work_area as w
from tests.support.local_account import BUCKET
from training import call_validation

KEY = "work/run-1/pieces/part=00000-0000.arrows"


def _rows(n: int, first: int = 0) -> pd.DataFrame:
    return pd.DataFrame({
        "contact_id": [f"c-{first + i}" for i in range(n)],
        "called_at": pd.date_range("2026-05-01", periods=n, freq="h", tz="UTC"),
        "answered": np.arange(n) % 2 == 0,
        "duration_seconds": np.where(np.arange(n) % 3 == 0, np.nan, 12.5),
        "campaign_id": ["spring"] * n,
        "timezone": ["Asia/Jerusalem"] * n,
        "source_row": np.arange(2, n + 2),
        "source_file": ["s3://b/part-0.parquet"] * n})


def test_each_bucket_reads_back_exactly_its_rows_and_types(aws) -> None:
    s3 = boto3.client("s3")
    frames = {0: _rows(5), 3: _rows(2, first=100)}
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=w.encode_pieces(frames, buckets=4))
    for number, rows in frames.items():
        piece = w.get_piece(s3, BUCKET, KEY, number)
        # the few-value columns come back as dictionaries, for the merge to write on as they are
        assert [f.name for f in piece.schema if pa.types.is_dictionary(f.type)] == [
            "campaign_id", "timezone", "source_file"]
        pd.testing.assert_frame_equal(call_validation.decoded(piece).to_pandas(), rows)
    assert w.get_piece(s3, BUCKET, KEY, 1) is None
    assert w.get_piece(s3, BUCKET, KEY, 2) is None


def test_the_object_is_the_same_bytes_when_written_again() -> None:
    """A retried partition item rewrites its slice: the same object, not a second copy."""
    frames = {1: _rows(50), 2: _rows(7, first=60)}
    assert w.encode_pieces(frames, 3) == w.encode_pieces(dict(frames), 3)


def test_a_bucket_outside_the_run_is_refused_by_number() -> None:
    with pytest.raises(ValueError, match=r"bucket numbers must be in \[0, 4\): got \[1, 4\]"):
        w.encode_pieces({1: _rows(1), 4: _rows(1)}, 4)


@pytest.mark.parametrize("damage", ["truncated", "offsets only", "garbage"])
def test_a_damaged_object_is_named_and_the_way_out_said(aws, damage: str) -> None:
    """A work-area object cut short or overwritten fails its reader by name (the run's error
    then names it), not with Arrow's or S3's message about bytes."""
    from pipeline_lambdas.errors import DamagedWorkArea

    s3 = boto3.client("s3")
    whole = w.encode_pieces({0: _rows(5), 2: _rows(300, first=10)}, buckets=3)
    body = {"truncated": whole[:-200], "offsets only": whole[:20],
            "garbage": b"\x00" * 32 + b"not arrow" * 50}[damage]
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)
    with pytest.raises(DamagedWorkArea, match=rf"s3://{BUCKET}/{KEY} cannot be read .*start "
                                              "the run again"):
        w.get_piece(s3, BUCKET, KEY, 2)
    bucket_key = "work/run-1/buckets/00002.arrows"
    s3.put_object(Bucket=BUCKET, Key=bucket_key, Body=b"garbage")
    with pytest.raises(DamagedWorkArea, match=r"buckets/00002\.arrows cannot be read"):
        w.get_table(s3, BUCKET, bucket_key)
