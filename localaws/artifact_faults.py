"""Faulty model artifacts, made from a good one: what a bad build would publish. Used by the
`make pipeline` scenarios and by the tests of the steps that must catch them."""

from __future__ import annotations

import io
import tarfile

from inference_code.artifact_layout import CODE_DIR, ENTRY_POINT

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


def garbage_artifact(data: bytes) -> bytes:
    """The same artifact with a predict_fn that answers garbage (loads and pings fine)."""
    entry_point = f"{CODE_DIR}/{ENTRY_POINT}"
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        code = tar.extractfile(entry_point).read()
    return rewrite_artifact(data, {entry_point: code + GARBAGE_PREDICT})
