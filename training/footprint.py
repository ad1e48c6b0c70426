"""How much memory training a call log takes, so a log too large for the function's memory is
refused up front, by name, instead of the function being killed (`Runtime.OutOfMemory`, no
message a person can act on).

Peak resident memory of `calltime train` (Python 3.12, scikit-learn 1.9), measured with
`/usr/bin/time -v calltime train --calls ...` on generated logs (`calltime generate --contacts
1250, 5000, 20000, 40000`, about 40 rows per contact): MEASURED below (re-measured when the model
changed: one fit instead of two, the weekly curve's rows x K arrays). Between two measurements
the estimate is the straight line through them; beyond the last, that last line continued
(about 1.2 KB a row: what still grows there is the log, its features and the curve's arrays;
the fit subsamples above `ModelSettings.max_fit_rows`).
"""

from __future__ import annotations

import io
import itertools

# (rows in the log, peak MB); rows 0 is the interpreter with numpy/pandas/scikit-learn loaded.
MEASURED = ((0, 320.0), (48_342, 546.0), (203_829, 1_044.0), (795_016, 1_830.0),
            (1_604_994, 2_770.0))
HEADROOM = 0.85  # of the function's memory, for what the measurements do not capture


def _through(x: float, points: tuple[tuple[float, float], ...]) -> float:
    """The piecewise-linear curve through increasing `points` at x, the end segments
    continued."""
    segments = list(itertools.pairwise(points))
    (x0, y0), (x1, y1) = next((s for s in segments if x <= s[1][0]), segments[-1])
    return y0 + (x - x0) * (y1 - y0) / (x1 - x0)


def peak_mb(rows: int) -> float:
    return _through(rows, MEASURED)


def rows_that_fit(memory_mb: int) -> int:
    """The most rows whose estimated peak stays within HEADROOM of `memory_mb`."""
    inverse = tuple((mb, rows) for rows, mb in MEASURED)
    return max(0, int(_through(memory_mb * HEADROOM, inverse)))


def count_rows(name: str, data: bytes) -> int:
    """Data rows of one log part without parsing it: Parquet's footer, or CSV lines less the
    header."""
    if name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.ParquetFile(io.BytesIO(data)).metadata.num_rows
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return max(0, lines - 1)
