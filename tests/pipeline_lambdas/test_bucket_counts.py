"""CountBucket's counts cross S3 as the smallest whole-number type that holds them."""

from __future__ import annotations

import numpy as np

from pipeline_lambdas.bucket_steps import whole_counts


def test_counts_keep_every_value_in_fewer_bytes() -> None:
    counts = np.zeros((3, 96))
    counts[0, 5], counts[2, 90] = 7, 255
    small = whole_counts(counts)
    assert small.dtype == np.uint8 and np.array_equal(small.astype(np.float64), counts)
    counts[1, 0] = 256  # one more call than a byte holds: a wider type, not a wrapped count
    wide = whole_counts(counts)
    assert wide.dtype == np.uint16 and np.array_equal(wide.astype(np.float64), counts)
    assert whole_counts(np.zeros((0, 96))).shape == (0, 96)
