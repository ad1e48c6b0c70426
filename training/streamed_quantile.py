"""The exact quantile of values held in many sorted parts that do not fit in memory together.

`np.quantile(np.concatenate(parts), q)` needs every value at once: 8 bytes a call, which is
8 GB for a billion calls, more than a Lambda function holds, and a long read. The same number
comes from each part's histogram (counts per fixed-width bin, a few KB) and a few values: the
summed histograms say which bins hold the two order statistics the quantile interpolates
between, and, each part being sorted, its values in those bins are one contiguous slice whose
bounds its own histogram gives. The caller reads only those slices (a ranged GET each).

The interpolation is numpy's default ('linear', Hyndman & Fan's 7th method), step for step, so
the result is bit-identical to `np.quantile` on the concatenation (tests/training check it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

BIN_WIDTH = 3600  # seconds: a year of call times is 8,760 bins (70 KB) a part


@dataclass(frozen=True)
class Histogram:
    """One sorted part's values counted per bin, from bin `first` on."""

    first: int
    counts: np.ndarray  # int64

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def before(self, bin_: int) -> int:
        """How many of the part's values lie in bins before `bin_`."""
        return int(self.counts[:max(0, min(len(self.counts), bin_ - self.first))].sum())


def histogram(sorted_values: np.ndarray, bin_width: int = BIN_WIDTH) -> Histogram:
    if len(sorted_values) == 0:
        return Histogram(0, np.zeros(0, dtype=np.int64))
    bins = np.floor_divide(np.asarray(sorted_values, dtype=np.int64), bin_width)
    first = int(bins[0])
    return Histogram(first, np.bincount(bins - first).astype(np.int64))


Slices = Callable[[list[tuple[int, int, int]]], list[np.ndarray]]


def quantile(histograms: Sequence[Histogram], read: Slices, q: float) -> float:
    """The q-quantile of every part's values. `read([(part, start, stop), ...])` returns those
    parts' sorted values [start:stop]: a few values of each part, asked for at once (so the
    caller can fetch them concurrently)."""
    parts = [(i, h) for i, h in enumerate(histograms) if h.total]
    if not parts:
        raise ValueError("quantile: no values")
    low = min(h.first for _, h in parts)
    high = max(h.first + len(h.counts) for _, h in parts)
    total = np.zeros(high - low, dtype=np.int64)
    for _, h in parts:
        total[h.first - low:h.first - low + len(h.counts)] += h.counts
    n = int(total.sum())
    # numpy's 'linear' method: virtual index (n - 1) q, its floor and the next one, clipped.
    virtual = (n - 1) * np.float64(q)
    if virtual >= n - 1:
        below = above = n - 1
        gamma = np.float64(0)
    elif virtual < 0:
        below = above = 0
        gamma = np.float64(0)
    else:
        below = int(np.floor(virtual))
        above = below + 1
        gamma = np.float64(virtual - np.floor(virtual))
    ends = np.cumsum(total)  # ends[b]: how many values lie in bins low..low+b
    first_bin, last_bin = (low + int(np.searchsorted(ends, rank, side="right"))
                           for rank in (below, above))
    ranked_before = int(ends[first_bin - low - 1]) if first_bin > low else 0
    wanted = [(index, h.before(first_bin), h.before(last_bin + 1)) for index, h in parts]
    slices = read([(index, start, stop) for index, start, stop in wanted if stop > start])
    kept = np.sort(np.concatenate([np.asarray(v, dtype=np.float64) for v in slices]))
    a, b = np.float64(kept[below - ranked_before]), np.float64(kept[above - ranked_before])
    return float(_lerp(a, b, gamma))


def quantile_of_arrays(arrays: Sequence[np.ndarray], q: float,
                       bin_width: int = BIN_WIDTH) -> float:
    """The same, on arrays in memory (each sorted here)."""
    parts = [np.sort(np.asarray(a, dtype=np.int64)) for a in arrays]
    return quantile([histogram(p, bin_width) for p in parts],
                    lambda asked: [parts[i][start:stop] for i, start, stop in asked], q)


def _lerp(a: np.float64, b: np.float64, t: np.float64) -> np.float64:
    """numpy's `_lerp`: a + (b - a) t, computed from b's side when t >= 0.5."""
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t
