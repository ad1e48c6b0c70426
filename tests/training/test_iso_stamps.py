"""The two fixed-width stamp forms read from their digits give pandas' instant for every stamp
they take, take every real instant of a plausible year, and leave everything else (for the
general rules, which read it as before)."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from training.iso_stamps import read_canonical


def _pandas(stamp: str) -> int:
    return pd.to_datetime(stamp, utc=True, format="ISO8601").value


def _random_stamps(count: int, seed: int) -> list[str]:
    """Both forms, every field drawn a little beyond its range (day 00-31 in every month, hour
    up to 24, second up to 60, offsets up to 15 hours, years either side of the plausible)."""
    pick = random.Random(seed)
    stamps = []
    for _ in range(count):
        date = (f"{pick.choice([1699, 1700, 1900, 1999, 2000, 2024, 2026, 2100, 2200, 2201]):04d}"
                f"-{pick.randint(0, 13):02d}-{pick.randint(0, 31):02d}")
        time = f"T{pick.randint(0, 24):02d}:{pick.randint(0, 59):02d}:{pick.randint(0, 60):02d}"
        zone = pick.choice(["Z", f"{pick.choice('+-')}{pick.randint(0, 15):02d}:"
                                 f"{pick.choice([0, 15, 30, 45, 59]):02d}"])
        stamps.append(date + time + zone)
    return stamps


@pytest.mark.parametrize("seed", range(3))
def test_every_stamp_taken_is_the_instant_pandas_reads(seed: int) -> None:
    stamps = _random_stamps(4_000, seed)
    taken, nanos = read_canonical(pa.array(stamps, pa.large_string()))
    assert 0.2 < taken.mean() < 0.9  # the draw reaches both sides
    for stamp, took, value in zip(stamps, taken, nanos, strict=True):
        fields = (int(stamp[5:7]), int(stamp[8:10]), int(stamp[11:13]), int(stamp[17:19]))
        real = 1700 <= int(stamp[:4]) <= 2200 and fields[0] in range(1, 13) and fields[2] < 24 \
            and fields[3] < 60 and (stamp[-1] == "Z" or int(stamp[20:22]) <= 14)
        if real:
            try:
                expected = _pandas(stamp)
            except ValueError:  # a day its month does not have
                real = False
        assert took == real, stamp
        if took:
            assert value == expected, stamp


def test_leap_days_and_the_ends_of_years() -> None:
    stamps = ["2024-02-29T12:00:00Z", "2000-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
              "2026-02-29T00:00:00Z", "2026-12-31T23:59:59-14:00", "1970-01-01T00:00:00+00:00",
              "1969-12-31T23:59:59Z", "2026-04-31T10:00:00Z"]
    taken, nanos = read_canonical(pa.array(stamps))
    assert taken.tolist() == [True, True, False, False, True, True, True, False]
    assert nanos[taken].tolist() == [_pandas(s) for s, t in zip(stamps, taken, strict=True) if t]


def test_other_forms_are_left_to_the_general_rules() -> None:
    stamps = ["2026-03-08 22:00:10Z", "2026-03-08T22:00:10z", "2026-03-08T22:00:10+0300",
              "2026-03-08T22:00:10.5Z", "2026-03-08T22:00Z", "2026-0٣-08T22:00:10Z",
              "2026-03-08T22:00:10Z ", "2026/03/08T22:00:10Z", "2026-03-08T22:00:10+03-00",
              "2026-03-08T22:00:10*03:00", "", None, "2026-03-08T22:00:10Z"]
    taken, _ = read_canonical(pa.array(stamps, pa.large_string()))
    assert np.flatnonzero(taken).tolist() == [len(stamps) - 1]


def test_a_slice_is_read_at_its_own_rows() -> None:
    stamps = pa.array(["x", "2026-03-08T22:00:10Z", "2026-03-08T23:00:10+01:00", "y"])
    taken, nanos = read_canonical(stamps.slice(1, 2))
    assert taken.all() and nanos[0] == nanos[1] == _pandas("2026-03-08T22:00:10Z")
