"""The SageMaker scikit-learn container's handlers: model_fn, input_fn, predict_fn, output_fn.

Shipped as `code/inference.py` (SAGEMAKER_PROGRAM) in model.tar.gz, beside `code/inference_code/`
(request parsing, features, forest, ranking: see `inference_code.artifact_layout`). Imports only
the standard library, numpy and that package.

Requests and their answers (application/json; `inference_code.request_parsing` validates them):
  {"features": [[day_of_week, hour_of_day, previous_answer_rate, ...], ...]}, or one flat row
  {"features": [day_of_week, hour_of_day, previous_answer_rate, ...]}
      -> {"predictions": [p, ...]}         (the existing client's format; text/csv rows too)
  {"contacts": [{"contact_id", "timezone"?, "history": [...]}], "calling_window"?, "top_k"?,
   "as_of"?}
      -> {"recommendations": [{"contact_id", "slots": [{"day", "hour", "answer_probability"}]}]}
Bad input becomes a `Rejection` naming the field; output_fn turns it into an HTTP 400 (415 for an
unsupported content type, 406 for an unsupported accept) with a JSON body
{"error": "<code>", "message": "..."}. Handlers do not raise for bad input because the
SageMaker container turns any exception from a handler into an HTTP 500.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference_code.artifact_layout import METADATA_FILE, MODEL_FILE
from inference_code.features import FEATURE_NAMES, N_FEATURES, FeatureParams, seed_rows_to_matrix
from inference_code.forest import Forest
from inference_code.ranking import rank
from inference_code.request_parsing import (
    CSV,
    JSON,
    Rejection,
    RequestError,
    SeedRequest,
    SlotsRequest,
    parse,
    shown,
)


class ModelLoadError(RuntimeError):
    """The artifact cannot be served (integrity or compatibility)."""


@dataclass(frozen=True)
class LoadedModel:
    forest: Forest
    params: FeatureParams
    metadata: dict[str, Any]


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
    params = FeatureParams.from_dict(metadata["feature_params"])
    try:
        params.archetype_model  # noqa: B018 - built (and checked) at load, not at a first request
    except (KeyError, TypeError, ValueError) as err:
        raise ModelLoadError(f"metadata.json feature_params.archetypes are unusable: {err}"
                             ) from err
    return LoadedModel(forest, params, metadata)


# --- input_fn ---------------------------------------------------------------------------------

def input_fn(body: bytes | str, content_type: str) -> SeedRequest | SlotsRequest | Rejection:
    try:
        return parse(body, content_type)
    except RequestError as err:
        return Rejection.of(err)


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
        ranked = rank(model.params, contact.history, contact.zone, data.as_of, data.allowed)
        recommendations.append({"contact_id": contact.contact_id,
                                "slots": ranked.top(data.top_k)})
    return {"recommendations": recommendations}


def output_fn(prediction: dict[str, Any] | Rejection, accept: str | None) -> Any:
    if isinstance(prediction, Rejection):
        return _response(prediction)
    offers = (JSON, CSV) if "predictions" in prediction else (JSON,)
    media = negotiate(accept, offers)
    if media == JSON:
        return json.dumps(prediction), JSON
    if media == CSV:
        return "\n".join(str(p) for p in prediction["predictions"]) + "\n", CSV
    return _response(Rejection(RequestError.code, f"accept {shown(accept)} is not supported "
                                                  f"for this request; use {' or '.join(offers)}",
                               406))


def negotiate(accept: str | None, offers: tuple[str, ...]) -> str | None:
    """The offered type an Accept header prefers (RFC 9110: a list of media ranges with q
    weights, `*/*` and `type/*` wildcards; the first offer when it says nothing), or None."""
    if not accept or not accept.strip():
        return offers[0]
    ranges = []
    for position, item in enumerate(accept.split(",")[:32]):
        media, *params = [p.strip().lower() for p in item.split(";")]
        weight = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    weight = float(param[2:])
                except ValueError:
                    weight = 0.0
        if media and weight > 0:
            ranges.append((-weight, position, media))
    for _, _, media in sorted(ranges):
        for offer in offers:
            if media in (offer, "*/*", f"{offer.split('/')[0]}/*"):
                return offer
    return None


def _response(rejection: Rejection) -> Any:
    """An error response with its HTTP status, in the form the serving stack understands."""
    body = json.dumps({"error": rejection.error, "message": rejection.message})
    try:  # inside the SageMaker scikit-learn container
        from sagemaker_containers.beta.framework import worker
    except ImportError:  # calltime's local model server reads (body, content type, status)
        return body, JSON, rejection.status
    return worker.Response(response=body, status=rejection.status, mimetype=JSON)
