"""The exact quantile of many arrays that do not fit in memory together, in two passes.

`np.quantile(np.concatenate(arrays), q)` needs every value at once: 8 bytes a call, which is
8 GB for a billion calls, more than a Lambda function holds. The same number comes from two
reads of the arrays, one at a time: a histogram of the values in fixed-width bins finds the bins
holding the two order statistics the quantile interpolates between; the second read keeps only
the values in those bins. Memory: the histogram (one int64 a bin over the values' range) and
one array at a time.

The interpolation is numpy's default ('linear', Hyndman & Fan's 7th method), step for step, so
the result is bit-identical to `np.quantile` on the concatenation (tests/training check it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

BIN_WIDTH = 60.0  # seconds: a year of call times is 525,600 bins (4 MB)


def quantile(read: Callable[[], Iterable[np.ndarray]], low: float, high: float, q: float,
             bin_width: float = BIN_WIDTH) -> float:
    """The q-quantile of every value the arrays hold. `read()` yields the arrays (it is called
    twice); every value lies in [low, high]."""
    if not low <= high:
        raise ValueError(f"quantile: low ({low}) must not exceed high ({high})")
    origin = math.floor(low / bin_width)
    bins = math.floor(high / bin_width) - origin + 1
    histogram = np.zeros(bins, dtype=np.int64)
    for values in read():
        histogram += np.bincount(_bin(values, origin, bin_width, bins), minlength=bins)
    n = int(histogram.sum())
    if n == 0:
        raise ValueError("quantile: no values")
    # numpy's 'linear' method: virtual index (n - 1) * q, its floor and the next one, clipped.
    virtual = (n - 1) * np.float64(q)
    if virtual >= n - 1:
        below = above = n - 1
    elif virtual < 0:
        below = above = 0
    else:
        below = int(np.floor(virtual))
        above = below + 1
    gamma = np.float64(virtual - np.floor(virtual)) if 0 <= virtual < n - 1 else np.float64(0)
    ends = np.cumsum(histogram)  # ends[b]: how many values lie in bins 0..b
    first_bin, last_bin = (int(np.searchsorted(ends, rank, side="right"))
                           for rank in (below, above))
    before = int(ends[first_bin - 1]) if first_bin else 0
    kept = np.sort(np.concatenate([
        values[(codes >= first_bin) & (codes <= last_bin)]
        for values in read()
        for codes in [_bin(values, origin, bin_width, bins)]] or [np.array([])]))
    a, b = np.float64(kept[below - before]), np.float64(kept[above - before])
    return float(_lerp(a, b, gamma))


def _bin(values: np.ndarray, origin: int, bin_width: float, bins: int) -> np.ndarray:
    codes = np.floor(np.asarray(values, dtype=np.float64) / bin_width).astype(np.int64) - origin
    if len(codes) and (codes.min() < 0 or codes.max() >= bins):
        raise ValueError("quantile: a value lies outside [low, high]")
    return codes


def _lerp(a: np.float64, b: np.float64, t: np.float64) -> np.float64:
    """numpy's `_lerp`: a + (b - a) t, computed from b's side when t >= 0.5."""
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t
