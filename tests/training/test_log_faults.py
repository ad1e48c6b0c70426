"""Faulty call logs: the same rows with no signal, or without a required column."""

from __future__ import annotations

import csv
from collections import Counter

from training.log_faults import shuffled_labels, without_answered


def _rows(path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_shuffled_labels_keep_every_row_and_the_answer_rate(demo_log, tmp_path) -> None:
    calls = demo_log[0]
    shuffled = _rows(shuffled_labels(calls, tmp_path / "s.csv"))
    original = _rows(calls)
    assert len(shuffled) == len(original)
    assert Counter(r["answered"] for r in shuffled) == Counter(r["answered"] for r in original)
    assert [r["called_at"] for r in shuffled] == [r["called_at"] for r in original]
    assert [r["answered"] for r in shuffled] != [r["answered"] for r in original]


def test_without_answered_drops_only_that_column(demo_log, tmp_path) -> None:
    rows = _rows(without_answered(demo_log[0], tmp_path / "b.csv"))
    original = _rows(demo_log[0])
    assert len(rows) == len(original)
    assert set(rows[0]) == set(original[0]) - {"answered"}
