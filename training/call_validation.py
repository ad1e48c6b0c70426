"""The call-log contract's rules applied column-wise with Arrow (training/call_log.py's
`validate` and the scale-out partition workers both use it).

Every rule is vectorized compute over a slice's columns: whitespace trimmed as Python's
`str.strip` does, time stamps matched against the ISO-8601-with-offset pattern and parsed by
Arrow (the few Arrow refuses, and any outside its nanosecond range, by pandas, as before, so
every row gets the value and the reason it always got), zones checked against the shipped IANA
list once per slice, durations parsed as numbers (plain decimals by Arrow, anything else by
pandas), and a call exported twice within the slice found by sorting (contact, instant) pairs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from training import iso_stamps

# What Python's str.strip() removes: the same characters, so a value is what it always was.
_WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
# A decimal number Arrow and pandas read alike; anything else is left to pandas.
_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
# Years Arrow's nanosecond timestamps hold with room: others are parsed by pandas (they are
# implausible or unparseable either way).
_YEARS = (1700, 2200)
_EARLIEST_NS = pd.Timestamp.min.tz_localize("UTC")
_LATEST_NS = pd.Timestamp.max.tz_localize("UTC")


@dataclass
class Checked:
    """A slice's columns after the rules: the reason of each row ("" = valid) and the parsed
    values (meaningful on the valid rows)."""

    reason: np.ndarray  # (n,) int8: 0 valid, else 1 + the index of its reason in `reasons`
    contact: pa.Array
    called_at: np.ndarray  # (n,) int64 nanoseconds since the epoch, UTC
    answered: np.ndarray  # (n,) bool
    duration: np.ndarray  # (n,) float64, NaN where none was given
    campaign: pa.Array
    zone: pa.Array


def text(column: pa.ChunkedArray | pa.Array | None, rows: int) -> pa.Array:
    """A column as trimmed text; absent or null is "". A dictionary-encoded column (a Parquet
    column read as its dictionary: a log repeats its contacts, zones and answers) stays one,
    each distinct value trimmed once, its dictionary unique after trimming."""
    if column is None:
        return pa.array([""] * rows, type=pa.string())
    column = one_array(column)
    if pa.types.is_dictionary(column.type):
        return _trimmed_dictionary(column)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise TypeError(f"text columns only, got {column.type}")
    return pc.utf8_trim(column.fill_null(""), characters=_WHITESPACE)


def one_array(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A column as one array: its one chunk as it is; chunks joined, a dictionary column's over
    one dictionary of every chunk's values."""
    if not isinstance(column, pa.ChunkedArray):
        return column
    if column.num_chunks == 1:
        return column.chunk(0)
    return (column.unify_dictionaries() if pa.types.is_dictionary(column.type)
            else column).combine_chunks()


def _trimmed_dictionary(column: pa.DictionaryArray) -> pa.DictionaryArray:
    values = column.dictionary
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        raise TypeError(f"text columns only, got {column.type}")
    # null rows point at an added "", then the trimmed values are made unique again
    values = pa.concat_arrays([values.fill_null(""), pa.array([""], values.type)])
    unique = pc.dictionary_encode(pc.utf8_trim(values, characters=_WHITESPACE))
    remap = unique.indices.to_numpy(zero_copy_only=False).astype(np.int32)
    # widened first: the added "" may not fit the column's own index type (int8, 128 values)
    indices = column.indices.cast(pa.int64()).fill_null(len(values) - 1).to_numpy(
        zero_copy_only=False)
    return pa.DictionaryArray.from_arrays(pa.array(remap[indices]), unique.dictionary)


def _bool(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def each_row(column: pa.Array, test: Callable[[pa.Array], pa.Array]) -> np.ndarray:
    """`test` (a compute function of text) of each row's value, as booleans: on a dictionary
    column, of each distinct value once."""
    if pa.types.is_dictionary(column.type):
        return _bool(test(column.dictionary))[column.indices.to_numpy(zero_copy_only=False)]
    return _bool(test(column))


def plain(column: pa.Array) -> pa.Array:
    """A text column's values, not its dictionary."""
    return (column.cast(column.type.value_type) if pa.types.is_dictionary(column.type)
            else column)


def decoded(table: pa.Table) -> pa.Table:
    """A table whose dictionary columns are their values."""
    for index, field_ in enumerate(table.schema):
        if pa.types.is_dictionary(field_.type):
            table = table.set_column(index, field_.name,
                                     table.column(index).cast(field_.type.value_type))
    return table


def _encoded(column: pa.Array) -> pa.DictionaryArray:
    return column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)


def parse_times(stamp: pa.Array, formed: np.ndarray, other: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """(nanoseconds, parsed) of the stamps at rows `formed` (the pattern matched with ASCII
    digits) and `other` (matched only with other digits); the rest unparsed. Arrow casts the
    `formed` stamps of plausible years; a cast that fails is split until the stamps it refuses
    are found, and those, the stamps of other years and the `other` ones are parsed by pandas
    as before."""
    n = len(stamp)
    nanos = np.zeros(n, dtype=np.int64)
    parsed = np.zeros(n, dtype=bool)
    head = pc.utf8_slice_codeunits(stamp.take(pa.array(formed, pa.int64())), 0, 4)
    year = pc.cast(head, pa.int32()).to_numpy() if len(formed) else np.zeros(0, np.int32)
    plausible = (year >= _YEARS[0]) & (year <= _YEARS[1])
    fast = formed[plausible]
    slow: list[np.ndarray] = [formed[~plausible], other]

    def cast(rows: np.ndarray) -> None:
        if not len(rows):
            return
        try:
            values = pc.cast(stamp.take(pa.array(rows)), pa.timestamp("ns", tz="UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if len(rows) <= 64:
                slow.append(rows)
                return
            middle = len(rows) // 2
            cast(rows[:middle])
            cast(rows[middle:])
            return
        nanos[rows] = values.cast(pa.int64()).to_numpy()
        parsed[rows] = True

    cast(fast)
    rest = np.concatenate(slow)
    if len(rest):
        when = pd.to_datetime(pd.Series(stamp.take(pa.array(rest)).to_pylist(), dtype=object),
                              utc=True, format="ISO8601", errors="coerce")
        for row, value in zip(rest, when, strict=True):
            if pd.isna(value):
                continue
            parsed[row] = True
            # beyond nanoseconds' range (years before 1677, after 2262): as far as they go
            if value < _EARLIEST_NS:
                nanos[row] = np.iinfo(np.int64).min
            elif value > _LATEST_NS:
                nanos[row] = np.iinfo(np.int64).max
            else:
                nanos[row] = value.as_unit("ns").value
    return nanos, parsed


def parse_durations(duration: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(values, given): NaN where the text is empty or no number, as pandas.to_numeric
    reads it. Each distinct text is read once (a log repeats its durations)."""
    encoded = _encoded(duration)
    texts = encoded.dictionary
    values = np.full(len(texts), np.nan)
    given = _bool(pc.not_equal(texts, ""))
    number = _bool(pc.match_substring_regex(texts, _PLAIN_NUMBER)) & given
    rows = np.flatnonzero(number)
    if len(rows):
        values[rows] = pc.cast(texts.take(pa.array(rows)), pa.float64()).to_numpy()
    other = np.flatnonzero(given & ~number)
    if len(other):
        values[other] = pd.to_numeric(pd.Series(texts.take(pa.array(other)).to_pylist(),
                                                dtype=object),
                                      errors="coerce").to_numpy(dtype=float)
    index = encoded.indices.to_numpy(zero_copy_only=False)
    return values[index], given[index]


def in_words(answered: pa.Array, *word_sets: Iterable[str]) -> list[np.ndarray]:
    """For each set of words, whether each text, lower-cased, is one of them (each distinct
    text looked at once)."""
    encoded = _encoded(answered)
    lowered = pc.utf8_lower(encoded.dictionary)
    index = encoded.indices.to_numpy(zero_copy_only=False)
    return [_bool(pc.is_in(lowered, value_set=pa.array(sorted(words), lowered.type)))[index]
            for words in word_sets]


def first_of_repeats(candidate: np.ndarray, contact: pa.Array, nanos: np.ndarray
                     ) -> np.ndarray:
    """Rows among `candidate` whose (contact, instant) an earlier candidate row has. Only rows
    sharing their instant with another can repeat: those are compared by contact, within each
    run of one instant."""
    rows = np.flatnonzero(candidate)
    if len(rows) < 2:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(nanos[rows], kind="stable")  # an export is nearly in time order: fast
    in_time = rows[order]  # rows of one instant together, each run in row order
    ordered = nanos[in_time]
    same = ordered[1:] == ordered[:-1]
    shared = np.r_[same, False] | np.r_[False, same]
    if not shared.any():
        return np.zeros(0, dtype=np.int64)
    run = np.cumsum(np.r_[True, ~same])[shared]  # which instant's run, increasing
    candidates = in_time[shared]
    # a dictionary's values are unique (`text`): its indices tell contacts apart
    encoded = _encoded(contact.take(pa.array(candidates)))
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    key = run * np.int64(len(encoded.dictionary) + 1) + codes
    # stable, and nearly sorted already (runs are short): the first of a repeat comes first
    by_key = np.argsort(key, kind="stable")
    ordered_keys = key[by_key]
    return np.sort(candidates[by_key][np.r_[False, ordered_keys[1:] == ordered_keys[:-1]]])


def _with_default(zone: pa.Array, default: str) -> pa.Array:
    """An empty zone is the default one."""
    def fill(values: pa.Array) -> pa.Array:
        return pc.if_else(pc.equal(values, ""), pa.scalar(default, values.type), values)

    if not pa.types.is_dictionary(zone.type):
        return fill(zone)
    return _trimmed_dictionary(pa.DictionaryArray.from_arrays(zone.indices,
                                                              fill(zone.dictionary)))


def check(columns: dict[str, pa.Array], rows: int, default_timezone: str,
          known_zones: Iterable[str], earliest_ns: int, latest_ns: int,
          iso_with_offset: str, true_words: Iterable[str], false_words: Iterable[str],
          reasons: Sequence[str]) -> Checked:
    """The contract's rules on a slice's text columns (names lower-cased; absent ones are
    empty), in the order of `reasons` (call_log.REJECT_REASONS): a row gets the first reason
    that applies."""
    def get(name: str) -> pa.Array:
        return text(columns.get(name), rows)

    contact, answered_text = get("contact_id"), get("answered")
    stamp = plain(get("called_at"))  # a stamp per call: its dictionary would be the column
    zone = _with_default(get("timezone"), default_timezone)
    duration_text, campaign = get("duration_seconds"), get("campaign_id")

    reason = np.zeros(rows, dtype=np.int8)
    code = {why: np.int8(i + 1) for i, why in enumerate(reasons)}

    def reject(mask: np.ndarray, why: str) -> None:
        reason[(reason == 0) & mask] = code[why]

    def empty(values: pa.Array) -> pa.Array:
        return pc.equal(values, "")

    reject(each_row(contact, empty) | _bool(empty(stamp)) | each_row(answered_text, empty),
           "missing_field")
    # Most stamps are in one of two fixed-width forms, read from their digits; the rest are
    # matched against the pattern. RE2's \d is ASCII; Python's re (the contract's) takes other
    # digits too: the stamps RE2 does not match are tried with re (few: the missing and the
    # malformed).
    canonical, canonical_nanos = iso_stamps.read_canonical(stamp)
    rest_rows = np.flatnonzero(~canonical)
    rest_stamps = stamp.take(pa.array(rest_rows)) if len(rest_rows) < rows else stamp
    matches = _bool(pc.match_substring_regex(rest_stamps,
                                             iso_with_offset.replace(r"\d", "[0-9]")))
    others = rest_rows[~matches & _bool(pc.not_equal(rest_stamps, ""))]
    if len(others):
        compiled = re.compile(iso_with_offset)
        matched = [compiled.match(value) is not None
                   for value in stamp.take(pa.array(others)).to_pylist()]
        others = others[np.asarray(matched, dtype=bool)]
    nanos, parsed = parse_times(stamp, rest_rows[matches], others)
    nanos[canonical], parsed[canonical] = canonical_nanos[canonical], True
    reject(~parsed, "unparseable_timestamp")
    reject(parsed & ((nanos < earliest_ns) | (nanos > latest_ns)), "implausible_timestamp")
    zone_set = pa.array(sorted(known_zones), type=plain(zone).type)
    reject(~each_row(zone, lambda values: pc.is_in(values, value_set=zone_set)),
           "unknown_timezone")
    is_true, is_false = in_words(answered_text, true_words, false_words)
    reject(~(is_true | is_false), "bad_answered")
    duration, given = parse_durations(duration_text)
    reject(given & ~np.isfinite(duration), "bad_duration")
    with np.errstate(invalid="ignore"):
        reject(duration < 0, "negative_duration")
    reason[first_of_repeats(reason == 0, contact, nanos)] = code["duplicate"]
    return Checked(reason, contact, nanos, is_true, duration, campaign, zone)
