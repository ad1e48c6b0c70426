"""A partition worker holds a slice of its part at a time; a part that turns out not to be a
call log part-way through is refused by name with nothing of it left for the merge."""

from __future__ import annotations

import boto3
import pandas as pd

from pipeline_lambdas import work_area as w
from pipeline_lambdas.partition_step import partition_part
from tests.support.local_account import BUCKET
from training import scale_out

WORK = "work/run-1/"


def _csv(rows: int) -> str:
    frame = pd.DataFrame({"contact_id": [f"c-{i % 37}" for i in range(rows)],
                          "called_at": [f"2026-05-{1 + i // 24 % 28:02d}T{i % 24:02d}:00:00Z"
                                        for i in range(rows)],
                          "answered": ["true", "false"] * (rows // 2)})
    return frame.to_csv(index=False)


def _put(key: str, text: str) -> str:
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=text.encode())
    return f"s3://{BUCKET}/{key}"


def test_a_part_is_written_a_slice_at_a_time_and_summarized_whole(aws, settings) -> None:
    s3 = boto3.client("s3")
    uri = _put("data/calls/part-0.csv", _csv(600) + "c-x,not a time,true\n")
    out = partition_part(s3, settings, uri, 0, WORK, buckets=3, slice_rows=250)
    assert out == {"index": 0, "rows_read": 601, "slices": 3}
    # One object per slice (not one per slice and bucket), each bucket's rows a range of it.
    pieces = w.keys(s3, BUCKET, f"{WORK}pieces/")
    assert pieces == [w.pieces_key(WORK, 0, n) for n in range(3)]
    read = {(k, b): w.get_piece(s3, BUCKET, k, b) for k in pieces for b in range(3)}
    assert sum(rows.num_rows for rows in read.values() if rows is not None) == 600
    for (_, number), rows in read.items():
        if rows is not None:
            ids = rows.column("contact_id").to_numpy(zero_copy_only=False)
            assert set(scale_out.bucket_of(ids, 3)) == {number}
    (rejects,) = w.keys(s3, BUCKET, f"{WORK}rejects/")
    assert w.get_frame(s3, BUCKET, rejects)["source_row"].tolist() == ["602"]  # header: 1
    summary = w.get_json(s3, BUCKET, w.part_summary_key(WORK, 0))
    assert summary["rows_read"] == 601
    assert summary["rejected_by_reason"] == {"unparseable_timestamp": 1}


def test_a_part_broken_after_its_first_slices_is_refused_and_leaves_nothing(aws,
                                                                            settings) -> None:
    s3 = boto3.client("s3")
    broken = _csv(600) + "c-x,2026-05-01T10:00:00Z,true,extra,fields,here\n" + _csv(10)
    uri = _put("data/calls/part-1.csv", broken)
    out = partition_part(s3, settings, uri, 1, WORK, buckets=3, slice_rows=250)
    assert "not a readable CSV" in out["refused"]
    assert w.keys(s3, BUCKET, WORK + "pieces/") == []  # the first slices' pieces are gone
    summary = w.get_json(s3, BUCKET, w.part_summary_key(WORK, 1))
    assert summary["refused"] == out["refused"] and summary["rows_read"] == 0


def test_the_workers_memory_sizes_its_slices_and_a_part_it_cannot_hold_is_named(
        aws, settings) -> None:
    """With little memory beside its part, a worker validates fewer rows at a time (here
    about 15,000 of 30,000); with none, it says how large a part it holds."""
    import pytest

    from pipeline_lambdas.errors import PartTooLarge
    from training import footprint

    s3 = boto3.client("s3")
    uri = _put("data/calls/part-2.csv", _csv(30_000))
    size = s3.head_object(Bucket=BUCKET, Key="data/calls/part-2.csv")["ContentLength"]
    tight = 260  # MB: the worker's base and the part leave room for about 15,000 rows
    rows = footprint.slice_rows(tight, uri, size)
    assert footprint.MIN_SLICE_ROWS <= rows < 30_000
    out = partition_part(s3, settings, uri, 2, WORK, buckets=3, memory_mb=tight)
    assert out["rows_read"] == 30_000 and out["slices"] == -(-30_000 // rows) > 1
    with pytest.raises(PartTooLarge, match=r"part-2\.csv is 1 MB: a partition worker of 220 "
                                           r"MB holds parts up to 0 MB"):
        partition_part(s3, settings, uri, 2, WORK, buckets=3, memory_mb=220)
