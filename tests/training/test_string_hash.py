"""The column-wise hash is FNV-1a + SplitMix64 of each value's UTF-8 bytes, as a byte-at-a-time
loop computes it, whatever the values' lengths, scripts or place in their array."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from training.string_hash import hash64

MASK = 2**64 - 1


def _one_at_a_time(text: str, seed: int = 0) -> int:
    state = 0xCBF29CE484222325 ^ seed
    for byte in text.encode():
        state = ((state ^ byte) * 0x100000001B3) & MASK
    state ^= state >> 30
    state = (state * 0xBF58476D1CE4E5B9) & MASK
    state ^= state >> 27
    state = (state * 0x94D049BB133111EB) & MASK
    return state ^ (state >> 31)


VALUES = ["", "a", "c-1", "c-1 ", "C-1", "\u05e9\u05dc\u05d5\u05dd", "c-\u00e9", "\U0001f4de",
          "x" * 300, "c-000123", "c-000132"]


@pytest.mark.parametrize("seed", [0, 7])
def test_each_value_hashes_as_the_loop_does(seed: int) -> None:
    got = hash64(pa.array(VALUES, pa.string()), seed)
    assert got.dtype == np.uint64
    assert got.tolist() == [_one_at_a_time(v, seed) for v in VALUES]


def test_a_slice_of_an_array_hashes_its_own_values() -> None:
    """A slice shares its parent's buffers, at an offset."""
    array = pa.array(VALUES, pa.large_string())
    assert hash64(array.slice(3, 5)).tolist() == hash64(VALUES[3:8]).tolist()


def test_seeds_give_independent_hashes() -> None:
    ids = [f"c-{i}" for i in range(20_000)]
    first, second = hash64(ids, 0) % np.uint64(2), hash64(ids, 1) % np.uint64(2)
    # the low bit agrees about half the time, as two independent coins do
    assert abs((first == second).mean() - 0.5) < 0.02
    assert len(set(hash64(ids).tolist())) == len(ids)


def test_nulls_are_refused() -> None:
    with pytest.raises(ValueError, match="not nulls"):
        hash64(pa.array(["a", None]))
