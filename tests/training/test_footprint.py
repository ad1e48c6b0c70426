"""The memory model that decides, before training, whether a log fits the function."""

from __future__ import annotations

import io

import pandas as pd

from training import footprint


def test_rows_are_counted_without_parsing_csv_or_parquet() -> None:
    csv = b"contact_id,called_at\nc1,2026-01-01T00:00:00Z\nc2,2026-01-02T00:00:00Z\n"
    assert footprint.count_rows("calls.csv", csv) == 2
    assert footprint.count_rows("calls.csv", csv.rstrip(b"\n")) == 2
    assert footprint.count_rows("calls.csv", b"contact_id\n") == 0
    buffer = io.BytesIO()
    pd.DataFrame({"contact_id": ["a", "b", "c"]}).to_parquet(buffer)
    assert footprint.count_rows("part-0.PARQUET", buffer.getvalue()) == 3


def test_more_memory_fits_more_rows_and_the_demo_needs_more_than_512_mb() -> None:
    assert footprint.rows_that_fit(512) < 200_000 < footprint.rows_that_fit(4096)
    assert footprint.rows_that_fit(256) == 0
    fits = footprint.rows_that_fit(4096)
    assert footprint.peak_mb(fits) <= 4096 * footprint.HEADROOM < footprint.peak_mb(fits + 10)


def test_the_estimate_refuses_what_was_measured_not_to_fit_and_grows_with_the_log() -> None:
    """The 800k-row log peaked at 1,830 MB and the 200k-row one at 1,044 MB
    (training/footprint.py): a 2048 MB function (1,741 MB with headroom) must refuse the first
    and hold the second; 4096 MB holds the 1.6M-row log (2,770 MB); more rows never need less
    memory."""
    assert 203_829 < footprint.rows_that_fit(2048) < 795_016
    assert footprint.rows_that_fit(4096) > 1_604_994
    assert footprint.rows_that_fit(3072) < 1_604_994
    sizes = [10_000 * k for k in range(1, 500)]
    peaks = [footprint.peak_mb(n) for n in sizes]
    assert peaks == sorted(peaks)


def test_a_partition_worker_validates_what_its_memory_holds_beside_its_part() -> None:
    """Slices shrink with less memory and with a larger part; a part the worker cannot hold at
    all is 0 (PlanTraining refuses it first, naming the largest it would take)."""
    assert footprint.slice_rows(4096, "p.parquet", 25 * 2**20) == footprint.MAX_SLICE_ROWS
    small = footprint.slice_rows(1024, "p.parquet", 60 * 2**20)
    assert footprint.MIN_SLICE_ROWS <= small < footprint.slice_rows(1024, "p.parquet", 10 * 2**20)
    largest = footprint.largest_part_mb(1024, "p.parquet")
    assert footprint.slice_rows(1024, "p.parquet", largest * 2**20) >= footprint.MIN_SLICE_ROWS
    assert footprint.slice_rows(1024, "p.parquet", (largest + 5) * 2**20) == 0
    assert footprint.largest_part_mb(1024, "p.csv") > largest  # CSV is held at fewer x its size
    for memory in (1024, 2048, 10240):
        for mb in (1, largest):
            rows = footprint.slice_rows(memory, "p.parquet", mb * 2**20)
            peak = footprint.WORKER_BASE_MB + footprint.PART_BYTES_FACTOR["parquet"] * mb + \
                rows * footprint.PARTITION_ROW_KB / 1024
            assert peak <= memory * footprint.HEADROOM


def test_a_bucket_holds_what_its_workers_memory_holds_and_never_a_million_more() -> None:
    assert footprint.bucket_rows(1024) < footprint.bucket_rows(2048) == footprint.MAX_BUCKET_ROWS
    rows = footprint.bucket_rows(1024)
    for per_row, fixed in ((footprint.COUNT_BUCKET_ROW_KB, footprint.COUNT_BUCKET_FIXED_MB),
                           (footprint.MERGE_BUCKET_ROW_KB, footprint.MERGE_BUCKET_FIXED_MB)):
        assert footprint.WORKER_BASE_MB + fixed + rows * per_row / 1024 <= 1024 * \
            footprint.HEADROOM


def test_the_least_training_memory_holds_a_meaningful_sample_and_less_would_not() -> None:
    """Below the floor TrainOnSample cannot hold MIN_SAMPLE_ROWS beside the archetype counts:
    a scale-out run would train on a handful of rows (at 512 MB: none)."""
    floor = footprint.minimum_memory_mb()
    assert floor == 1024
    assert footprint.rows_that_fit(footprint.sample_memory_mb(floor)) >= \
        footprint.MIN_SAMPLE_ROWS > footprint.rows_that_fit(footprint.sample_memory_mb(floor - 64))
    assert footprint.rows_that_fit(footprint.sample_memory_mb(512)) == 0
