"""Training a log too large for one function, one piece at a time (issue 12's pure core).

The steps a Step Functions Distributed Map runs over a log's parts and contact buckets. Every
feature is a function of one contact's earlier calls and of global parameters (the temporal cut,
the global answer rate and the weekly archetypes), so once all of a contact's rows meet
in one bucket and the global parameters are fitted from every bucket's summaries, each bucket's
features are exactly what `dataset.build` gives those rows on the whole log:

1. `partition(name, data, buckets)`: one part read and validated with the call-log contract
   (every reject reason; duplicates within the part), its valid rows split by contact bucket.
2. `merge_bucket(pieces)`: a bucket's rows from every part, in part order; a call exported in
   two parts (same contact, same instant) is rejected there as `duplicate`, first one kept, as
   the single-function path does over the concatenated parts.
3. `global_cut(histograms, read)`: the temporal cut from every bucket's histogram of call hours
   and a few of its sorted call times (training/streamed_quantile.py): exact, and a billion
   calls' cut reads kilobytes a bucket, not 8 GB.
4. `contact_counts(bucket, cut)`: the bucket's contacts' answered/called counts per weekly
   cell and their zones before the cut; `fit_global(counts)` fits the answer rate and archetypes
   on all of them in contact-id order, which is what `dataset.fit_params` sees on the whole log.
5. `sampled(bucket, fraction)`: whole contacts, chosen by a second keyed hash, so a sample keeps
   every sampled contact's history; `train.fit_and_package` (the single-function path's own
   tail) builds their features with the global parameters, evaluates, fits and packages.

`train_scaled` runs the steps one after the other in this process: what the distributed path
computes, for tests and benchmarks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from inference_code.archetypes import N_CELLS, zone_cells
from inference_code.features import FeatureParams
from inference_code.week_days import WEEK
from training import (
    call_log,
    call_validation,
    dataset,
    footprint,
    streamed_quantile,
    string_hash,
)
from training.outputs import REJECTS_FILE

if TYPE_CHECKING:  # the workers import no model code (scikit-learn: about 100 MB each)
    from training.train import GlobalParams, TrainResult, TrainSettings

_SAMPLE_KEY = "calltime-sample1"  # 16 bytes: a hash independent of the bucket's
_BUCKET_SEED = 0


def bucket_of(contact_ids: Iterable[str] | np.ndarray | pa.Array, buckets: int) -> np.ndarray:
    """Each contact's bucket in [0, buckets): a hash of the id (training/string_hash.py), the
    same in every process and run."""
    ids = contact_ids if isinstance(contact_ids, pa.Array) else pa.array(
        [str(i) for i in contact_ids], pa.large_string())
    return (string_hash.hash64(ids, _BUCKET_SEED) % np.uint64(buckets)).astype(np.int64)


# A merge or count worker holds one bucket: at most a million rows, fewer where its memory holds
# fewer (training/footprint.bucket_rows), however large the log.
BUCKET_ROWS = 1_000_000


def bucket_count(rows: int, minimum: int, bucket_rows: int = BUCKET_ROWS) -> int:
    """The buckets of a log of about `rows` rows: the setting's minimum, more when a bucket
    would exceed `bucket_rows`."""
    return max(minimum, -(-rows // max(1, bucket_rows)))


# A partition worker holds at most this many of its part's rows at a time (fewer where its
# memory holds fewer: training/footprint.slice_rows), so no part is too large for it by rows: a
# 3-million-row export part is six slices.
SLICE_ROWS = 500_000


@dataclass
class PartitionedPart:
    name: str
    buckets: dict[int, pa.Table]  # bucket -> valid rows (call_log.VALID_SCHEMA + source_file)
    rejects: pd.DataFrame  # as call_log.validate keeps them, with the part's name
    rows_read: int


def bucket_order(contact_ids: pa.Array, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, counts): the rows in order of their contact's bucket (in their order within a
    bucket), and each bucket's rows; each distinct contact id is hashed once."""
    encoded = pc.dictionary_encode(contact_ids)
    of_id = bucket_of(encoded.dictionary, buckets)
    row_bucket = of_id[encoded.indices.to_numpy(zero_copy_only=False)]
    # a stable sort of small integers is a radix sort
    order = np.argsort(row_bucket.astype(np.uint16 if buckets <= 2**16 else np.int64),
                       kind="stable")
    return order, np.bincount(row_bucket, minlength=buckets)


def _by_bucket(buckets: int, counts: list[np.ndarray], contact_ids: pa.Array) -> np.ndarray:
    order, per_bucket = bucket_order(contact_ids, buckets)
    counts.append(per_bucket)
    return order


def partition_slices(name: str, data: bytes, buckets: int,
                     default_timezone: str = call_log.DEFAULT_TIMEZONE,
                     slice_rows: int = SLICE_ROWS) -> Iterator[PartitionedPart]:
    """One part of a log, `slice_rows` rows at a time: each slice validated and its valid rows
    split by contact bucket, column-wise (Arrow) throughout; the campaign, zone and file columns
    as dictionaries (as its pieces are written). A call repeated across slices is found where
    every repeat of it meets, in `merge_bucket`, as one repeated across parts is."""
    for raw in call_log.read_slices(data, name, slice_rows):
        counts: list[np.ndarray] = []  # each bucket's rows, told by the arrangement
        valid, rejects, _ = call_log.check_table(raw, default_timezone, name,
                                                 arrange=partial(_by_bucket, buckets, counts),
                                                 few_as_dictionaries=True)
        # one value, as a dictionary of it (what the pieces are written as)
        valid = valid.append_column("source_file", pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(valid.num_rows, dtype=np.int32)),
            pa.array([name], pa.large_string())))
        starts = np.r_[0, np.cumsum(counts[0])]
        split = {int(b): valid.slice(starts[b], counts[0][b])
                 for b in np.flatnonzero(counts[0])}
        yield PartitionedPart(name, split, rejects.assign(source_file=name), raw.num_rows)


def partition(name: str, data: bytes, buckets: int,
              default_timezone: str = call_log.DEFAULT_TIMEZONE,
              slice_rows: int = SLICE_ROWS) -> PartitionedPart:
    """One part of a log, every slice of it together (in slice order)."""
    slices = list(partition_slices(name, data, buckets, default_timezone, slice_rows))
    return PartitionedPart(
        name, {b: pa.concat_tables([s.buckets[b] for s in slices if b in s.buckets])
               for b in sorted({b for s in slices for b in s.buckets})},
        pd.concat([s.rejects for s in slices], ignore_index=True),
        sum(s.rows_read for s in slices))


def merge_tables(pieces: Sequence[pa.Table | pd.DataFrame]) -> tuple[pa.Table, pa.Table]:
    """One bucket's rows from every part (in part order): (valid rows, duplicate rejects), as
    Arrow tables; dictionary columns stay dictionaries (of every piece's values)."""
    tables = [p if isinstance(p, pa.Table) else pa.Table.from_pandas(p, preserve_index=False)
              for p in pieces]
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return pa.table({}), pa.table({})
    rows = pa.concat_tables(tables).combine_chunks()
    nanos = rows.column("called_at").cast(pa.int64()).to_numpy()
    repeats = call_validation.first_of_repeats(np.ones(rows.num_rows, dtype=bool),
                                               rows.column("contact_id").combine_chunks(),
                                               nanos)
    keep = np.ones(rows.num_rows, dtype=bool)
    keep[repeats] = False
    rejects = rows.take(pa.array(repeats))
    rejects = rejects.append_column("reject_reason", pa.repeat(
        pa.scalar("duplicate", pa.large_string()), rejects.num_rows))
    return rows.filter(pa.array(keep)), rejects


def merge_bucket(pieces: Sequence[pa.Table | pd.DataFrame]
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`merge_tables`, as pandas frames."""
    rows, rejects = merge_tables(pieces)
    return (call_validation.decoded(rows).to_pandas(),
            call_validation.decoded(rejects).to_pandas())


def _whole_seconds(bucket: pd.DataFrame | pa.Table) -> np.ndarray:
    if isinstance(bucket, pa.Table):
        if not bucket.num_rows:
            return np.zeros(0, dtype=np.int64)
        return bucket.column("called_at").combine_chunks().cast(pa.int64()).to_numpy() // 10**9
    return pd.DatetimeIndex(bucket["called_at"]).as_unit("s").asi8


def call_epochs(bucket: pd.DataFrame | pa.Table) -> np.ndarray:
    """Call times as seconds since the epoch (what the temporal cut is a quantile of)."""
    return _whole_seconds(bucket).astype(float)


def sorted_epochs(bucket: pd.DataFrame | pa.Table) -> np.ndarray:
    """The bucket's call times in whole seconds, sorted (int64): what MergeBucket writes for
    the temporal cut, with their histogram."""
    return np.sort(_whole_seconds(bucket))


def global_cut(histograms: Sequence[streamed_quantile.Histogram],
               read: streamed_quantile.Slices, test_fraction: float) -> float:
    """The temporal cut over every bucket's call times: the quantile the single path takes on
    the whole log, exact, from each bucket's histogram of call hours and the few call times
    `read([(bucket, start, stop), ...])` returns from their sorted times."""
    return streamed_quantile.quantile(histograms, read, 1 - test_fraction)


@dataclass
class ContactCounts:
    """A bucket's contacts (sorted by id; those in the archetype sample) with their calls and
    answers per weekly cell before the cut and their zones, and the totals of every contact's
    calls there."""

    contact_ids: np.ndarray
    calls: np.ndarray  # (C, N_CELLS)
    answers: np.ndarray  # (C, N_CELLS)
    zones: np.ndarray  # (C,)
    rows: int
    answered: int


def contact_counts(bucket: pd.DataFrame | pa.Table, cut: float,
                   fraction: float = 1.0) -> ContactCounts:
    """The bucket's calls before the cut: totals over every contact, cell counts for the
    contacts in the `fraction` whole-contact sample (every contact at 1)."""
    return contact_counts_at(bucket, [cut], fraction)[0]


def contact_counts_at(bucket: pd.DataFrame | pa.Table, cuts: Sequence[float],
                      fraction: float = 1.0) -> list[ContactCounts]:
    """`contact_counts` at several cuts, reading the bucket's columns once: contact ids
    ranked by Arrow (each distinct id hashed for the sample once), local slots computed once
    per zone, counts by bincount; a contact's zone is its last call's before the cut."""
    table = bucket if isinstance(bucket, pa.Table) else pa.Table.from_pandas(
        bucket, preserve_index=False)
    if not table.num_rows:
        return [_no_counts(0, 0) for _ in cuts]
    encoded = pc.dictionary_encode(table.column("contact_id")).combine_chunks()
    by_id = np.asarray(pc.array_sort_indices(encoded.dictionary))
    rank = np.empty(len(by_id), dtype=np.int64)
    rank[by_id] = np.arange(len(by_id))
    code = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    ids = np.asarray(encoded.dictionary.take(pa.array(by_id)).to_numpy(zero_copy_only=False),
                     dtype=object)
    in_sample = _in_sample(ids, fraction)[code]
    nanos = table.column("called_at").combine_chunks().cast(pa.int64()).to_numpy()
    epochs = call_epochs(table)
    zone = table.column("timezone").combine_chunks()
    if pa.types.is_dictionary(zone.type):  # as a merge writes it: each zone's name once
        names = np.asarray(zone.dictionary.to_pylist(), dtype=object)
        zone_codes = np.asarray(zone.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        zones, coded = names[zone_codes], (zone_codes, names)
    else:
        zones, coded = np.asarray(zone.to_numpy(zero_copy_only=False), dtype=object), None
    answered = np.asarray(table.column("answered").to_numpy(), dtype=np.int64)
    dow, hour, _, _ = dataset.local_slots(pd.DatetimeIndex(nanos.view("datetime64[ns]"),
                                                           tz="UTC"), zones, coded)
    # each row's weekly cell, once for every cut (by the zones' codes when the merge wrote them)
    cells = zone_cells(WEEK, coded if coded is not None else pd.factorize(zones), dow, hour)
    in_time = np.argsort(nanos, kind="stable")  # the last call's zone is written last
    out = []
    for cut in cuts:
        before = epochs < cut
        rows, answered_before = int(before.sum()), int(answered[before].sum())
        chosen = in_time[(before & in_sample)[in_time]]
        if not len(chosen):
            out.append(_no_counts(rows, answered_before))
            continue
        # the contacts present, in id order, and each row's among them (np.unique's answer,
        # by marking rather than sorting)
        present = np.zeros(len(ids), dtype=bool)
        present[code[chosen]] = True
        used = np.flatnonzero(present)
        dense = (np.cumsum(present) - 1)[code[chosen]]
        calls, answers, contact_zones = dataset.dense_cell_counts(
            dense, dow[chosen], hour[chosen], zones[chosen], answered[chosen], cells[chosen])
        out.append(ContactCounts(ids[used], calls, answers, contact_zones, rows,
                                 answered_before))
    return out


def _no_counts(rows: int, answered: int) -> ContactCounts:
    return ContactCounts(np.array([], dtype=object), np.zeros((0, N_CELLS)),
                         np.zeros((0, N_CELLS)), np.array([], dtype=object), rows, answered)


def _in_sample(ids: np.ndarray, fraction: float) -> np.ndarray:
    """Whether each contact id falls in the `fraction` whole-contact sample."""
    if fraction >= 1:
        return np.ones(len(ids), dtype=bool)
    unit = pd.util.hash_array(np.asarray(ids, dtype=object), hash_key=_SAMPLE_KEY,
                              categorize=False) / np.float64(2**64)
    return unit < fraction


def fit_global(counts: list[ContactCounts], start: FeatureParams | None = None,
               without_fold: int | None = None) -> FeatureParams:
    """The answer rate and archetypes from every bucket's contacts, in contact-id order (refit
    from `start`'s; without one cross-fitting fold's contacts): what `dataset.build` fits on
    the whole log."""
    ids = np.concatenate([c.contact_ids for c in counts])
    order = np.argsort(ids, kind="stable")
    if without_fold is not None:
        order = order[dataset.contact_fold(ids[order]) != without_fold]
    calls = np.concatenate([c.calls for c in counts])[order]
    answers = np.concatenate([c.answers for c in counts])[order]
    zones = np.concatenate([c.zones for c in counts])[order]
    rows = sum(c.rows for c in counts)
    rate = float(np.int64(sum(c.answered for c in counts)) / rows)
    return dataset.params_from_counts(calls, answers, zones, rate, start)


def global_params(cut: float, before: list[ContactCounts], every: list[ContactCounts]
                  ) -> GlobalParams:
    """The run's global parameters from every bucket's counts before the cut and overall."""
    from training.train import GlobalParams

    before_cut = fit_global(before)
    return GlobalParams(cut=cut, before_cut=before_cut,
                        folds=tuple(fit_global(before, before_cut, without_fold=f)
                                    for f in range(dataset.FOLDS)),
                        every_call=fit_global(every, before_cut))


def sampled[T: (pd.DataFrame, pa.Table)](bucket: T, fraction: float) -> T:
    """The rows of the bucket's contacts that fall in the sample (whole contacts)."""
    if fraction >= 1:
        return bucket
    if isinstance(bucket, pd.DataFrame):
        keep = _in_sample(bucket["contact_id"].to_numpy(dtype=object), fraction)
        return bucket.loc[keep].reset_index(drop=True)
    encoded = pc.dictionary_encode(bucket.column("contact_id")).combine_chunks()
    chosen = _in_sample(encoded.dictionary.to_numpy(zero_copy_only=False), fraction)
    return bucket.filter(pa.array(chosen[encoded.indices.to_numpy(zero_copy_only=False)]))


def part_summary(name: str, data: bytes, slices: list[PartitionedPart]) -> dict[str, object]:
    """What the data summary needs of one part (small: it crosses Step Functions and S3)."""
    counts: Counter[str] = Counter()
    for piece in slices:
        counts.update(piece.rejects["reject_reason"].tolist() if len(piece.rejects) else [])
    return {"name": name, "rows_read": sum(p.rows_read for p in slices),
            "sha256": call_log.part_digest(name, data), "rejected_by_reason": dict(counts)}


def refused_part_summary(name: str, data: bytes, reason: str) -> dict[str, object]:
    """The summary of a part that is no call log: none of its rows are read."""
    return {"name": name, "rows_read": 0, "refused": reason,
            "sha256": call_log.part_digest(name, data), "rejected_by_reason": {}}


def bucket_summary(rows: pd.DataFrame | pa.Table, duplicates: int) -> dict[str, object]:
    """What the data summary needs of one merged bucket."""
    if isinstance(rows, pd.DataFrame):
        rows = pa.Table.from_pandas(rows, preserve_index=False)
    if not rows.num_rows:
        return {"rows_valid": 0, "duplicates": duplicates, "answered": 0, "first_call": None,
                "last_call": None, "contacts": 0}
    span = pc.min_max(rows.column("called_at"))
    return {"rows_valid": rows.num_rows, "duplicates": duplicates,
            "answered": int(pc.sum(rows.column("answered")).as_py() or 0),
            "first_call": pd.Timestamp(span["min"].as_py()).isoformat(),
            "last_call": pd.Timestamp(span["max"].as_py()).isoformat(),
            "contacts": int(pc.count_distinct(rows.column("contact_id")).as_py())}


def data_summary(parts: list[dict], buckets: list[dict]) -> dict[str, object]:
    """What metadata.json says of the data, from every part's and bucket's summary (parts in
    part order)."""
    reasons = dict.fromkeys(call_log.REJECT_REASONS, 0)
    for part in parts:
        for reason, count in part["rejected_by_reason"].items():
            reasons[reason] += count
    reasons["duplicate"] += sum(b["duplicates"] for b in buckets)
    rows_valid = sum(b["rows_valid"] for b in buckets)
    rejected = sum(reasons.values())
    firsts = [b["first_call"] for b in buckets if b["first_call"]]
    lasts = [b["last_call"] for b in buckets if b["last_call"]]
    return {"rows_read": rows_valid + rejected, "rows_valid": rows_valid,
            "rows_rejected": rejected, "rejected_by_reason": reasons, "ignored_columns": [],
            "sha256": call_log.log_fingerprint(p["sha256"] for p in parts),
            "first_call": min(firsts) if firsts else None,
            "last_call": max(lasts) if lasts else None,
            "contacts": sum(b["contacts"] for b in buckets),
            **({"refused_parts": [{"name": p["name"], "reason": p["refused"]}
                                  for p in parts if p.get("refused")]}
               if any(p.get("refused") for p in parts) else {})}


def check_trainable(data: dict[str, object], answered: int, min_valid_rows: int,
                    name: str) -> None:
    """call_log's trainability check on the totals, naming any refused parts."""
    refused = "; ".join(f"{p['name']}: {p['reason']}" for p in data.get("refused_parts", [])[:3])
    call_log.check_counts(int(data["rows_valid"]), answered, data["rejected_by_reason"],
                          min_valid_rows, name, f"; refused parts: {refused}" if refused else "",
                          contacts=int(data["contacts"]) if "contacts" in data else None)


def with_sample(data: dict[str, object], fraction: float, rows: int) -> dict[str, object]:
    """The data summary, saying (when it is one) the sample the model was trained on."""
    return data if fraction >= 1 else {**data, "sample": {"fraction": round(fraction, 6),
                                                          "rows": rows}}


def sample_fraction(count: int, cap: int) -> float:
    """The share of contacts to keep so about `cap` of `count` (rows or contacts) remain."""
    return 1.0 if count <= cap else cap / count


def train_scaled(parts: list[tuple[str, bytes]], out_dir: Path,
                 settings: TrainSettings | None = None, buckets: int = 8,
                 fraction: float = 1.0, version: str | None = None) -> TrainResult:
    """Every step of the distributed path, in this process, on (name, bytes) parts."""
    from training.train import TrainSettings, fit_and_package

    settings = settings or TrainSettings()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pieces = [partition(name, data, buckets, settings.default_timezone) for name, data in parts]
    merged = [merge_bucket([p.buckets[b] for p in pieces if b in p.buckets])
              for b in range(buckets)]
    valid = [rows for rows, _ in merged if len(rows)]
    rejects = pd.concat([p.rejects for p in pieces] + [r for _, r in merged if len(r)],
                        ignore_index=True)
    rejects.to_csv(out_dir / REJECTS_FILE, index=False)
    data = data_summary([part_summary(p.name, d, [p]) for p, (_, d) in zip(pieces, parts,
                                                                            strict=True)],
                        [bucket_summary(rows, len(dups)) for rows, dups in merged])
    check_trainable(data, sum(int(v["answered"].sum()) for v in valid),
                    settings.min_valid_rows, f"{len(parts)} call-log files")
    cut = streamed_quantile.quantile_of_arrays([sorted_epochs(v) for v in valid],
                                               1 - settings.evaluation.test_fraction)
    counts_fraction = sample_fraction(int(data["contacts"]), footprint.MAX_ARCHETYPE_CONTACTS)
    params = global_params(cut, [contact_counts(v, cut, counts_fraction) for v in valid],
                           [contact_counts(v, np.inf, counts_fraction) for v in valid])
    rows = pd.concat([sampled(v, fraction) for v in valid], ignore_index=True)
    data = with_sample(data, fraction, len(rows))
    return fit_and_package(rows, data, out_dir, settings, version=version, global_params=params)
