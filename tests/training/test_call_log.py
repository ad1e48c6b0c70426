"""The call-log contract: every rejection reason is counted and kept; refusals name the cause."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest

from training import call_log
from training.call_log import InvalidCallLog

HEADER = "contact_id,called_at,answered,duration_seconds,campaign_id,timezone,crm_note\n"
GOOD = [
    "c-1,2026-05-03T07:15:00Z,true,35,spring,Asia/Jerusalem,x",
    "c-1,2026-05-04T16:00:00+03:00,no,0,spring,,",
    "c-2,2026-05-03T18:00:00Z,YES,12,spring,America/New_York,",
    "c-2,2026-05-05T18:00:00.5Z,0,,spring,America/New_York,",
]
BAD = {
    "missing_field": ",2026-05-03T07:15:00Z,true,1,spring,Asia/Jerusalem,",
    "unparseable_timestamp": "c-3,2026-05-03 7pm,true,1,spring,Asia/Jerusalem,",
    "implausible_timestamp": "c-3,9999-12-31T23:30:00Z,true,1,spring,Asia/Jerusalem,",
    "unknown_timezone": "c-3,2026-05-03T07:15:00Z,true,1,spring,Mars/Olympus_Mons,",
    "bad_answered": "c-3,2026-05-03T08:15:00Z,maybe,1,spring,Asia/Jerusalem,",
    "bad_duration": "c-3,2026-05-03T09:15:00Z,true,long,spring,Asia/Jerusalem,",
    "negative_duration": "c-3,2026-05-03T10:15:00Z,true,-4,spring,Asia/Jerusalem,",
    "duplicate": "c-1,2026-05-03T10:15:00+03:00,false,0,spring,Asia/Jerusalem,",
}


def _csv(rows: list[str]) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode()


def test_each_reason_is_counted_and_the_row_kept_with_its_source_row() -> None:
    result = call_log.load(_csv(GOOD + list(BAD.values())))
    assert len(result.valid) == len(GOOD)
    assert result.rejected_by_reason == {reason: 1 for reason in call_log.REJECT_REASONS}
    by_reason = result.rejects.set_index("reject_reason")
    for i, (reason, line) in enumerate(BAD.items()):
        row = by_reason.loc[reason]
        assert row["source_row"] == len(GOOD) + i + 2  # 1-based, after the header
        assert row["contact_id"] == line.split(",")[0]  # the original values are kept
    assert len(result.valid) + len(result.rejects) == len(GOOD) + len(BAD)


@pytest.mark.parametrize("duration", ["long", "inf", "-inf", "nan", "1e999", "Infinity"])
def test_a_duration_that_is_no_finite_number_is_a_bad_duration(duration: str) -> None:
    """docs/call-log.md: `bad_duration` when the value is not a finite number."""
    result = call_log.load(_csv([*GOOD, f"c-3,2026-05-03T09:15:00Z,true,{duration},s,,"]))
    assert result.rejected_by_reason.get("bad_duration") == 1, result.rejected_by_reason
    assert len(result.valid) == len(GOOD)


def test_timestamp_without_offset_is_rejected_not_guessed() -> None:
    result = call_log.load(_csv([*GOOD, "c-4,2026-05-03T07:15:00,true,1,x,Asia/Jerusalem,"]))
    assert result.rejected_by_reason["unparseable_timestamp"] == 1


@pytest.mark.parametrize(("called_at", "plausible"), [
    ("9999-12-31T23:30:00Z", False), ("2999-01-01T00:00:00Z", False),
    ("0001-01-01T00:00+05:00", False), ("1999-12-31T23:59:59Z", False),
    ("2000-01-01T00:00:00Z", True), ("2026-06-02T11:00:00Z", True),  # now + 23 h
    ("2026-06-02T14:00:00+01:00", False),  # now + 25 h
])
def test_times_before_2000_or_past_tomorrow_are_rejected_by_reason(called_at: str,
                                                                   plausible: bool) -> None:
    result = call_log.validate(
        call_log.read_raw(_csv([*GOOD, f"c-9,{called_at},true,1,x,Asia/Jerusalem,"])),
        now=pd.Timestamp("2026-06-01T12:00:00Z"))
    assert result.rejected_by_reason["implausible_timestamp"] == (0 if plausible else 1)
    assert len(result.valid) == len(GOOD) + plausible


def test_a_log_of_only_far_future_calls_is_refused_by_name_not_a_traceback() -> None:
    data = _csv([f"c-{i},2999-01-0{1 + i % 9}T10:00:00Z,{i % 2},1,x,UTC," for i in range(50)])
    with pytest.raises(InvalidCallLog, match="'implausible_timestamp': 50"):
        call_log.check_trainable(call_log.load(data), 10)


def test_values_are_parsed_and_extra_columns_listed() -> None:
    result = call_log.load(_csv(GOOD))
    assert result.ignored_columns == ["crm_note"]
    valid = result.valid.set_index(["contact_id", "called_at"]).sort_index()
    assert valid["answered"].tolist() == [True, False, True, False]
    # An offset timestamp is the same instant in UTC.
    assert pd.Timestamp("2026-05-04T13:00:00Z") in valid.loc["c-1"].index
    # A blank timezone takes the default setting.
    assert set(result.valid["timezone"]) == {"Asia/Jerusalem", "America/New_York"}
    assert result.valid["duration_seconds"].isna().sum() == 1


def test_default_timezone_is_a_setting() -> None:
    result = call_log.load(_csv(GOOD), default_timezone="Europe/London")
    assert (result.valid.loc[result.valid["contact_id"] == "c-1", "timezone"]
            == ["Asia/Jerusalem", "Europe/London"]).all()


def test_the_same_call_exported_twice_keeps_the_first() -> None:
    result = call_log.load(_csv([*GOOD, GOOD[0]]))
    assert result.rejected_by_reason["duplicate"] == 1
    assert result.rejects["source_row"].tolist() == [len(GOOD) + 2]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "is empty"),
    (b"   \n\n", "is empty"),
    (HEADER.encode(), "has a header but no rows"),
    (b"contact,when,picked_up\nc-1,2026-05-03T07:15:00Z,true\n",
     "missing required column(s) 'contact_id', 'called_at', 'answered'"),
    (b"contact_id,called_at\nc-1,2026-05-03T07:15:00Z\n", "missing required column(s) 'answered'"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "contains binary data"),
    (b"contact_id,called_at,answered\n\xff\xfe,x,y\n", "is not UTF-8 text"),
    (b"PAR1 this is not really parquet PAR1", "is not a readable Parquet file"),
    # Names that differ only in case, or repeat exactly (pandas would read 'answered.1').
    (b"contact_id,called_at,answered,ANSWERED\nc-1,2026-05-03T07:15:00Z,true,false\n",
     "columns that repeat (names differ only in case or spacing): 'answered', 'ANSWERED'"),
    (b"contact_id,called_at,answered,answered\nc-1,2026-05-03T07:15:00Z,true,false\n",
     "columns that repeat (names differ only in case or spacing): 'answered', 'answered'"),
])
def test_refuses_what_is_not_a_call_log(data: bytes, message: str) -> None:
    with pytest.raises(InvalidCallLog) as err:
        call_log.load(data, name="calls.csv")
    assert message in str(err.value)
    assert "calls.csv" in str(err.value)


def test_refuses_too_few_valid_rows_and_says_what_was_rejected() -> None:
    result = call_log.load(_csv([*GOOD, BAD["bad_answered"]]))
    pattern = r"only 4 valid rows .* at least 500 .*'bad_answered': 1"
    with pytest.raises(InvalidCallLog, match=pattern):
        call_log.check_trainable(result, min_valid_rows=500, name="log")


@pytest.mark.parametrize("value", ["true", "false"])
def test_refuses_a_single_class(value: str) -> None:
    rows = [f"c-{i},2026-05-03T{i % 24:02d}:00:00Z,{value},1,x,Asia/Jerusalem," for i in range(30)]
    result = call_log.load(_csv(rows))
    with pytest.raises(InvalidCallLog, match=f"all 30 valid rows have answered={value}"):
        call_log.check_trainable(result, min_valid_rows=10)


def test_parquet_with_typed_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "contact_id": ["c-1", "c-1", "c-2"],
        "called_at": pd.to_datetime(["2026-05-03T07:15:00Z", "2026-05-04T07:15:00Z",
                                     "2026-05-04T07:15:00Z"], utc=True),
        "answered": [True, False, True],
        "duration_seconds": [3.0, None, -1.0],
    })
    path = tmp_path / "calls.parquet"
    frame.to_parquet(path)
    result = call_log.load(path)
    assert len(result.valid) == 2
    assert result.rejected_by_reason["negative_duration"] == 1
    naive = frame.assign(called_at=frame["called_at"].dt.tz_localize(None))
    buffer = io.BytesIO()
    naive.to_parquet(buffer)
    assert call_log.load(buffer.getvalue()).rejected_by_reason["unparseable_timestamp"] == 3


def test_column_names_are_matched_case_insensitively_and_every_spelling_of_answered() -> None:
    words = sorted(call_log.TRUE_WORDS) + sorted(call_log.FALSE_WORDS)
    rows = [f"c-{i}, 2026-05-0{1 + i % 9}T10:00:00Z ,{word.upper() if i % 2 else word}"
            for i, word in enumerate(words)]
    result = call_log.load(("Contact_ID,CALLED_AT, Answered \n" + "\n".join(rows)).encode())
    assert result.rejected_by_reason == dict.fromkeys(call_log.REJECT_REASONS, 0)
    answered = result.valid.set_index("contact_id")["answered"]
    assert [bool(answered[f"c-{i}"]) for i in range(len(words))] == \
        [w in call_log.TRUE_WORDS for w in words]
    assert {"t", "f", "y", "n"} <= call_log.TRUE_WORDS | call_log.FALSE_WORDS


def test_repeated_columns_are_refused_in_parquet_and_in_slices_too() -> None:
    buffer = io.BytesIO()
    frame = pd.DataFrame([["c-1", "2026-05-03T07:15:00Z", "true", "x"]],
                         columns=["contact_id", "called_at", "answered", "Contact_ID "])
    frame.to_parquet(buffer, index=False)
    for read in (lambda d: call_log.load(d, name="p.parquet"),
                 lambda d: list(call_log.read_slices(d, "p.parquet", 100))):
        with pytest.raises(InvalidCallLog, match="'contact_id', 'Contact_ID '"):
            read(buffer.getvalue())
    csv = b"contact_id,called_at,answered,Answered\nc-1,2026-05-03T07:15:00Z,true,true\n"
    with pytest.raises(InvalidCallLog, match="repeat"):
        list(call_log.read_slices(csv, "c.csv", 100))


def test_refuses_a_log_of_too_few_contacts_to_learn_from() -> None:
    """One contact's calls cannot be cross-fitted over contacts (a fold would be empty) nor
    say when people answer: refused by name, before the fit crashes."""
    rows = [f"only-one,2026-05-{1 + i // 24:02d}T{i % 24:02d}:00:00Z,{'true' if i % 3 else 'false'}"
            f",1,x,Asia/Jerusalem," for i in range(600)]
    result = call_log.load(_csv(rows))
    with pytest.raises(InvalidCallLog, match=r"only 1 contact\(s\); training needs at least"):
        call_log.check_trainable(result, min_valid_rows=500, name="log")


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "posix/Asia/Jerusalem"])
def test_a_zone_outside_the_iana_list_is_rejected_not_read_from_the_host(zone: str) -> None:
    """'localtime' is the host's zone and 'Factory' the database's placeholder: a local time
    must not depend on the machine, so only the IANA list the artifact ships counts."""
    rows = [*GOOD, f"c-9,2026-05-03T07:15:00Z,true,1,x,{zone},"]
    result = call_log.load(_csv(rows))
    assert result.rejected_by_reason["unknown_timezone"] == 1
    with pytest.raises(InvalidCallLog, match="is not an IANA time zone"):
        call_log.load(_csv(GOOD), default_timezone=zone)


@pytest.mark.parametrize(("data", "said"), [
    (b"\x1f\x8b\x08\x00" + bytes(64), "is gzip-compressed: decompress it (gunzip)"),
    ("contact_id,called_at,answered\n".encode("utf-16"), "is UTF-16 text: export the call "
                                                          "log as UTF-8 CSV"),
    (b"PK\x03\x04" + bytes(64), "is a zip archive"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "contains binary data: upload the call log as UTF-8"),
])
def test_a_binary_upload_says_what_it_is_and_what_to_do(data: bytes, said: str) -> None:
    with pytest.raises(InvalidCallLog, match=re.escape(said)):
        call_log.load(data, name="calls.csv")
