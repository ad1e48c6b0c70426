"""What `make pipeline SCENARIO=...` changes in the world before (or during) a run.

The state machine and the handlers are never changed: a scenario only supplies different data
or, like a bad build would, puts a different artifact where the package step published one.

- deploy        the demo call log; first run creates the endpoint, later runs update it
- broken-model  the published model.tar.gz loads and pings but answers garbage: the health
                check fails, the endpoint is rolled back, the previous model keeps answering
- worse-model   the call log's `answered` labels are shuffled: the model learns nothing, the
                quality gate keeps the live model
- bad-data      a call log without the `answered` column: training refuses it, the endpoint is
                never touched
- concurrent    two runs started together: one takes the lock, the other is refused
"""

from __future__ import annotations

import csv
import io
import random
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3

SCENARIOS = ("deploy", "broken-model", "worse-model", "bad-data", "concurrent")
NEEDS_LIVE_MODEL = ("broken-model", "worse-model")

# Appended to the artifact's inference.py: answers out of [0, 1] and outside any window.
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
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        code = tar.extractfile("code/inference.py").read()
    return rewrite_artifact(data, {"code/inference.py": code + GARBAGE_PREDICT})


def break_published_model(handler: Callable[[dict, Any], dict]) -> Callable[[dict, Any], dict]:
    """Wrap the package step's handler: after it publishes, the artifact is replaced."""
    def run(event: dict, context: Any) -> dict:
        result = handler(event, context)
        uri = urlparse(result["artifact_uri"])
        s3 = boto3.client("s3")
        key = uri.path.lstrip("/")
        data = s3.get_object(Bucket=uri.netloc, Key=key)["Body"].read()
        s3.put_object(Bucket=uri.netloc, Key=key, Body=garbage_artifact(data))
        return result

    return run


def shuffled_labels(calls_csv: Path, target: Path, seed: int = 11) -> Path:
    """The call log with `answered` permuted across rows: same size, no signal."""
    with calls_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    labels = [row["answered"] for row in rows]
    random.Random(seed).shuffle(labels)
    for row, label in zip(rows, labels, strict=True):
        row["answered"] = label
    return _write(rows, target)


def without_answered(calls_csv: Path, target: Path) -> Path:
    """The call log without its `answered` column: training must refuse it."""
    with calls_csv.open(newline="") as f:
        rows = [{k: v for k, v in row.items() if k != "answered"} for row in csv.DictReader(f)]
    return _write(rows, target)


def _write(rows: list[dict[str, str]], target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target
