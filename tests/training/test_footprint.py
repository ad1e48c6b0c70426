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


def test_the_estimate_follows_the_measured_peaks_and_grows_with_the_log() -> None:
    """Measured with /usr/bin/time -v (training/footprint.py): the estimate is within 3 % of
    each, and more rows never need less memory."""
    for rows, measured_mb in ((50_366, 518), (200_399, 1_125), (801_005, 2_124)):
        assert abs(footprint.peak_mb(rows) - measured_mb) / measured_mb < 0.03, rows
    sizes = [10_000 * k for k in range(1, 500)]
    peaks = [footprint.peak_mb(n) for n in sizes]
    assert peaks == sorted(peaks)
    assert footprint.rows_that_fit(4096) > 801_005  # the measured 800k-row run fits
