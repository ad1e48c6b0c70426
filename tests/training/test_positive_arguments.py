"""The benchmarks' and CLI's positive-number arguments refuse bad values by name."""

from __future__ import annotations

import argparse

import pytest

from training.commands import positive


@pytest.mark.parametrize(("kind", "text", "said"), [
    (int, "abc", "'abc' is not a whole number"),
    (int, "2.5", "'2.5' is not a whole number"),
    (float, "x", "'x' is not a number"),
    (int, "0", "'0' must be a number greater than 0"),
    (float, "nan", "'nan' must be a number greater than 0"),
    (float, "-1", "'-1' must be a number greater than 0"),
])
def test_a_value_that_is_not_a_positive_number_is_refused_saying_why(kind, text, said) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=f"^{said}$"):
        positive(kind)(text)


def test_positive_numbers_are_read() -> None:
    assert positive(int)("8000") == 8000
    assert positive(float)("15.5") == 15.5
