"""Package a trained model as SageMaker scikit-learn container expects: model.tar.gz.

Layout (`inference_code.artifact_layout`): the model file and metadata at the root, the handlers
as `code/inference.py` and the rest of the `inference_code` package they import under
`code/inference_code/`. The container runs with SAGEMAKER_PROGRAM=inference.py and
SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code, so `code/` is on its import path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import secrets
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import sklearn

import inference_code
from inference_code.artifact_layout import (
    ARTIFACT_FILE,
    CODE_DIR,
    ENTRY_POINT,
    METADATA_FILE,
    MODEL_FILE,
)
from inference_code.features import (
    DAY_OF_WEEK_CONVENTION,
    DEFAULT_TIMEZONE,
    FEATURE_NAMES,
    SEED_FEATURES,
    FeatureParams,
)
from inference_code.forest import Forest
from inference_code.ranking import DEFAULT_WINDOW


def shipped_code() -> dict[str, Path]:
    """What code/ holds: the handlers at its top (the entry point), the package beside them."""
    package = Path(inference_code.__file__).resolve().parent
    files = {f"{CODE_DIR}/{ENTRY_POINT}": package / ENTRY_POINT}
    for path in sorted(package.glob("*.py")):
        if path.name != ENTRY_POINT:
            files[f"{CODE_DIR}/{package.name}/{path.name}"] = path
    return files


def _tz_database() -> dict[str, Path]:
    """The `tzdata` package's files, shipped as code/tzdata/: zoneinfo falls back to it when
    the serving container has no system zone files, so local-time features never depend on
    the image."""
    import tzdata

    root = Path(tzdata.__file__).parent
    return {f"{CODE_DIR}/tzdata/{path.relative_to(root).as_posix()}": path
            for path in sorted(root.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts}


def new_version(now: dt.datetime | None = None) -> str:
    """Sortable and unique: UTC time to the second plus a random suffix."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_metadata(version: str, model_sha256: str, params: FeatureParams,
                   metrics: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return {
        "model_version": version,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "framework": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "estimator": "HistGradientBoostingClassifier, exported to numpy node arrays",
        "model_file": MODEL_FILE,
        "model_sha256": model_sha256,
        "feature_names": list(FEATURE_NAMES),
        "seed_features": list(SEED_FEATURES),
        "day_of_week_convention": DAY_OF_WEEK_CONVENTION,
        "hours": "contact's local time, 0..23",
        "trailing_feature_defaults": (
            "rates = previous_answer_rate; counts and same_day_attempts = 0; recency, "
            "answered-hour features and utc_offset_hours = missing"),
        "default_timezone": DEFAULT_TIMEZONE,
        "default_calling_window": {k: list(v) for k, v in DEFAULT_WINDOW.items()},
        "feature_params": params.to_dict(),
        "data": data,
        "metrics": metrics,
    }


def package(forest: Forest, params: FeatureParams, metrics: dict[str, Any],
            data: dict[str, Any], out_dir: Path, version: str) -> tuple[Path, dict[str, Any]]:
    """Write out_dir/model.tar.gz (and out_dir/metadata.json beside it); return path, metadata."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / MODEL_FILE
    forest.save(model_path)
    metadata = build_metadata(version, sha256_file(model_path), params, metrics, data)
    metadata_bytes = json.dumps(metadata, indent=2).encode()
    (out_dir / METADATA_FILE).write_bytes(metadata_bytes)
    tar_path = out_dir / ARTIFACT_FILE
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(model_path, arcname=MODEL_FILE)
        _add_bytes(tar, METADATA_FILE, metadata_bytes)
        for arcname, source in {**shipped_code(), **_tz_database()}.items():
            _add_bytes(tar, arcname, source.read_bytes())
    model_path.unlink()
    return tar_path, metadata


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def extract(tar_path: Path, model_dir: Path) -> Path:
    """Unpack an artifact as the container does into model_dir (like /opt/ml/model)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(tar_path, "r:gz") as tar:
            tar.extractall(model_dir, filter="data")
    except tarfile.ReadError as err:
        raise tarfile.ReadError(f"{tar_path} is not a model.tar.gz ({err})") from err
    return model_dir
