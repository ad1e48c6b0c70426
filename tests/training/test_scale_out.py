"""The scale-out path's pieces give the single-function path's features, row for row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training import call_log, dataset, scale_out
from training.evaluate import EvaluationSettings


def test_buckets_are_stable_and_spread() -> None:
    ids = np.array([f"c-{i}" for i in range(4000)], dtype=object)
    first, again = scale_out.bucket_of(ids, 16), scale_out.bucket_of(ids.copy(), 16)
    assert (first == again).all() and first.min() >= 0 and first.max() < 16
    counts = np.bincount(first, minlength=16)
    assert counts.min() > 4000 / 16 * 0.7  # no bucket starves
    assert scale_out.bucket_of(["c-1"], 16)[0] == first[1]  # the same id, the same bucket


@pytest.fixture(scope="module")
def parts(demo_log) -> list[tuple[str, bytes]]:
    """The demo log as three CSV parts; the last repeats one call of the first."""
    text = demo_log[0].read_text().splitlines(keepends=True)
    header, rows = text[0], text[1:]
    third = len(rows) // 3
    chunks = [rows[:third], rows[third:2 * third], [*rows[2 * third:], rows[5]]]
    return [(f"part-{i}.csv", (header + "".join(chunk)).encode())
            for i, chunk in enumerate(chunks)]


def test_the_bucketed_path_gives_the_same_features_row_for_row(parts) -> None:
    single = call_log.load_parts(parts)
    cut = scale_out.global_cut([scale_out.call_epochs(single.valid)],
                               EvaluationSettings().test_fraction)
    whole = dataset.build(single.valid, fit_before=cut)

    buckets = 4
    pieces = [scale_out.partition(name, data, buckets) for name, data in parts]
    merged = {b: scale_out.merge_bucket([p.buckets[b] for p in pieces if b in p.buckets])
              for b in range(buckets)}
    valid = {b: rows for b, (rows, _) in merged.items()}
    duplicates = sum(len(rejects) for _, rejects in merged.values())
    part_rejects = sum(len(p.rejects) for p in pieces)
    assert duplicates >= 1  # the call repeated across parts
    assert part_rejects + duplicates == len(single.rejects)
    assert sum(len(rows) for rows in valid.values()) == len(single.valid)

    bucket_cut = scale_out.global_cut([scale_out.call_epochs(v) for v in valid.values()],
                                      EvaluationSettings().test_fraction)
    assert bucket_cut == cut
    params = scale_out.fit_global([scale_out.contact_counts(v, cut) for v in valid.values()])
    assert params == whole.params

    def keyed(ts) -> pd.DataFrame:
        frame = pd.DataFrame(ts.X)
        frame["contact_id"], frame["epoch"], frame["y"] = ts.contact_id, ts.epoch, ts.y
        return frame.set_index(["contact_id", "epoch"]).sort_index()

    bucketed = pd.concat([keyed(scale_out.bucket_features(v, params)) for v in valid.values()])
    # Equal to the last bits but for matrix products, whose summation order depends on how
    # many rows a batch has (BLAS blocking).
    pd.testing.assert_frame_equal(bucketed.sort_index(), keyed(whole), check_exact=False,
                                  rtol=1e-12, atol=1e-12)
