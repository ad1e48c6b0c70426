"""Request parsing for the endpoint: a body and its content type in, a validated request out.

Two request kinds (application/json):
  {"features": [[day_of_week, hour_of_day, previous_answer_rate, ...], ...]}, or one flat row
  {"features": [day_of_week, hour_of_day, previous_answer_rate, ...]}
      -> SeedRequest                       (the existing client's format; text/csv rows too)
  {"contacts": [{"contact_id", "timezone"?, "history": [...]}], "calling_window"?, "top_k"?,
   "as_of"?}
      -> SlotsRequest
Anything else raises `RequestError` naming the field and the problem; the handlers answer it as
an HTTP 4xx with {"error": <code>, "message": ...}. Imports only the standard library, numpy
and sibling shipped modules: it runs inside the serving container.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import zoneinfo
from dataclasses import dataclass
from typing import Any

import numpy as np

from inference_code.features import DAY_NAMES, DEFAULT_TIMEZONE, N_FEATURES, LocalCall, localize
from inference_code.ranking import DEFAULT_WINDOW, window_mask
from inference_code.time_zones import iana_zones

JSON = "application/json"
CSV = "text/csv"
# Limits that keep a request well inside the 4 MB serverless payload and about a second of work.
MAX_FEATURE_ROWS = 10_000
MAX_CONTACTS = 100
MAX_HISTORY = 1_000
MAX_CALLS = 30_000  # in all a request's histories: about 3 MB of JSON, inside the 4 MB below
MAX_TOP_K = 168
# A serverless endpoint takes request bodies up to 4 MB; a larger one is refused before parsing.
MAX_BODY_BYTES = 4 * 1024 * 1024
# Call times are plausible between these (as training's call-log contract rejects others);
# beyond them a time is a placeholder or a typo, and its local time may not exist.
EARLIEST, LATEST = (dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
_EARLIEST_EPOCH, _LATEST_EPOCH = EARLIEST.timestamp(), LATEST.timestamp()
SHOWN_CHARACTERS = 40  # of a client's value in an error message (and so in the logs)


class RequestError(ValueError):
    """A request the caller must fix; `status` is the HTTP status, `code` the response's
    "error" value (part of the endpoint's documented contract)."""

    code = "ClientError"

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class UnsupportedContentType(RequestError):
    """The body's content type is neither JSON nor CSV (HTTP 415)."""

    code = "UnsupportedContentType"

    def __init__(self, message: str) -> None:
        super().__init__(message, status=415)


@dataclass(frozen=True)
class Rejection:
    """A request refused before prediction; carried through predict_fn to output_fn."""

    error: str
    message: str
    status: int

    @classmethod
    def of(cls, err: RequestError) -> Rejection:
        return cls(err.code, str(err), err.status)


@dataclass(frozen=True)
class SeedRequest:
    rows: list[list[float]]  # 3..N_FEATURES values each; predict_fn fills the defaults


@dataclass(frozen=True)
class ContactRequest:
    contact_id: str
    zone: zoneinfo.ZoneInfo
    history: list[LocalCall]


@dataclass(frozen=True)
class SlotsRequest:
    contacts: list[ContactRequest]
    allowed: np.ndarray  # (7, 24) bool
    top_k: int
    as_of: float


def _reject_constant(name: str) -> None:
    raise RequestError(f"body: {name} is not a valid JSON number; send finite numbers only")


def shown(value: Any) -> str:
    """A client's value for an error message: its repr, cut to SHOWN_CHARACTERS (messages are
    logged; a 10,000-character value must not be)."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge integer"
    if len(text) <= SHOWN_CHARACTERS:
        return text
    return f"{text[:SHOWN_CHARACTERS]}... ({len(text):,} characters)"


def parse(body: bytes | str, content_type: str) -> SeedRequest | SlotsRequest:
    """Validate a request body; raise RequestError naming the field and the problem."""
    if len(body) > MAX_BODY_BYTES:
        raise RequestError(f"body: {len(body):,} bytes exceed the serverless endpoint's limit of "
                           f"{MAX_BODY_BYTES:,}; send fewer contacts or rows per request", 413)
    media = (content_type or "").split(";")[0].strip().lower()
    if isinstance(body, bytes | bytearray):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise RequestError(f"body: not UTF-8 text (byte {err.start})") from err
    if media == CSV:
        return _parse_csv(body)
    if media != JSON:
        raise UnsupportedContentType(f"content type {shown(content_type)} is not supported; use "
                                     f"{JSON} or {CSV}")
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise RequestError(f"body: malformed JSON at line {err.lineno} column {err.colno}: "
                          f"{err.msg}") from err
    except RecursionError as err:
        raise RequestError("body: JSON nested too deeply") from err
    except RequestError:  # NaN or Infinity, named by _reject_constant
        raise
    except ValueError as err:  # an integer of thousands of digits (int's conversion limit)
        raise RequestError("body: a number in the JSON has too many digits") from err
    if not isinstance(payload, dict):
        raise RequestError("body: expected a JSON object with 'features' or 'contacts'")
    if "features" in payload and "contacts" in payload:
        raise RequestError("body: send either 'features' or 'contacts', not both")
    if "features" in payload:
        return SeedRequest(_feature_rows(payload["features"], "features"))
    if "contacts" in payload:
        return _parse_slots(payload)
    raise RequestError("body: expected a JSON object with 'features' or 'contacts'")


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RequestError(f"{field}: expected a finite number, got {shown(value)}")
    return float(value)


def _feature_rows(rows: Any, field: str) -> list[list[float]]:
    """Rows `[[day, hour, rate, ...], ...]`, or ONE flat row `[day, hour, rate, ...]` (what the
    campaign's TypeScript client sends): a list of numbers is unambiguous, it is one row."""
    if not isinstance(rows, list) or not rows:
        raise RequestError(f"{field}: expected a non-empty list of feature rows")
    if not any(isinstance(value, list) for value in rows):
        return [_feature_row(rows, field)]
    if len(rows) > MAX_FEATURE_ROWS:
        raise RequestError(f"{field}: {len(rows):,} rows exceed the limit of {MAX_FEATURE_ROWS:,}")
    return [_feature_row(row, f"{field}[{i}]") for i, row in enumerate(rows)]


def _feature_row(row: Any, where: str) -> list[float]:
    if not isinstance(row, list) or not 3 <= len(row) <= N_FEATURES:
        raise RequestError(f"{where}: expected a list of 3 to {N_FEATURES} numbers "
                          "[day_of_week, hour_of_day, previous_answer_rate, ...]")
    values = [_number(v, f"{where}[{j}]") for j, v in enumerate(row)]
    if values[0] not in range(7):
        raise RequestError(f"{where}[0] (day_of_week): expected an integer 0..6 "
                          f"(0 = Sunday), got {shown(row[0])}")
    if values[1] not in range(24):
        raise RequestError(f"{where}[1] (hour_of_day): expected an integer 0..23, "
                          f"got {shown(row[1])}")
    if not 0 <= values[2] <= 1:
        raise RequestError(f"{where}[2] (previous_answer_rate): expected 0..1, "
                          f"got {shown(row[2])}")
    return values  # completed in predict_fn, which knows the model's feature parameters


def _parse_csv(text: str) -> SeedRequest:
    rows = []
    for i, line in enumerate(text.strip().splitlines()):
        if not line.strip():
            continue
        try:
            rows.append([float(v) for v in line.split(",")])
        except ValueError as err:
            raise RequestError(f"csv line {i + 1}: not a row of numbers") from err
    if not rows:
        raise RequestError("csv: no rows")
    return SeedRequest(_feature_rows(rows, "csv rows"))


class _BadTimestamp(ValueError):
    """What is wrong with a timestamp; the caller names its field."""


def _epoch(value: Any) -> float:
    """Seconds since the epoch of an ISO-8601 timestamp with a UTC offset, in range."""
    if not isinstance(value, str):
        raise _BadTimestamp(f"expected an ISO-8601 timestamp string, got {shown(value)}")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as err:
        raise _BadTimestamp(f"{shown(value)} is not an ISO-8601 timestamp") from err
    if parsed.tzinfo is None:
        raise _BadTimestamp(f"{shown(value)} has no UTC offset; add 'Z' or '+02:00'")
    try:
        epoch = parsed.timestamp()  # the instant, whatever the offset
    except (OverflowError, ValueError) as err:
        raise _BadTimestamp(_outside(value)) from err
    if not _EARLIEST_EPOCH <= epoch < _LATEST_EPOCH:  # 9999-12-31T23:00-05:00 too
        raise _BadTimestamp(_outside(value))
    return epoch


def _outside(value: str) -> str:
    return f"{shown(value)} is outside {EARLIEST:%Y-%m-%d} .. {LATEST:%Y-%m-%d}"


def _timestamp(value: Any, field: str) -> float:
    try:
        return _epoch(value)
    except _BadTimestamp as err:
        raise RequestError(f"{field}: {err}") from err


def _zone(value: Any, field: str) -> zoneinfo.ZoneInfo:
    if value is None:
        value = DEFAULT_TIMEZONE
    if not isinstance(value, str) or not value:
        raise RequestError(f"{field}: expected an IANA time zone name, got {shown(value)}")
    # Only names of the IANA list: "Asia" is a directory of the database, "../x" a path,
    # "localtime" the host's own zone.
    if value not in iana_zones():
        raise RequestError(f"{field}: unknown time zone {shown(value)}")
    try:
        return zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as err:
        raise RequestError(f"{field}: unknown time zone {shown(value)}") from err


def _window(value: Any) -> np.ndarray:
    if value is None:
        return window_mask(DEFAULT_WINDOW)
    if not isinstance(value, dict) or not value:
        raise RequestError("calling_window: expected an object of day -> [start_hour, end_hour] "
                          "with at least one day")
    window = {}
    for day, hours in value.items():
        if day not in DAY_NAMES:
            raise RequestError(f"calling_window: unknown day {shown(day)}; use one of "
                               f"{', '.join(DAY_NAMES)}")
        field = f"calling_window.{day}"
        if (not isinstance(hours, list) or len(hours) != 2
                or not all(isinstance(h, int) and not isinstance(h, bool) for h in hours)):
            raise RequestError(f"{field}: expected [start_hour, end_hour] integers")
        start, end = hours
        if not (0 <= start < end <= 24):
            raise RequestError(f"{field}: expected 0 <= start < end <= 24, "
                               f"got [{shown(start)}, {shown(end)}]")
        window[day] = (start, end)
    return window_mask(window)


def _parse_slots(payload: dict[str, Any]) -> SlotsRequest:
    contacts = payload["contacts"]
    if not isinstance(contacts, list) or not contacts:
        raise RequestError("contacts: expected a non-empty list")
    if len(contacts) > MAX_CONTACTS:
        raise RequestError(f"contacts: {len(contacts):,} contacts exceed the limit of"
                           f" {MAX_CONTACTS:,} per request")
    top_k = payload.get("top_k", 3)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise RequestError(f"top_k: expected an integer 1..{MAX_TOP_K}, got {shown(top_k)}")
    as_of = (_timestamp(payload["as_of"], "as_of") if payload.get("as_of") is not None
             else time.time())
    calls = sum(len(c["history"]) for c in contacts
                if isinstance(c, dict) and isinstance(c.get("history"), list))
    if calls > MAX_CALLS:
        raise RequestError(f"contacts: {calls:,} history calls in all exceed the limit of "
                           f"{MAX_CALLS:,} per request")
    parsed = [_contact(c, f"contacts[{i}]") for i, c in enumerate(contacts)]
    return SlotsRequest(parsed, _window(payload.get("calling_window")), top_k, as_of)


def _contact(value: Any, field: str) -> ContactRequest:
    if not isinstance(value, dict):
        raise RequestError(f"{field}: expected an object")
    contact_id = value.get("contact_id")
    if not isinstance(contact_id, str) or not contact_id:
        raise RequestError(f"{field}.contact_id: expected a non-empty string")
    zone = _zone(value.get("timezone"), f"{field}.timezone")
    history = value.get("history", [])
    if not isinstance(history, list):
        raise RequestError(f"{field}.history: expected a list of calls")
    if len(history) > MAX_HISTORY:
        raise RequestError(f"{field}.history: {len(history):,} calls exceed the limit of "
                          f"{MAX_HISTORY:,} per contact")
    calls = []
    # Each call's field name is spelled only when it is wrong: up to 1,000 calls a contact.
    for j, call in enumerate(history):
        if not isinstance(call, dict):
            raise RequestError(f"{field}.history[{j}]: expected an object")
        try:
            epoch = _epoch(call.get("called_at"))
        except _BadTimestamp as err:
            raise RequestError(f"{field}.history[{j}].called_at: {err}") from err
        answered = call.get("answered")
        if not isinstance(answered, bool):
            raise RequestError(f"{field}.history[{j}].answered: expected true or false, "
                               f"got {shown(answered)}")
        if call.get("duration_seconds") is not None:
            where = f"{field}.history[{j}].duration_seconds"
            duration = _number(call["duration_seconds"], where)
            if duration < 0:
                raise RequestError(f"{where}: must be >= 0, got {duration}")
        dow, hour, day = localize(epoch, zone)
        calls.append(LocalCall(epoch, dow, hour, day, answered))
    calls.sort(key=lambda c: c.epoch)
    return ContactRequest(contact_id, zone, calls)
