"""The two-pass quantile is np.quantile on the concatenation, bit for bit, with bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from training.streamed_quantile import quantile


@pytest.mark.parametrize("seed", range(40))
def test_it_equals_numpy_on_the_concatenation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 400, size=rng.integers(1, 6))
    sizes[0] = max(sizes[0], 1)
    start = 1.7e9 + rng.integers(0, 1e7)
    # Whole seconds with many ties (calls share seconds and minutes), as call times are.
    arrays = [np.floor(start + rng.exponential(3600 * rng.uniform(0.01, 300), size=int(n)))
              for n in sizes]
    every = np.concatenate(arrays)
    for q in (0.8, rng.uniform(), 0.0, 1.0, 0.5):
        expected = float(np.quantile(every, q))
        got = quantile(lambda: iter(arrays), every.min(), every.max(), q)
        assert got == expected, (q, len(every))


def test_it_reads_twice_and_never_holds_more_than_one_array_and_two_bins() -> None:
    arrays = [np.arange(i * 1000, i * 1000 + 1000, dtype=float) for i in range(50)]
    reads = []

    def read():
        reads.append(1)
        yield from arrays

    assert quantile(read, 0, 49_999, 0.8) == np.quantile(np.concatenate(arrays), 0.8)
    assert len(reads) == 2


def test_values_outside_the_stated_range_are_an_error_not_a_wrong_answer() -> None:
    with pytest.raises(ValueError, match="outside"):
        quantile(lambda: iter([np.array([1.0, 500.0])]), 0, 100, 0.5)
    with pytest.raises(ValueError, match="no values"):
        quantile(lambda: iter([np.array([])]), 0, 100, 0.5)
