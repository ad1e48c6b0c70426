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
