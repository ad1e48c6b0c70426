"""Rejects written by the csv module directly are the text pandas' to_csv wrote, byte for byte:
what people open and what the run's rejects file concatenates."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from pipeline_lambdas.work_area import csv_text

ODD = ["", "plain", "a,b", 'say "hi"', "line\nbreak", "cr\rhere", " lead", "trail ",
       "\u05e9\u05dc\u05d5\u05dd", "tab\there", '"', ",", "nan", "None", "\u2028"]


def _frame(rows: int, seed: int) -> pd.DataFrame:
    pick = random.Random(seed).choice
    return pd.DataFrame({
        "source_file": [pick(["s3://b/part-0.csv", "a,b.csv"]) for _ in range(rows)],
        "source_row": np.arange(2, rows + 2, dtype=np.int64),
        "reject_reason": [pick(["duplicate", "bad_answered"]) for _ in range(rows)],
        "contact_id": pd.Series([pick(ODD) for _ in range(rows)], dtype=object),
        "note": pd.Series([pick([*ODD, None, float("nan")]) for _ in range(rows)],
                          dtype=object),
        "text": pd.array([pick([*ODD, None]) for _ in range(rows)], dtype="string")})


@pytest.mark.parametrize("seed", range(4))
def test_the_same_text_as_pandas(seed: int) -> None:
    frame = _frame(500, seed)
    assert csv_text(frame) == frame.to_csv(index=False)
    assert csv_text(frame, header=False) == frame.to_csv(index=False, header=False)


def test_header_only_single_columns_and_other_types() -> None:
    for frame in (pd.DataFrame(columns=["source_row", "reject_reason"]),
                  pd.DataFrame({"only": ["", "x", ""]}),
                  pd.DataFrame({"n": [1, 2], "when": pd.to_datetime(["2026-01-01", None])}),
                  pd.DataFrame({"x": [1.5, np.nan], "flag": [True, False]}),
                  # what pandas writes its own way: no columns, labels that are not text
                  pd.DataFrame(index=range(3)), pd.DataFrame({0: ["a"], 1.5: ["b"], None: [""]}),
                  pd.DataFrame([["x"]], columns=pd.MultiIndex.from_tuples([("a", "b")]))):
        assert csv_text(frame) == frame.to_csv(index=False)
