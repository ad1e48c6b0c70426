"""The call-log contract: read a CSV or Parquet log, keep the valid rows, count and keep the rest.

Every row ends up in exactly one place: the valid frame or the rejects frame (with its reason and
its 1-based row number in the source). A file that is not a call log at all is refused with
`InvalidCallLog`, whose message names the cause.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from inference_code.features import DEFAULT_TIMEZONE
from inference_code.time_zones import iana_zones
from training import call_validation

REQUIRED_COLUMNS = ("contact_id", "called_at", "answered")
OPTIONAL_COLUMNS = ("duration_seconds", "campaign_id", "timezone")
REJECT_REASONS = ("missing_field", "unparseable_timestamp", "implausible_timestamp",
                  "unknown_timezone", "bad_answered", "bad_duration", "negative_duration",
                  "duplicate")
# A call before this, or later than the validation's time plus FUTURE_TOLERANCE (clock skew between
# the dialer and this run), is a corrupt or placeholder time (9999-12-31, 0001-01-01), not a call.
EARLIEST_CALL = pd.Timestamp("2000-01-01T00:00:00Z")
FUTURE_TOLERANCE = pd.Timedelta(days=1)
TRUE_WORDS = frozenset({"true", "1", "yes", "t", "y"})
FALSE_WORDS = frozenset({"false", "0", "no", "f", "n"})
# ISO-8601 date and time with an explicit offset or Z; the offset is what makes local time knowable.
_ISO_WITH_OFFSET = (r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
                    r"(Z|z|[+-]\d{2}(:?\d{2})?)$")


_FILE, _ROW = "__source_file", "__source_row"


class InvalidCallLog(ValueError):
    """The input cannot be trained on; the message says why. (Name is part of the contract.)"""


@dataclass
class ValidationResult:
    valid: pd.DataFrame  # contact_id, called_at (UTC), answered, duration_seconds, campaign_id,
    #                      timezone, source_row
    rejects: pd.DataFrame  # the source columns as read, plus source_row and reject_reason
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def rejected_by_reason(self) -> dict[str, int]:
        counts = Counter(self.rejects["reject_reason"]) if len(self.rejects) else Counter()
        return {reason: int(counts.get(reason, 0)) for reason in REJECT_REASONS}

    def summary(self) -> dict[str, object]:
        return {"rows_read": len(self.valid) + len(self.rejects), "rows_valid": len(self.valid),
                "rows_rejected": len(self.rejects), "rejected_by_reason": self.rejected_by_reason,
                "ignored_columns": self.ignored_columns}


def known_timezones() -> frozenset[str]:
    """The IANA list the artifact ships (inference_code/time_zones.py): the endpoint's own."""
    return iana_zones()


def check_header(columns: Iterable[object], name: str) -> None:
    """Refuse columns whose names repeat once case and spacing are set aside: the contract
    matches names case-insensitively, so `answered` and `ANSWERED` would be one column (and
    pandas reads a repeated name as `answered.1`, silently)."""
    seen: dict[str, str] = {}
    for column in columns:
        text = str(column)
        key = text.strip().lower()
        if key in seen:
            raise InvalidCallLog(f"{name} has columns that repeat (names differ only in case or "
                                 f"spacing): {seen[key]!r}, {text!r}; keep one")
        seen[key] = text


def _csv_header(text: str) -> list[str]:
    first = next(csv.reader(io.StringIO(text.split("\n", 1)[0]), skipinitialspace=True), [])
    return first


def read_table(source: Path | bytes, name: str = "call log") -> pa.Table:
    """Read a CSV or Parquet log as Arrow (Parquet columns as typed, CSV as text), refusing
    what is not one."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    _check_bytes(data, name)
    if data[:4] == b"PAR1":
        try:
            table = _parquet(data).read()
        except Exception as err:  # pyarrow raises several unrelated types for corrupt files
            raise InvalidCallLog(f"{name} is not a readable Parquet file: {err}") from err
        check_header(table.column_names, name)
        return table
    text = _text(data, name)
    check_header(_csv_header(text), name)
    try:
        return pa.Table.from_pandas(pd.read_csv(io.StringIO(text), **_CSV_OPTIONS),
                                    preserve_index=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InvalidCallLog(f"{name} is not a readable CSV: {err}") from err


def _parquet(data: bytes) -> pq.ParquetFile:
    """A Parquet log, its text columns read as their dictionaries (a log repeats its contacts,
    answers, zones and campaigns: each distinct value is then read and checked once), but for
    the call times (about one per call)."""
    schema = pq.ParquetFile(pa.BufferReader(data)).schema_arrow
    repeated = [f.name for f in schema
                if (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
                and str(f.name).strip().lower() != "called_at"]
    return pq.ParquetFile(pa.BufferReader(data), read_dictionary=repeated)


def read_raw(source: Path | bytes, name: str = "call log") -> pd.DataFrame:
    """Read a CSV or Parquet log as strings (typed Parquet columns as a CSV would hold them),
    refusing what is not one."""
    return text_frame(read_table(source, name))


def read_slices(data: bytes, name: str, rows: int) -> Iterator[pa.Table]:
    """The log `read_raw` reads, `rows` at a time (Parquet record batches as Arrow reads them,
    typed columns and all; CSV chunks as text), each slice carrying its rows' 1-based source
    row numbers: what a worker holding one slice at a time validates (`check_table`).
    Refusals are read_raw's; one in a later slice comes after earlier slices."""
    _check_bytes(data, name)
    if data[:4] == b"PAR1":
        try:
            parquet = _parquet(data)
            check_header(parquet.schema_arrow.names, name)
            # one thread: a worker is one of many the Map runs; threads would only add CPU
            batches = parquet.iter_batches(batch_size=rows, use_threads=False)
            yield from _numbered((pa.Table.from_batches([b]) for b in batches), name)
        except InvalidCallLog:
            raise
        except Exception as err:  # pyarrow raises several unrelated types for corrupt files
            raise InvalidCallLog(f"{name} is not a readable Parquet file: {err}") from err
        return
    text = _text(data, name)
    check_header(_csv_header(text), name)
    try:
        chunks = pd.read_csv(io.StringIO(text), chunksize=rows, **_CSV_OPTIONS)
        yield from _numbered((pa.Table.from_pandas(c, preserve_index=False) for c in chunks),
                             name)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InvalidCallLog(f"{name} is not a readable CSV: {err}") from err


_CSV_OPTIONS: dict[str, Any] = {"dtype": str, "keep_default_na": False,
                                "skipinitialspace": True}


def _numbered(tables: Iterable[pa.Table], name: str) -> Iterator[pa.Table]:
    first = 2  # the header is row 1
    seen = False
    for table in tables:
        if not table.num_rows and seen:
            continue
        seen = True
        numbers = pa.array(np.arange(first, first + table.num_rows, dtype=np.int64))
        first += table.num_rows
        yield table.add_column(0, _ROW, numbers)
    if not seen:
        raise InvalidCallLog(f"{name} has a header but no rows")


# What binary data most often is, and what to do about it.
_KNOWN_BINARY = ((b"\x1f\x8b", "is gzip-compressed: decompress it (gunzip) and upload the CSV"),
                 (b"PK\x03\x04", "is a zip archive (or an Excel workbook): upload the CSV or "
                                 "Parquet file it holds"),
                 (b"\xff\xfe", "is UTF-16 text: export the call log as UTF-8 CSV"),
                 (b"\xfe\xff", "is UTF-16 text: export the call log as UTF-8 CSV"))


def _check_bytes(data: bytes, name: str) -> None:
    if not data.strip():
        raise InvalidCallLog(f"{name} is empty: no header and no rows")
    if data[:4] != b"PAR1" and b"\x00" in data[:65536]:
        said = next((what for magic, what in _KNOWN_BINARY if data.startswith(magic)),
                    "contains binary data: upload the call log as UTF-8 CSV or Parquet")
        raise InvalidCallLog(f"{name} is not a CSV or Parquet call log: it {said}")


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidCallLog(f"{name} is not UTF-8 text (byte {err.start}); "
                             "export the call log as UTF-8 CSV or Parquet") from err


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed Parquet columns as the strings a CSV would hold."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            text = values.map(lambda v: "" if pd.isna(v) else v.isoformat())
        elif pd.api.types.is_datetime64_any_dtype(values):
            # A zone-less timestamp cannot be placed in local time: keep it without an offset so
            # validation rejects it as unparseable rather than guessing a zone.
            text = values.map(lambda v: "" if pd.isna(v) else v.isoformat())
        elif pd.api.types.is_bool_dtype(values):
            text = values.map(lambda v: "" if pd.isna(v) else str(bool(v)).lower())
        else:
            # pandas' nullable columns (Int64, boolean, string) hold pd.NA where a value is
            # missing: empty, as a CSV holds it, not the text "<NA>" (a bad duration)
            text = values.map(lambda v: "" if v is None or v is pd.NA
                              or (isinstance(v, float) and np.isnan(v)) else str(v))
        out[str(column)] = text.astype(str)
    return out


def validate(raw: pd.DataFrame, default_timezone: str = DEFAULT_TIMEZONE,
             name: str = "call log", now: pd.Timestamp | None = None) -> ValidationResult:
    """Split a raw log into valid rows and counted, kept rejects. `now` (default: the clock)
    bounds the latest plausible call time."""
    valid, rejects, ignored = check_table(
        pa.Table.from_pandas(_as_strings(raw), preserve_index=False), default_timezone, name,
        now)
    return ValidationResult(valid=valid.to_pandas(), rejects=rejects, ignored_columns=ignored)


def _as_strings(raw: pd.DataFrame) -> pd.DataFrame:
    """A frame's columns as the text the contract reads (`str(value)`, as ever: a missing value
    is "nan" or "None", not empty), its source-row numbers as they are; text columns without
    missing values untouched."""
    columns = {}
    for name in raw.columns:
        column = raw[name]
        text = pd.api.types.is_string_dtype(column.dtype) and not column.isna().any() and (
            column.dtype != object or pd.api.types.infer_dtype(column) == "string")
        columns[name] = column if text or name == _ROW else column.map(str).astype(str)
    return pd.DataFrame(columns, index=raw.index)


VALID_SCHEMA = pa.schema([("contact_id", pa.large_string()),
                          ("called_at", pa.timestamp("ns", tz="UTC")),
                          ("answered", pa.bool_()), ("duration_seconds", pa.float64()),
                          ("campaign_id", pa.large_string()), ("timezone", pa.large_string()),
                          ("source_row", pa.int64())])


_FEW = pa.dictionary(pa.int32(), pa.large_string())


def check_table(table: pa.Table, default_timezone: str = DEFAULT_TIMEZONE,
                name: str = "call log", now: pd.Timestamp | None = None,
                arrange: Callable[[pa.Array], np.ndarray] | None = None,
                few_as_dictionaries: bool = False
                ) -> tuple[pa.Table, pd.DataFrame, list[str]]:
    """`validate` on an Arrow table, column-wise (training/call_validation.py): the valid rows
    as an Arrow table (VALID_SCHEMA), the rejects (the source columns as text, their row and
    reason) and the ignored columns' names. `arrange(contact ids)` orders the valid rows (a
    permutation of them), in the one pass that gathers them. `few_as_dictionaries`: the campaign
    and zone columns (a log has a few of each) as dictionaries of those types, as a partition
    worker writes them."""
    source = table  # typed columns become text as read, under their own names (`_text_column`)
    position = {str(c).strip().lower(): i for i, c in enumerate(table.column_names)}
    table = table.rename_columns([str(c).strip().lower() for c in table.column_names])
    names = table.column_names
    # Logs read from several files carry where each row came from (see load_parts).
    source_file = table.column(_FILE) if _FILE in names else None
    given_rows = table.column(_ROW) if _ROW in names else None
    raw = table.drop_columns([c for c in (_FILE, _ROW) if c in names])
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.column_names]
    if missing:
        found = ", ".join(repr(c) for c in raw.column_names[:12]) or "none"
        raise InvalidCallLog(f"{name} is missing required column(s) "
                             f"{', '.join(repr(c) for c in missing)}; found columns: {found}")
    if raw.num_rows == 0:
        raise InvalidCallLog(f"{name} has a header but no rows")
    if default_timezone not in known_timezones():
        raise InvalidCallLog(f"default timezone {default_timezone!r} is not an IANA time zone")
    ignored = [c for c in raw.column_names if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    columns = {c: _text_column(source, position[c]) for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS
               if c in raw.column_names}
    latest = (now if now is not None else pd.Timestamp.now(tz="UTC")) + FUTURE_TOLERANCE
    checked = call_validation.check(
        columns, raw.num_rows, default_timezone, known_timezones(), EARLIEST_CALL.value,
        latest.as_unit("ns").value, _ISO_WITH_OFFSET, TRUE_WORDS, FALSE_WORDS,
        REJECT_REASONS)
    source_row = (np.asarray(given_rows.to_numpy(), dtype=np.int64) if given_rows is not None
                  else np.arange(2, raw.num_rows + 2, dtype=np.int64))  # header: row 1
    ok = checked.reason == 0
    rows = np.flatnonzero(ok)
    if arrange is not None:
        rows = rows[arrange(checked.contact.take(pa.array(rows)))]
    keep = pa.array(rows)

    def few(values: pa.Array) -> pa.Array:
        values = values.take(keep)
        if few_as_dictionaries:
            return (values if pa.types.is_dictionary(values.type) else
                    pc.dictionary_encode(values)).cast(_FEW)
        return values.cast(pa.large_string())

    columns = [
        checked.contact.take(keep).cast(pa.large_string()),
        pa.array(checked.called_at[rows], pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
        pa.array(checked.answered[rows]),
        pa.array(checked.duration[rows], pa.float64()),
        few(checked.campaign), few(checked.zone), pa.array(source_row[rows])]
    valid = pa.table(columns, schema=VALID_SCHEMA if not few_as_dictionaries else pa.schema(
        [f.with_type(_FEW) if f.name in ("campaign_id", "timezone") else f
         for f in VALID_SCHEMA]))
    dropped = np.flatnonzero(~ok)
    # the source columns as text, each typed column converted whole, as it always was
    texts = pa.table({c: columns[c] if c in columns else _text_column(source, position[c])
                      for c in raw.column_names})
    rejects = text_frame(texts.take(pa.array(dropped)))
    rejects.insert(0, "source_row", source_row[dropped])
    named = np.array(("", *REJECT_REASONS), dtype=object)[checked.reason[dropped]]
    rejects.insert(1, "reject_reason", pd.Series(named, dtype=object))
    if source_file is not None:
        rejects.insert(0, "source_file", np.asarray(source_file.take(pa.array(dropped))
                                                    .to_pylist(), dtype=object))
    return valid, rejects, ignored


def text_frame(rows: pa.Table) -> pd.DataFrame:
    """Rows' source columns as text: text as it is (absent values empty), typed columns as
    `_as_text` writes them."""
    rows = call_validation.decoded(rows)
    text = [c for c in rows.column_names
            if pa.types.is_string(rows.schema.field(c).type)
            or pa.types.is_large_string(rows.schema.field(c).type)]
    frame = rows.to_pandas()
    for column in text:
        frame[column] = frame[column].fillna("")
    typed = [c for c in rows.column_names if c not in text]
    if typed:
        frame[typed] = _as_text(frame[typed])
    return frame


def _is_text(type_: pa.DataType) -> bool:
    return pa.types.is_string(type_) or pa.types.is_large_string(type_)


def _text_column(table: pa.Table, index: int) -> pa.Array:
    """A source column as the text the contract reads: text as it is; a typed Parquet column as
    the strings a CSV would hold (`_as_text` of it as pandas reads it, the file's pandas
    metadata applied, as the log was always read)."""
    column = table.column(index)
    if _is_text(column.type) or (pa.types.is_dictionary(column.type)
                                 and _is_text(column.type.value_type)):
        return call_validation.one_array(column)  # a dictionary: read as its dictionary
    frame = _as_text(table.select([index]).to_pandas())
    return pa.array(frame.iloc[:, 0].to_numpy(dtype=object), pa.large_string())


# The features are cross-fitted over contacts and the archetypes learned across them: fewer
# contacts than this cannot make a model that says when *people* answer (one contact's log left
# a cross-fitting fold empty and crashed the fit).
MIN_CONTACTS = 10


def check_trainable(result: ValidationResult, min_valid_rows: int,
                    name: str = "call log") -> None:
    """Refuse to train on what cannot make a model, naming the cause."""
    check_counts(len(result.valid), int(result.valid["answered"].sum()),
                 result.rejected_by_reason, min_valid_rows, name,
                 contacts=int(result.valid["contact_id"].nunique()))


def check_counts(valid: int, answered: int, rejected_by_reason: dict[str, int],
                 min_valid_rows: int, name: str = "call log", note: str = "",
                 contacts: int | None = None) -> None:
    """check_trainable on counts alone (the scale-out path holds no log whole); `note` is
    added to the too-few-rows message."""
    if valid < min_valid_rows:
        rejected = {k: v for k, v in rejected_by_reason.items() if v}
        raise InvalidCallLog(
            f"{name} has only {valid} valid rows after validation; training needs at least "
            f"{min_valid_rows} (rejected rows by reason: {rejected or 'none'}{note})")
    if answered in (0, valid):
        value = "true" if answered else "false"
        raise InvalidCallLog(
            f"{name}: all {valid} valid rows have answered={value}; the model needs both "
            "answered and unanswered calls")
    if contacts is not None and contacts < MIN_CONTACTS:
        raise InvalidCallLog(
            f"{name} has {valid} valid rows of only {contacts} contact(s); training needs at "
            f"least {MIN_CONTACTS} contacts (it learns when people answer across contacts, and "
            "cross-fits its features over them)")


def load_parts(parts: list[tuple[str, bytes]],
               default_timezone: str = DEFAULT_TIMEZONE) -> ValidationResult:
    """One log from several files (e.g. the parts under an S3 prefix), validated together so
    duplicates across files are found; rejects name their file and row."""
    if not parts:
        raise InvalidCallLog("no call-log files were given")
    tables = []
    for name, data in parts:
        source = read_table(data, name)
        raw = source.rename_columns([str(c).strip().lower() for c in source.column_names])
        missing = [c for c in REQUIRED_COLUMNS if c not in raw.column_names]
        if missing:
            raise InvalidCallLog(f"{name} is missing required column(s) "
                                 f"{', '.join(repr(c) for c in missing)}")
        # as text, so parts whose columns differ in type join (a column a part lacks is empty)
        columns = {_FILE: pa.repeat(pa.scalar(name, pa.large_string()), raw.num_rows),
                   _ROW: pa.array(np.arange(2, raw.num_rows + 2, dtype=np.int64)),
                   **{c: _text_column(source, i).cast(pa.large_string())
                      for i, c in enumerate(raw.column_names)}}
        tables.append(pa.table(columns))
    combined = pa.concat_tables(tables, promote_options="default")
    label = parts[0][0] if len(parts) == 1 else f"{len(parts)} call-log files"
    valid, rejects, ignored = check_table(combined, default_timezone, label)
    return ValidationResult(valid=valid.to_pandas(), rejects=rejects, ignored_columns=ignored)


def load(source: Path | bytes, default_timezone: str = DEFAULT_TIMEZONE,
         name: str | None = None) -> ValidationResult:
    label = name or (str(source) if isinstance(source, Path) else "call log")
    valid, rejects, ignored = check_table(read_table(source, label), default_timezone, label)
    return ValidationResult(valid=valid.to_pandas(), rejects=rejects, ignored_columns=ignored)


def part_digest(name: str, data: bytes) -> str:
    """A part's fingerprint: the sha256 of its name and bytes."""
    return hashlib.sha256(name.encode() + b"\0" + data).hexdigest()


def log_fingerprint(part_digests: Iterable[str]) -> str:
    """A whole log's fingerprint from its parts' digests, in order: the same for the same
    parts whichever path (one function or the scale-out) reads them."""
    return hashlib.sha256("".join(part_digests).encode()).hexdigest()
