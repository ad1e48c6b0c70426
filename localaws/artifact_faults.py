"""Faulty model artifacts, made from a good one: what a bad build would publish. Used by the
`make pipeline` scenarios and by the tests of the steps that must catch them."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable

from inference_code.artifact_layout import CODE_DIR, ENTRY_POINT, MODEL_FILE

# Appended to the artifact's handlers: answers out of [0, 1] and outside any window.
GARBAGE_PREDICT = b'''

def predict_fn(data, model):
    if isinstance(data, Rejection):
        return data
    if isinstance(data, SeedRequest):
        return {"predictions": [1.7 for _ in data.rows]}
    return {"recommendations": [{"contact_id": c.contact_id, "slots": [
        {"day": "saturday", "hour": 3, "answer_probability": 0.5}] * 3} for c in data.contacts]}
'''

# Appended to the artifact's handlers: every answer is correct, but late.
SLOW_PREDICT = b'''

_on_time_predict_fn = predict_fn


def predict_fn(data, model):
    import time

    time.sleep(SECONDS)
    return _on_time_predict_fn(data, model)
'''


def rewrite_artifact(data: bytes, replace: dict[str, bytes]) -> bytes:
    """model.tar.gz bytes with some members' contents replaced."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as src, \
            tarfile.open(fileobj=out, mode="w:gz") as dst:
        for member in src.getmembers():
            content = src.extractfile(member).read() if member.isfile() else None
            if member.name in replace:
                content = replace[member.name]
                member.size = len(content)
            dst.addfile(member, io.BytesIO(content) if content is not None else None)
    return out.getvalue()


def _member(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.extractfile(name).read()


def _with_handlers(data: bytes, handlers: bytes) -> bytes:
    entry_point = f"{CODE_DIR}/{ENTRY_POINT}"
    return rewrite_artifact(data, {entry_point: _member(data, entry_point) + handlers})


def garbage_artifact(data: bytes) -> bytes:
    """The same artifact with a predict_fn that answers garbage (loads and pings fine)."""
    return _with_handlers(data, GARBAGE_PREDICT)


def unloadable_artifact(data: bytes) -> bytes:
    """The same artifact with its model file cut short (a broken upload): model_fn refuses it,
    so the container never answers /ping and the endpoint cannot start on it."""
    model = _member(data, MODEL_FILE)
    return rewrite_artifact(data, {MODEL_FILE: model[: len(model) // 2]})


def slow_artifact(seconds: float) -> Callable[[bytes], bytes]:
    """An artifact that loads and pings fine but takes `seconds` over every invocation (a model
    stuck on a lock or a slow dependency)."""
    def fault(data: bytes) -> bytes:
        return _with_handlers(data, SLOW_PREDICT.replace(b"SECONDS", repr(seconds).encode()))

    return fault
