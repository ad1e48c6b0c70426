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

from inference_code.archetypes import N_CELLS

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


# --- the scale-out workers, sized by their function's memory ------------------------------------
# Peak resident memory of each worker on generated logs, in its own process under the local
# runtime (`make bench-workers` prints them at the floor's sizes and fails if a worker reaches its
# limit), with the interpreter,
# numpy, pandas, pyarrow, boto3 and Powertools loaded (no scikit-learn: the workers import no
# model code):
WORKER_BASE_MB = 200.0
PARTITION_ROW_KB = 1.0  # a slice's rows while read, validated and split
# A part is held whole: its bytes and a decoded Parquet row group (8.6 x measured), or its bytes,
# its text and the CSV reader's buffer (5.6 x).
PART_BYTES_FACTOR = {"parquet": 9.0, "csv": 6.0}
# A bucket's pieces merged and written (592 MB at 838,834 rows, 1,024 MB worker; column-wise since
# issue 28: 712 MB at 588,221 rows, its pieces, their concatenation and the written stream held
# at once); its rows, counts and sample (944 MB at 838,834 rows; 462 at 588,221 since issue 28,
# kept at the older figure).
MERGE_BUCKET_ROW_KB, MERGE_BUCKET_FIXED_MB = 0.7, 110.0
COUNT_BUCKET_ROW_KB, COUNT_BUCKET_FIXED_MB = 0.75, 190.0
MAX_SLICE_ROWS = 500_000  # more rows a slice save little time
MIN_SLICE_ROWS = 10_000
MAX_BUCKET_ROWS = 1_000_000


def _budget(memory_mb: int) -> float:
    return memory_mb * HEADROOM - WORKER_BASE_MB


def part_format(name: str) -> str:
    return "parquet" if name.lower().endswith(".parquet") else "csv"


def slice_rows(memory_mb: int, name: str, part_bytes: int) -> int:
    """The rows a partition worker of `memory_mb` validates at a time in the part `name` of
    `part_bytes`; 0 when it cannot hold the part at all (split the log into smaller parts)."""
    left = _budget(memory_mb) - PART_BYTES_FACTOR[part_format(name)] * part_bytes / 2**20
    rows = int(left * 1024 / PARTITION_ROW_KB)
    return 0 if rows < MIN_SLICE_ROWS else min(rows, MAX_SLICE_ROWS)


def largest_part_mb(memory_mb: int, name: str) -> int:
    """The largest part like `name` (CSV or Parquet) a partition worker of `memory_mb` holds,
    with its smallest slices."""
    left = _budget(memory_mb) - MIN_SLICE_ROWS * PARTITION_ROW_KB / 1024
    return max(0, int(left / PART_BYTES_FACTOR[part_format(name)]))


def bucket_rows(memory_mb: int) -> int:
    """The most rows a merge or count worker of `memory_mb` holds in its one bucket."""
    rows = min((_budget(memory_mb) - fixed) * 1024 / per_row for per_row, fixed in (
        (MERGE_BUCKET_ROW_KB, MERGE_BUCKET_FIXED_MB), (COUNT_BUCKET_ROW_KB,
                                                       COUNT_BUCKET_FIXED_MB)))
    return max(0, min(int(rows), MAX_BUCKET_ROWS))


# --- TrainOnSample, and the least memory a training function may have ---------------------------
# The archetypes are fitted on at most this many contacts' weekly cell counts (1.5 KB each, twice:
# before the cut and overall, and the EM's responsibilities): a population-level fit of a few
# thousand numbers, which a whole-contact sample of this size pins down (K is chosen on 20,000).
MAX_ARCHETYPE_CONTACTS = 100_000
# TrainOnSample holds those counts (calls and answers, before the cut and overall: four float64
# arrays of contacts x cells) and the EM's work arrays beside the sample it trains on.
COUNTS_RESERVE_MB = round(MAX_ARCHETYPE_CONTACTS * N_CELLS * 8 * 4 * 1.3 / 2**20)
# The smallest sample a scale-out run should train on: about 1,000 contacts' histories.
MIN_SAMPLE_ROWS = 40_000


def sample_memory_mb(memory_mb: int) -> int:
    """What TrainOnSample's training may use of its function's memory: all but the counts."""
    return max(0, memory_mb - COUNTS_RESERVE_MB)


# TrainOnSample's time. The whole step (the global fits on every bucket's counts, then
# `calltime train`'s features, evaluation, fit and packaging on the sample) handled 12,500-
# 22,400 sample rows a second on the benchmark machine's 2 cores (`make bench-scale` and the
# scale-out run, train-sample, on different days: this machine's speed varies by a fifth, and
# the global fits do not shrink with the sample), about what a 4 GB function's vCPUs do. The
# sample is kept to what trains in SAMPLE_SECONDS at the slow end of that range: the step in
# every run's critical path stays under a minute on a slow day too, far inside Lambda's 15,
# and a larger sample bought little (holdout AUC on the 4M-row log: 0.7335 on 1.00M rows,
# 0.7333 on 746,000; see docs/training-at-scale.md).
TRAIN_ROWS_PER_SECOND = 12_000
SAMPLE_SECONDS = 50


def sample_rows(memory_mb: int) -> int:
    """The rows TrainOnSample trains on at most: what its memory holds beside the counts, and
    what trains in SAMPLE_SECONDS."""
    return min(rows_that_fit(sample_memory_mb(memory_mb)),
               TRAIN_ROWS_PER_SECOND * SAMPLE_SECONDS)


def minimum_memory_mb() -> int:
    """The least training_memory_mb (in 64 MB steps) whose TrainOnSample holds MIN_SAMPLE_ROWS
    beside the archetype counts: with less, a log too large for one function trains on a
    sample too small to mean anything, or on none (1,024 MB: 48,513 rows; 960 MB: 36,823)."""
    memory = 128
    while rows_that_fit(sample_memory_mb(memory)) < MIN_SAMPLE_ROWS:
        memory += 64
    return memory
