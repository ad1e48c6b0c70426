"""A 64-bit hash of text values, computed column-wise over an Arrow array's bytes.

FNV-1a over each value's UTF-8 bytes, then SplitMix64's finalizer (so that the low bits, which a
modulus keeps, depend on every byte): the same value gets the same hash in every process, run
and machine. Computed a byte position at a time across all values (numpy), so a value is never
a Python object: 44,000 contact ids in under 2 ms, where pandas' SipHash of Python strings took
7 ms. Not for secrets: it spreads contacts over buckets and samples, nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa

_OFFSET = np.uint64(0xCBF29CE484222325)
_PRIME = np.uint64(0x100000001B3)


def hash64(values: pa.Array | Iterable[str], seed: int = 0) -> np.ndarray:
    """Each value's hash (uint64); `seed` gives an independent hash of the same values."""
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), pa.large_string())
    values = values.cast(pa.large_string())
    n = len(values)
    if values.null_count:
        raise ValueError("hash64 takes text values, not nulls")
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset:
                                                                   values.offset + n + 1]
    data = values.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    # longest first, so the values that still have a byte at position k are the first alive[k]
    order = np.argsort(-lengths, kind="stable")
    starts = offsets[:-1][order]
    alive = np.searchsorted(-lengths[order], -np.arange(int(lengths.max(initial=0))),
                            side="left")
    state = np.full(n, _OFFSET ^ np.uint64(seed), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for position, count in enumerate(alive):
            state[:count] = (state[:count] ^ data[starts[:count] + position]) * _PRIME
        state ^= state >> np.uint64(30)
        state *= np.uint64(0xBF58476D1CE4E5B9)
        state ^= state >> np.uint64(27)
        state *= np.uint64(0x94D049BB133111EB)
        state ^= state >> np.uint64(31)
    hashed = np.empty(n, dtype=np.uint64)
    hashed[order] = state
    return hashed
