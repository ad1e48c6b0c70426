"""The scale-out path's pieces give the single-function path's features, row for row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.support.logs import log_in_parts
from training import call_log, dataset, scale_out, streamed_quantile
from training.evaluate import EvaluationSettings, temporal_cut


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
    return log_in_parts(demo_log[0])


def test_the_bucketed_path_gives_the_same_features_row_for_row(parts) -> None:
    single = call_log.load_parts(parts)
    cut = temporal_cut(scale_out.call_epochs(single.valid), EvaluationSettings().test_fraction)
    whole = dataset.build(single.valid, fit_before=cut)

    buckets = 4
    # Slices of 997 rows: a contact's calls and a repeated call fall in several slices.
    pieces = [scale_out.partition(name, data, buckets, slice_rows=997) for name, data in parts]
    merged = {b: scale_out.merge_bucket([p.buckets[b] for p in pieces if b in p.buckets])
              for b in range(buckets)}
    valid = {b: rows for b, (rows, _) in merged.items()}
    duplicates = sum(len(rejects) for _, rejects in merged.values())
    part_rejects = sum(len(p.rejects) for p in pieces)
    assert duplicates >= 1  # the call repeated across parts
    assert part_rejects + duplicates == len(single.rejects)
    assert sum(len(rows) for rows in valid.values()) == len(single.valid)

    epochs = [scale_out.sorted_epochs(v) for v in valid.values()]
    bucket_cut = scale_out.global_cut([streamed_quantile.histogram(e) for e in epochs],
                                      lambda asked: [epochs[b][i:j] for b, i, j in asked],
                                      EvaluationSettings().test_fraction)
    assert bucket_cut == cut  # exact, from histograms and a slice of each bucket's times
    params = scale_out.global_params(
        cut, [scale_out.contact_counts(v, cut) for v in valid.values()],
        [scale_out.contact_counts(v, np.inf) for v in valid.values()])
    assert params.before_cut == whole.params
    # The cross-fitting folds' archetypes, from the buckets' counts, are the single path's too:
    # every training row's weekly curve below is computed from them.
    assert params.folds == dataset.fold_params(
        whole.contact_code[whole.epoch < cut], whole.contact_id[whole.epoch < cut],
        whole.dow[whole.epoch < cut], whole.hour[whole.epoch < cut],
        whole.timezone[whole.epoch < cut], whole.y[whole.epoch < cut], whole.params)

    def keyed(ts) -> pd.DataFrame:
        frame = pd.DataFrame(ts.X)
        frame["contact_id"], frame["epoch"], frame["y"] = ts.contact_id, ts.epoch, ts.y
        return frame.set_index(["contact_id", "epoch"]).sort_index()

    bucketed = pd.concat([keyed(dataset.build(v, params=params.before_cut, fit_before=cut,
                                              folds=params.folds)) for v in valid.values()])
    # Equal to the last bits but for matrix products, whose summation order depends on how
    # many rows a batch has (BLAS blocking): up to 1.1e-12 measured, in the posterior's largest
    # share (a sum of exponentials near 1).
    pd.testing.assert_frame_equal(bucketed.sort_index(), keyed(whole), check_exact=False,
                                  rtol=1e-12, atol=1e-11)


def test_a_sample_keeps_whole_contacts(parts) -> None:
    piece = scale_out.partition(*parts[0], buckets=1).buckets[0].to_pandas()
    half = scale_out.sampled(piece, 0.5)
    kept = set(half["contact_id"])
    assert 0.3 < len(kept) / piece["contact_id"].nunique() < 0.7
    whole = piece[piece["contact_id"].isin(kept)]
    assert len(whole) == len(half)  # every row of a sampled contact is in the sample


def test_a_log_with_too_few_valid_rows_is_refused_by_name_with_its_rejects_kept(tmp_path) -> None:
    bad = b"contact_id,called_at,answered\nc-1,not a time,true\nc-2,2026-01-01T10:00:00Z,maybe\n"
    with pytest.raises(call_log.InvalidCallLog, match="only 0 valid rows"):
        scale_out.train_scaled([("bad.csv", bad)], tmp_path, buckets=2)
    assert len(pd.read_csv(tmp_path / "rejects.csv")) == 2


def test_a_model_trained_on_a_sample_says_so(parts, tmp_path) -> None:
    result = scale_out.train_scaled(parts, tmp_path, buckets=2, fraction=0.5, version="v-half")
    sample = result.metadata["data"]["sample"]
    assert sample["fraction"] == 0.5 and 0 < sample["rows"] < result.metadata["data"]["rows_valid"]
    assert "whole-contact sample of" in result.report_path.read_text()


def test_archetype_counts_on_a_contact_sample_keep_every_calls_totals(parts) -> None:
    bucket = scale_out.partition(*parts[0], buckets=1).buckets[0].to_pandas()
    every = scale_out.contact_counts(bucket, np.inf)
    half = scale_out.contact_counts(bucket, np.inf, 0.5)
    assert (half.rows, half.answered) == (every.rows, every.answered)  # the answer rate's input
    assert 0.3 < len(half.contact_ids) / len(every.contact_ids) < 0.7
    assert set(half.contact_ids) <= set(every.contact_ids)
    assert half.calls.sum() < every.calls.sum()


def test_the_training_sample_leaves_room_for_the_archetype_counts() -> None:
    """TrainOnSample holds the archetype counts of up to MAX_ARCHETYPE_CONTACTS contacts beside
    the sample: the sample is sized for what the counts leave of the function's memory."""
    from inference_code.archetypes import N_CELLS
    from training import footprint

    counts_mb = footprint.MAX_ARCHETYPE_CONTACTS * N_CELLS * 8 * 4 / 2**20
    for memory_mb in (2048, 4096, 10240):
        rows = footprint.rows_that_fit(footprint.sample_memory_mb(memory_mb))
        assert rows < footprint.rows_that_fit(memory_mb)
        assert footprint.peak_mb(rows) + counts_mb <= memory_mb * footprint.HEADROOM
        # and the sample trains in about a minute, however large the function
        sample = footprint.sample_rows(memory_mb)
        assert sample == min(rows, footprint.TRAIN_ROWS_PER_SECOND * footprint.SAMPLE_SECONDS)
    assert footprint.sample_rows(10240) == footprint.sample_rows(4096) == 600_000
    assert footprint.sample_rows(2048) == footprint.rows_that_fit(footprint.sample_memory_mb(2048))


def test_a_bucket_as_a_merge_writes_it_counts_as_its_plain_rows(parts) -> None:
    """A merged bucket keeps its zones as a dictionary (codes used as they are), which may name
    zones no valid row has: the same counts, ids and zones as the decoded rows give, at every
    cut."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from training import call_validation

    merged, _ = scale_out.merge_tables([p.buckets[0] for p in (
        scale_out.partition(name, data, buckets=2) for name, data in parts)])
    zone = merged.column("timezone").combine_chunks()
    # a dictionary read from a log holds the zones of its rejected rows too
    merged = merged.set_column(merged.schema.get_field_index("timezone"), "timezone",
                               pa.DictionaryArray.from_arrays(
                                   pc.add(zone.indices, 1),
                                   pa.concat_arrays([pa.array(["Mars/Olympus_Mons"],
                                                              zone.dictionary.type),
                                                     zone.dictionary])))
    plain = call_validation.decoded(merged)
    cut = float(np.median(scale_out.call_epochs(merged)))
    for coded, text in zip(scale_out.contact_counts_at(merged, [cut, np.inf], 0.7),
                           scale_out.contact_counts_at(plain, [cut, np.inf], 0.7), strict=True):
        assert coded.contact_ids.tolist() == text.contact_ids.tolist()
        assert coded.zones.tolist() == text.zones.tolist()
        np.testing.assert_array_equal(coded.calls, text.calls)
        np.testing.assert_array_equal(coded.answers, text.answers)
        assert (coded.rows, coded.answered) == (text.rows, text.answered)
