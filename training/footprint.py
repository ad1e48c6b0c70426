"""How much memory training a call log takes, so a log too large for the function's memory is
refused up front, by name, instead of the function being killed (`Runtime.OutOfMemory`, no
message a person can act on).

Peak resident memory of `calltime train` (Python 3.12, scikit-learn 1.9), measured with
`/usr/bin/time -v calltime train --calls ...` on generated logs: 518 MB at 50,366 rows,
1,125 MB at 200,399 rows, 2,124 MB at 801,005 rows. Two lines through them, the lower of which
holds: small logs grow by PEAK_KB_PER_ROW from PEAK_BASE_MB; from about 200,000 rows on, the
evaluation's fixed-size parts (the seed random forest on at most 200,000 rows, the best-slot
replay on at most 5,000 contacts) stop growing, and what is left grows by LARGE_KB_PER_ROW from
LARGE_BASE_MB (the frames, the int32 profile counts and the feature matrix).
"""

from __future__ import annotations

import io

PEAK_BASE_MB = 320.0  # the interpreter, numpy/pandas/scikit-learn, the report
PEAK_KB_PER_ROW = 4.1  # below ~200,000 rows: everything grows with the log
LARGE_BASE_MB = 792.0  # above: the evaluation's capped parts are at their size
LARGE_KB_PER_ROW = 1.705  # the frames, profile counts and features per call row
HEADROOM = 0.85  # of the function's memory, for what the lines do not capture


def peak_mb(rows: int) -> float:
    return min(PEAK_BASE_MB + rows * PEAK_KB_PER_ROW / 1024,
               LARGE_BASE_MB + rows * LARGE_KB_PER_ROW / 1024)


def rows_that_fit(memory_mb: int) -> int:
    """The most rows whose peak stays within HEADROOM of `memory_mb` (the peak is the lower of
    two lines, so a log fits when it is under either)."""
    budget = memory_mb * HEADROOM
    return max(0, int((budget - PEAK_BASE_MB) * 1024 / PEAK_KB_PER_ROW),
               int((budget - LARGE_BASE_MB) * 1024 / LARGE_KB_PER_ROW))


def count_rows(name: str, data: bytes) -> int:
    """Data rows of one log part without parsing it: Parquet's footer, or CSV lines less the
    header."""
    if name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.ParquetFile(io.BytesIO(data)).metadata.num_rows
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return max(0, lines - 1)
