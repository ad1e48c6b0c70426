"""The contract's rules vectorized with Arrow give what pandas gave, row for row: the same valid
rows and values, the same rejects with the same reasons and row numbers, on logs made of every
kind of value a dialer export has been seen to hold (and some it has not)."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from tests.training.reference_validation import validate as reference
from training import call_log

NOW = pd.Timestamp("2026-06-01T00:00:00Z")

STAMPS = ["2026-03-08T22:00:10Z", "2026-03-08 22:00:10+03:00", "2026-03-08T22:00+0300",
          "2026-03-08T22:00:10.123456789-05", "2026-03-08T22:00:10z", "2026-02-30T10:00:00Z",
          "2026-03-08T24:00:00Z", "2026-03-08T23:59:60Z", "0001-01-01T00:00:00Z",
          "9999-12-31T23:59:59Z", "2026-03-08T22:00:10.5+05:30", "1999-12-31T23:59:59Z",
          "2000-01-01T00:00:00Z", "2026-06-02T00:00:00Z", "2026-06-02T00:00:01Z",
          "2026-13-45 25:61", "2026-03-08", "2026-03-08T22:00:10", "  2026-03-08T22:00:10Z ",
          "2026-03-08T22:00:10+14:00", "2026-03-08T22:00:10-12", "1677-09-21T00:12:43Z",
          "2262-04-11T23:47:17Z", "2026-03-08T22:00:10.000001Z", "", "not a time",
          "2026-0٣-08T22:00:10Z", "\u00a02026-03-08T22:00:10Z\u2003"]
ANSWERED = ["true", "false", "TRUE", " yes", "No ", "1", "0", "t", "f", "y", "n", "maybe", "",
            "True\u00a0", "İ", "tRuE"]
DURATIONS = ["", "12", "12.5", "-12", "+5", "5.", ".5", "-.5", "1e3", "1E+3", "inf", "-inf",
             "nan", "NaN", "0x10", "1_000", "1e400", "-0", " 7 ", "abc", "١٢"]
ZONES = ["", "Asia/Jerusalem", "Europe/London", "America/New_York", "Mars/Olympus_Mons",
         "asia/jerusalem", " Asia/Dubai ", "UTC", "Etc/GMT+3", "posixrules", "localtime"]
CONTACTS = ["c-1", "c-2", "c-3", " c-1", "", "C-1", "c-\u00e9", "c-1\u200b"]


def _log(rows: int, seed: int) -> pd.DataFrame:
    pick = random.Random(seed).choice
    common = [*STAMPS[:4], "2026-03-09T08:00:00Z"]
    return pd.DataFrame({
        "Contact_ID ": [pick(CONTACTS) for _ in range(rows)],
        # mostly good stamps, so repeats of one call are common
        "called_at": [pick(common) if n % 3 else pick(STAMPS) for n in range(rows)],
        "answered": [pick(ANSWERED) for _ in range(rows)],
        "duration_seconds": [pick(DURATIONS) for _ in range(rows)],
        "campaign_id": [pick(["", "spring", " summer "]) for _ in range(rows)],
        "timezone": [pick(ZONES) for _ in range(rows)],
        "agent_note": [pick(["", "called back", "\u05e9\u05dc\u05d5\u05dd"])
                       for _ in range(rows)]}).astype(str)


@pytest.mark.parametrize("seed", range(6))
def test_every_row_gets_the_value_and_reason_pandas_gave_it(seed: int) -> None:
    raw = _log(3_000, seed)
    new = call_log.validate(raw.copy(), "Asia/Jerusalem", now=NOW)
    old = reference(raw.copy(), "Asia/Jerusalem", now=NOW)
    assert set(old.rejects["reject_reason"]) >= {"missing_field", "unparseable_timestamp",
                                                  "implausible_timestamp", "unknown_timezone",
                                                  "bad_answered", "bad_duration",
                                                  "negative_duration", "duplicate"}
    pd.testing.assert_frame_equal(new.valid, old.valid)
    pd.testing.assert_frame_equal(new.rejects, old.rejects)
    assert new.ignored_columns == old.ignored_columns == ["agent_note"]


def test_rows_from_several_files_keep_their_file_and_row() -> None:
    raw = _log(500, 7)
    raw.insert(0, "__source_file", np.where(np.arange(500) < 250, "a.csv", "b.csv"))
    raw.insert(1, "__source_row", np.r_[np.arange(2, 252), np.arange(2, 252)])
    new = call_log.validate(raw.copy(), now=NOW)
    old = reference(raw.copy(), now=NOW)
    pd.testing.assert_frame_equal(new.valid, old.valid)
    pd.testing.assert_frame_equal(new.rejects, old.rejects)


def test_parts_of_different_types_and_columns_join_as_text(tmp_path) -> None:
    """A typed Parquet part and a CSV part with a column the other lacks: one log, as
    pandas joined them (every column as text, a missing one empty)."""
    import io

    typed = pd.DataFrame({"contact_id": ["c-1", "c-2", "c-1"],
                          "called_at": pd.to_datetime(["2026-03-08T10:00:00Z"] * 2
                                                      + ["2026-03-08T11:00:00Z"], utc=True),
                          "answered": [True, False, True], "duration_seconds": [12.5, None, 3]})
    buffer = io.BytesIO()
    typed.to_parquet(buffer, index=False)
    csv = ("contact_id,called_at,answered,agent_note\nc-1,2026-03-08T10:00:00Z,yes,hi\n"
           "c-3,2026-03-09T10:00:00+02:00,maybe,\n")
    parts = [("a.parquet", buffer.getvalue()), ("b.csv", csv.encode())]
    new = call_log.load_parts(parts)
    frames = []
    for name, data in parts:
        raw = call_log.read_raw(data, name)
        raw.insert(0, "__source_file", name)
        raw.insert(1, "__source_row", np.arange(2, len(raw) + 2))
        frames.append(raw)
    old = reference(pd.concat(frames, ignore_index=True).fillna(""), name="2 call-log files")
    pd.testing.assert_frame_equal(new.valid, old.valid)
    pd.testing.assert_frame_equal(new.rejects, old.rejects)
    assert new.rejected_by_reason["duplicate"] == 1 and new.rejected_by_reason["bad_answered"] == 1


def test_a_typed_column_with_gaps_reads_in_rejects_as_the_whole_column_did() -> None:
    """A typed Parquet column is text as pandas reads the whole column: an integer column with a
    missing value is float (12.0) without pandas' metadata, nullable Int64 with it (12),
    whichever of its rows are rejected; a missing value is empty either way (a nullable column's
    was "<NA>", a bad duration, which rejected a good call)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {"contact_id": ["c-1", "c-2", "c-3"],
               "called_at": ["2026-03-08T10:00:00Z", "not a time", "x"],
               "answered": ["true", "false", "true"]}
    plain, with_metadata = io.BytesIO(), io.BytesIO()
    pq.write_table(pa.table({**columns, "duration_seconds": pa.array([None, 12, 7])}), plain)
    pd.DataFrame({**columns, "duration_seconds": pd.array([None, 12, 7], dtype="Int64")}
                 ).to_parquet(with_metadata, index=False)
    for data, said in ((plain.getvalue(), ["12.0", "7.0"]),
                       (with_metadata.getvalue(), ["12", "7"])):
        new = call_log.load(data)
        old = reference(call_log._as_text(pd.read_parquet(io.BytesIO(data))), now=NOW)
        assert new.rejects["duration_seconds"].tolist() == said
        pd.testing.assert_frame_equal(new.rejects, old.rejects)
        pd.testing.assert_frame_equal(new.valid, old.valid)
        assert new.valid["contact_id"].tolist() == ["c-1"]  # its duration missing, not bad


def test_a_frame_of_other_values_is_read_as_their_text() -> None:
    """validate() on a frame not read from a file: values are read as str() reads them, as the
    contract always did (None is "None", not a missing field)."""
    raw = pd.DataFrame({"contact_id": ["c-1", "c-2", None],
                        "called_at": ["2026-03-08T10:00:00Z"] * 3,
                        "answered": [True, "false", False],
                        "duration_seconds": [None, 3.5, float("nan")]})
    new = call_log.validate(raw.copy(), now=NOW)
    old = reference(raw.copy(), now=NOW)
    pd.testing.assert_frame_equal(new.valid, old.valid)
    assert new.rejects["reject_reason"].tolist() == old.rejects["reject_reason"].tolist() \
        == ["bad_duration", "bad_duration"]


def _parquet_log(seed: int) -> bytes:
    """A log of every odd value as Parquet text columns, some values missing (null), in row
    groups of 700 rows: each row group has its own dictionaries."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = _log(3_000, seed).astype(object)
    raw.loc[raw.index % 7 == 0, "campaign_id"] = None
    raw.loc[raw.index % 11 == 0, "Contact_ID "] = None
    raw.loc[raw.index % 13 == 0, "answered"] = None
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(raw, preserve_index=False), buffer, row_group_size=700)
    return buffer.getvalue()


@pytest.mark.parametrize("seed", range(3))
def test_a_parquet_log_read_as_dictionaries_gets_what_pandas_gave(seed: int) -> None:
    """Text columns of a Parquet log are read as their dictionaries (each distinct value checked
    once; the trimmed values " c-1" and "c-1" one contact): the same rows, values and reasons
    as pandas gave the column read whole as text, nulls as empty."""
    import io

    import pyarrow as pa

    data = _parquet_log(seed)
    table = call_log.read_table(data)
    assert pa.types.is_dictionary(table.schema.field("Contact_ID ").type)
    assert not pa.types.is_dictionary(table.schema.field("called_at").type)
    valid, rejects, ignored = call_log.check_table(table, "Asia/Jerusalem", now=NOW)
    old = reference(call_log._as_text(pd.read_parquet(io.BytesIO(data))), "Asia/Jerusalem",
                    now=NOW)
    assert old.rejected_by_reason["duplicate"] > 0 and old.rejected_by_reason["missing_field"]
    pd.testing.assert_frame_equal(valid.to_pandas(), old.valid)
    pd.testing.assert_frame_equal(rejects, old.rejects)
    assert ignored == ["agent_note"]


def test_a_parquet_log_a_slice_at_a_time_gets_what_pandas_gave_each_slice() -> None:
    """As a partition worker reads it: slices of at most 1,000 rows of row groups of 700, each
    slice's rows as the oracle gives them (repeats across slices are the merge's to find)."""
    import io

    data = _parquet_log(5)
    whole = call_log._as_text(pd.read_parquet(io.BytesIO(data)))
    slices = list(call_log.read_slices(data, "p.parquet", 1_000))
    assert sum(s.num_rows for s in slices) == 3_000 and max(s.num_rows for s in slices) <= 1_000
    first = 0
    for piece in slices:
        valid, rejects, _ = call_log.check_table(piece, "Asia/Jerusalem", "p.parquet", now=NOW)
        rows = whole.iloc[first:first + piece.num_rows].reset_index(drop=True)
        rows.insert(0, "__source_row", np.arange(2, 2 + piece.num_rows) + first)
        first += piece.num_rows
        old = reference(rows, "Asia/Jerusalem", "p.parquet", now=NOW)
        pd.testing.assert_frame_equal(valid.to_pandas(), old.valid)
        pd.testing.assert_frame_equal(rejects, old.rejects)


def test_a_full_narrow_dictionary_reads_as_pandas_read_it() -> None:
    """A Parquet column written by Arrow with int8 indices and 128 values: the "" added for
    missing values does not fit int8 (it raised ArrowInvalid); read as the oracle reads it."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    contacts = pa.DictionaryArray.from_arrays(
        pa.array([*range(127), None, 0], pa.int8()),
        pa.array([f"c{i}" for i in range(128)]))
    buffer = io.BytesIO()
    pq.write_table(pa.table({"contact_id": contacts,
                             "called_at": ["2026-03-08T22:00:10Z"] * 129,
                             "answered": ["true"] * 129}), buffer)
    data = buffer.getvalue()
    valid, rejects, _ = call_log.check_table(call_log.read_table(data), now=NOW)
    old = reference(call_log._as_text(pd.read_parquet(io.BytesIO(data))), now=NOW)
    assert sorted(old.rejects["reject_reason"]) == ["duplicate", "missing_field"]
    pd.testing.assert_frame_equal(valid.to_pandas(), old.valid)
    pd.testing.assert_frame_equal(rejects, old.rejects)
