"""How much memory training a call log takes, so a log too large for the function's memory is
refused up front, by name, instead of the function being killed (`Runtime.OutOfMemory`, no
message a person can act on).

Peak resident memory of `calltime train` (Python 3.12, scikit-learn 1.9), measured with
`/usr/bin/time -v calltime train --calls ...` on generated logs: 518 MB at 50,366 rows and
1,125 MB at 200,399 rows; the line through them is PEAK_BASE_MB + PEAK_KB_PER_ROW per row.
"""

from __future__ import annotations

import io

PEAK_BASE_MB = 320.0  # the interpreter, numpy/pandas/scikit-learn, the report
PEAK_KB_PER_ROW = 4.1  # the frames, features and the model's working arrays per call row
HEADROOM = 0.85  # of the function's memory, for what the line does not capture


def peak_mb(rows: int) -> float:
    return PEAK_BASE_MB + rows * PEAK_KB_PER_ROW / 1024


def rows_that_fit(memory_mb: int) -> int:
    return max(0, int((memory_mb * HEADROOM - PEAK_BASE_MB) * 1024 / PEAK_KB_PER_ROW))


def count_rows(name: str, data: bytes) -> int:
    """Data rows of one log part without parsing it: Parquet's footer, or CSV lines less the
    header."""
    if name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.ParquetFile(io.BytesIO(data)).metadata.num_rows
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return max(0, lines - 1)
