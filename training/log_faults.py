"""Faulty call logs made from a good one, as a broken export would deliver them: same size but
no signal, or a required column missing. Used by the `make pipeline` scenarios and by tests."""

from __future__ import annotations

import csv
import random
from pathlib import Path


def shuffled_labels(calls_csv: Path, target: Path, seed: int = 11) -> Path:
    """The call log with `answered` permuted across rows: same size, no signal."""
    with calls_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    labels = [row["answered"] for row in rows]
    random.Random(seed).shuffle(labels)
    for row, label in zip(rows, labels, strict=True):
        row["answered"] = label
    return _write(rows, target)


def without_answered(calls_csv: Path, target: Path) -> Path:
    """The call log without its `answered` column: training must refuse it."""
    with calls_csv.open(newline="") as f:
        rows = [{k: v for k, v in row.items() if k != "answered"} for row in csv.DictReader(f)]
    return _write(rows, target)


def _write(rows: list[dict[str, str]], target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target
