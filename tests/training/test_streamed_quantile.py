"""The quantile from parts' histograms and a few values is np.quantile on the concatenation,
bit for bit, reading only a slice of each part."""

from __future__ import annotations

import numpy as np
import pytest

from training.streamed_quantile import histogram, quantile, quantile_of_arrays


@pytest.mark.parametrize("seed", range(40))
def test_it_equals_numpy_on_the_concatenation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 400, size=rng.integers(1, 6))
    sizes[0] = max(sizes[0], 1)
    start = 1.7e9 + rng.integers(0, 1e7)
    # Whole seconds with many ties (calls share seconds and hours), as call times are.
    arrays = [np.floor(start + rng.exponential(3600 * rng.uniform(0.01, 300), size=int(n)))
              for n in sizes]
    every = np.concatenate(arrays)
    for q in (0.8, rng.uniform(), 0.0, 1.0, 0.5):
        assert quantile_of_arrays(arrays, q) == float(np.quantile(every, q)), (q, len(every))


def test_only_a_slice_of_each_part_is_read() -> None:
    rng = np.random.default_rng(3)
    parts = [np.sort(rng.integers(1_700_000_000, 1_730_000_000, size=50_000)) for _ in range(20)]
    asked = []

    def read(wanted: list[tuple[int, int, int]]) -> list[np.ndarray]:
        asked.extend(stop - start for _, start, stop in wanted)
        return [parts[index][start:stop] for index, start, stop in wanted]

    got = quantile([histogram(p) for p in parts], read, 0.8)
    assert got == np.quantile(np.concatenate(parts), 0.8)
    assert len(asked) <= len(parts) and sum(asked) < 0.01 * 50_000 * 20  # about one hour's


def test_no_values_is_an_error_not_a_number() -> None:
    with pytest.raises(ValueError, match="no values"):
        quantile_of_arrays([np.array([])], 0.5)
