"""SageMaker scikit-learn container handlers: model_fn, input_fn, predict_fn, output_fn.

Shipped as `code/inference.py` in model.tar.gz beside `code/training/` (the shared feature,
forest and ranking modules). Imports only the standard library, numpy and those modules.

Two request kinds (application/json):
  {"features": [[day_of_week, hour_of_day, previous_answer_rate, ...], ...]}
      -> {"predictions": [p, ...]}         (the existing client's format; text/csv rows too)
  {"contacts": [{"contact_id", "timezone"?, "history": [...]}], "calling_window"?, "top_k"?,
   "as_of"?}
      -> {"recommendations": [{"contact_id", "slots": [{"day", "hour", "answer_probability"}]}]}
Bad input becomes a `Rejection` naming the field; output_fn turns it into an HTTP 400 (415 for an
unsupported content type, 406 for an unsupported accept) with a JSON body
{"error": "<ExceptionName>", "message": "..."}. Handlers do not raise for bad input because the
SageMaker container turns any exception from a handler into an HTTP 500.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import time
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.features import (
    DAY_NAMES,
    DEFAULT_TIMEZONE,
    FEATURE_NAMES,
    N_FEATURES,
    FeatureParams,
    LocalCall,
    localize,
    seed_rows_to_matrix,
)
from training.forest import Forest
from training.ranking import DEFAULT_WINDOW, rank, window_mask

MODEL_FILE = "model.npz"
METADATA_FILE = "metadata.json"
JSON = "application/json"
CSV = "text/csv"
# Limits that keep a request well inside the 4 MB serverless payload and about a second of work.
MAX_FEATURE_ROWS = 10_000
MAX_CONTACTS = 100
MAX_HISTORY = 1_000
MAX_TOP_K = 168


class ClientError(ValueError):
    """A request the caller must fix. `status` is the HTTP status the server answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Rejection:
    """A request refused before prediction; carried through predict_fn to output_fn."""

    error: str
    message: str
    status: int


class UnsupportedContentType(ClientError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=415)


class ModelLoadError(RuntimeError):
    """The artifact cannot be served (integrity or compatibility)."""


@dataclass(frozen=True)
class LoadedModel:
    forest: Forest
    params: FeatureParams
    metadata: dict[str, Any]


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


# --- model_fn ---------------------------------------------------------------------------------

def model_fn(model_dir: str) -> LoadedModel:
    """Verify the model file against metadata.json's sha256, then load it (no code runs)."""
    root = Path(model_dir)
    metadata = json.loads((root / METADATA_FILE).read_text())
    model_path = root / metadata.get("model_file", MODEL_FILE)
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
    if digest != metadata.get("model_sha256"):
        raise ModelLoadError(f"{model_path.name} sha256 {digest} does not match metadata.json "
                             f"({metadata.get('model_sha256')}); refusing to load")
    if tuple(metadata.get("feature_names", ())) != FEATURE_NAMES:
        raise ModelLoadError("metadata.json feature_names differ from the shipped feature module;"
                             " the artifact's code and model were not built together")
    forest = Forest.load(model_path)
    if forest.n_features != N_FEATURES:
        raise ModelLoadError(f"model expects {forest.n_features} features, code has {N_FEATURES}")
    return LoadedModel(forest, FeatureParams.from_dict(metadata["feature_params"]), metadata)


# --- input_fn ---------------------------------------------------------------------------------

def _reject_constant(name: str) -> None:
    raise ClientError(f"body: {name} is not a valid JSON number; send finite numbers only")


def input_fn(body: bytes | str, content_type: str) -> SeedRequest | SlotsRequest | Rejection:
    try:
        return parse(body, content_type)
    except ClientError as err:
        return Rejection(type(err).__name__, str(err), err.status)


def parse(body: bytes | str, content_type: str) -> SeedRequest | SlotsRequest:
    """Validate a request body; raise ClientError naming the field and the problem."""
    media = (content_type or "").split(";")[0].strip().lower()
    if isinstance(body, bytes | bytearray):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ClientError(f"body: not UTF-8 text (byte {err.start})") from err
    if media == CSV:
        return _parse_csv(body)
    if media != JSON:
        raise UnsupportedContentType(f"content type {content_type!r} is not supported; use "
                                     f"{JSON} or {CSV}")
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise ClientError(f"body: malformed JSON at line {err.lineno} column {err.colno}: "
                          f"{err.msg}") from err
    if not isinstance(payload, dict):
        raise ClientError("body: expected a JSON object with 'features' or 'contacts'")
    if "features" in payload and "contacts" in payload:
        raise ClientError("body: send either 'features' or 'contacts', not both")
    if "features" in payload:
        return SeedRequest(_feature_rows(payload["features"], "features"))
    if "contacts" in payload:
        return _parse_slots(payload)
    raise ClientError("body: expected a JSON object with 'features' or 'contacts'")


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ClientError(f"{field}: expected a finite number, got {value!r}")
    return float(value)


def _feature_rows(rows: Any, field: str) -> np.ndarray:
    if not isinstance(rows, list) or not rows:
        raise ClientError(f"{field}: expected a non-empty list of feature rows")
    if len(rows) > MAX_FEATURE_ROWS:
        raise ClientError(f"{field}: {len(rows)} rows exceed the limit of {MAX_FEATURE_ROWS}")
    parsed = []
    for i, row in enumerate(rows):
        where = f"{field}[{i}]"
        if not isinstance(row, list) or not 3 <= len(row) <= N_FEATURES:
            raise ClientError(f"{where}: expected a list of 3 to {N_FEATURES} numbers "
                              "[day_of_week, hour_of_day, previous_answer_rate, ...]")
        values = [_number(v, f"{where}[{j}]") for j, v in enumerate(row)]
        if values[0] not in range(7):
            raise ClientError(f"{where}[0] (day_of_week): expected an integer 0..6 "
                              f"(0 = Sunday), got {row[0]!r}")
        if values[1] not in range(24):
            raise ClientError(f"{where}[1] (hour_of_day): expected an integer 0..23, "
                              f"got {row[1]!r}")
        if not 0 <= values[2] <= 1:
            raise ClientError(f"{where}[2] (previous_answer_rate): expected 0..1, got {row[2]!r}")
        parsed.append(values)
    return parsed  # completed in predict_fn, which knows the model's feature parameters


def _parse_csv(text: str) -> SeedRequest:
    rows = []
    for i, line in enumerate(text.strip().splitlines()):
        if not line.strip():
            continue
        try:
            rows.append([float(v) for v in line.split(",")])
        except ValueError as err:
            raise ClientError(f"csv line {i + 1}: not a row of numbers ({err})") from err
    if not rows:
        raise ClientError("csv: no rows")
    return SeedRequest(_feature_rows(rows, "csv rows"))


def _timestamp(value: Any, field: str) -> float:
    if not isinstance(value, str):
        raise ClientError(f"{field}: expected an ISO-8601 timestamp string, got {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as err:
        raise ClientError(f"{field}: {value!r} is not an ISO-8601 timestamp") from err
    if parsed.tzinfo is None:
        raise ClientError(f"{field}: {value!r} has no UTC offset; add 'Z' or '+02:00'")
    return parsed.timestamp()


def _zone(value: Any, field: str) -> zoneinfo.ZoneInfo:
    if value is None:
        value = DEFAULT_TIMEZONE
    if not isinstance(value, str) or not value:
        raise ClientError(f"{field}: expected an IANA time zone name, got {value!r}")
    try:
        return zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        raise ClientError(f"{field}: unknown time zone {value!r}") from err


def _window(value: Any) -> np.ndarray:
    if value is None:
        return window_mask(DEFAULT_WINDOW)
    if not isinstance(value, dict) or not value:
        raise ClientError("calling_window: expected an object of day -> [start_hour, end_hour] "
                          "with at least one day")
    window = {}
    for day, hours in value.items():
        field = f"calling_window.{day}"
        if day not in DAY_NAMES:
            raise ClientError(f"{field}: unknown day; use one of {', '.join(DAY_NAMES)}")
        if (not isinstance(hours, list) or len(hours) != 2
                or not all(isinstance(h, int) and not isinstance(h, bool) for h in hours)):
            raise ClientError(f"{field}: expected [start_hour, end_hour] integers")
        start, end = hours
        if not (0 <= start < end <= 24):
            raise ClientError(f"{field}: expected 0 <= start < end <= 24, got {hours}")
        window[day] = (start, end)
    return window_mask(window)


def _parse_slots(payload: dict[str, Any]) -> SlotsRequest:
    contacts = payload["contacts"]
    if not isinstance(contacts, list) or not contacts:
        raise ClientError("contacts: expected a non-empty list")
    if len(contacts) > MAX_CONTACTS:
        raise ClientError(f"contacts: {len(contacts)} contacts exceed the limit of {MAX_CONTACTS}"
                          " per request")
    top_k = payload.get("top_k", 3)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise ClientError(f"top_k: expected an integer 1..{MAX_TOP_K}, got {top_k!r}")
    as_of = (_timestamp(payload["as_of"], "as_of") if payload.get("as_of") is not None
             else time.time())
    parsed = [_contact(c, f"contacts[{i}]") for i, c in enumerate(contacts)]
    return SlotsRequest(parsed, _window(payload.get("calling_window")), top_k, as_of)


def _contact(value: Any, field: str) -> ContactRequest:
    if not isinstance(value, dict):
        raise ClientError(f"{field}: expected an object")
    contact_id = value.get("contact_id")
    if not isinstance(contact_id, str) or not contact_id:
        raise ClientError(f"{field}.contact_id: expected a non-empty string")
    zone = _zone(value.get("timezone"), f"{field}.timezone")
    history = value.get("history", [])
    if not isinstance(history, list):
        raise ClientError(f"{field}.history: expected a list of calls")
    if len(history) > MAX_HISTORY:
        raise ClientError(f"{field}.history: {len(history)} calls exceed the limit of "
                          f"{MAX_HISTORY} per contact")
    calls = []
    for j, call in enumerate(history):
        where = f"{field}.history[{j}]"
        if not isinstance(call, dict):
            raise ClientError(f"{where}: expected an object")
        epoch = _timestamp(call.get("called_at"), f"{where}.called_at")
        answered = call.get("answered")
        if not isinstance(answered, bool):
            raise ClientError(f"{where}.answered: expected true or false, got {answered!r}")
        if call.get("duration_seconds") is not None:
            duration = _number(call["duration_seconds"], f"{where}.duration_seconds")
            if duration < 0:
                raise ClientError(f"{where}.duration_seconds: must be >= 0, got {duration}")
        dow, hour, day = localize(epoch, zone)
        calls.append(LocalCall(epoch, dow, hour, day, answered))
    calls.sort(key=lambda c: c.epoch)
    return ContactRequest(contact_id, zone, calls)


# --- predict_fn / output_fn -------------------------------------------------------------------

def predict_fn(data: SeedRequest | SlotsRequest | Rejection,
               model: LoadedModel) -> dict[str, Any] | Rejection:
    if isinstance(data, Rejection):
        return data
    if isinstance(data, SeedRequest):
        X = seed_rows_to_matrix(data.rows, model.params)
        return {"predictions": [round(float(p), 6) for p in model.forest.predict_proba(X)]}
    recommendations = []
    for contact in data.contacts:
        ranked = rank(model.forest, model.params, contact.history, contact.zone, data.as_of,
                      data.allowed)
        recommendations.append({"contact_id": contact.contact_id,
                                "slots": ranked.top(data.top_k)})
    return {"recommendations": recommendations}


def output_fn(prediction: dict[str, Any] | Rejection, accept: str | None) -> Any:
    if isinstance(prediction, Rejection):
        return _response(prediction)
    media = (accept or JSON).split(";")[0].strip().lower()
    if media in ("", "*/*", JSON):
        return json.dumps(prediction), JSON
    if media == CSV and "predictions" in prediction:
        return "\n".join(str(p) for p in prediction["predictions"]) + "\n", CSV
    supported = JSON + (f" or {CSV}" if "predictions" in prediction else "")
    return _response(Rejection("ClientError", f"accept {accept!r} is not supported for this "
                                              f"request; use {supported}", 406))


def _response(rejection: Rejection) -> Any:
    """An error response with its HTTP status, in the form the serving stack understands."""
    body = json.dumps({"error": rejection.error, "message": rejection.message})
    try:  # inside the SageMaker scikit-learn container
        from sagemaker_containers.beta.framework import worker
    except ImportError:  # calltime's local model server reads (body, content type, status)
        return body, JSON, rejection.status
    return worker.Response(response=body, status=rejection.status, mimetype=JSON)
