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
    """The 1.6M-row log peaked at 4,537 MB (training/footprint.py): 4096 MB must refuse it and
    hold the 800k-row one (2,124 MB); more rows never need less memory."""
    assert 801_005 < footprint.rows_that_fit(4096) < 1_599_449
    assert footprint.rows_that_fit(10240) > 1_599_449
    sizes = [10_000 * k for k in range(1, 500)]
    peaks = [footprint.peak_mb(n) for n in sizes]
    assert peaks == sorted(peaks)
