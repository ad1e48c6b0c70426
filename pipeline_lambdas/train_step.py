"""Step 1 core: read the call log from S3, validate, train and evaluate; stage the outputs.

The log is one object or every CSV/Parquet object under a prefix. Outputs (model.tar.gz,
metadata.json, metrics.json, report.html, rejects.csv) are staged under
s3://<bucket>/staging/<version>/ for the package step. When the log is refused, the rejects are
staged anyway and the `InvalidCallLog` message says where they went.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline_lambdas.clients import client
from pipeline_lambdas.contract import PipelineMetric, staging_prefix
from pipeline_lambdas.errors import LogTooLarge
from pipeline_lambdas.events import model_version, read_field
from pipeline_lambdas.live_model import fetch, live_artifact_uri
from pipeline_lambdas.log_parts import list_parts, split_uri
from pipeline_lambdas.observability import MetricUnit, metrics, step_handler
from pipeline_lambdas.settings import PipelineSettings
from training import footprint
from training.call_log import InvalidCallLog
from training.outputs import OUTPUT_FILES, REJECTS_FILE
from training.report import recommendation_summary
from training.train import TrainResult, TrainSettings, train

TRAINING_LIMITS_DOC = "docs/training-at-scale.md"


@dataclass(frozen=True)
class TrainOutput:
    model_version: str
    data_uri: str
    files_read: int
    rows_read: int
    rows_valid: int
    rows_trained: int  # rows_valid, or the rows of the whole-contact sample a large log trains on
    rows_rejected: int
    rejected_by_reason: dict[str, int]
    roc_auc: float
    recommendation: str  # capture, or the replay estimate (training/report.py)
    live_model_version: str | None
    staging_uri: str
    rejects_uri: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def staged(cls, s3, settings: PipelineSettings, version: str, data_uri: str,
               files_read: int, result: TrainResult, out_dir: Path,
               already_staged: tuple[str, ...] = ()) -> TrainOutput:
        """Upload a training run's outputs to staging/<version>/ (but those a step wrote there
        itself) and describe them."""
        prefix = staging_prefix(version)
        for name in OUTPUT_FILES:
            if name not in already_staged:
                s3.upload_file(str(out_dir / name), settings.models_bucket, prefix + name)
        data, metrics = result.metadata["data"], result.metadata["metrics"]
        return cls(
            model_version=version, data_uri=data_uri, files_read=files_read,
            rows_read=data["rows_read"], rows_valid=data["rows_valid"],
            rows_trained=data.get("sample", {}).get("rows", data["rows_valid"]),
            rows_rejected=data["rows_rejected"],
            rejected_by_reason={k: v for k, v in data["rejected_by_reason"].items() if v},
            roc_auc=metrics["classification"]["roc_auc"],
            recommendation=recommendation_summary(metrics.get("recommendation", {})),
            live_model_version=metrics.get("live_model_on_holdout", {}).get("model_version"),
            staging_uri=f"s3://{settings.models_bucket}/{prefix}",
            rejects_uri=f"s3://{settings.models_bucket}/{prefix}{REJECTS_FILE}")


def read_call_log(s3, uri: str) -> list[tuple[str, bytes]]:
    """(name, bytes) of the object at uri, or of every CSV/Parquet object under it."""
    return [(part, s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            for part, _ in list_parts(s3, uri) for bucket, key in [split_uri(part)]]


def check_fits(parts: list[tuple[str, bytes]], memory_mb: int) -> int:
    """The log's row count; LogTooLarge, naming both numbers, if training it would need more
    memory than the function has (it would be killed mid-way, with nothing to act on)."""
    rows = sum(footprint.count_rows(name, data) for name, data in parts)
    if rows > footprint.rows_that_fit(memory_mb):
        raise LogTooLarge(
            f"{rows:,} call rows need about {footprint.peak_mb(rows):,.0f} MB to train; this "
            f"function has {memory_mb} MB (setting training_memory_mb), enough for about "
            f"{footprint.rows_that_fit(memory_mb):,} rows: raise it (up to 10240) or train on a "
            f"shorter period (see {TRAINING_LIMITS_DOC})")
    return rows


def run_training(s3, settings: PipelineSettings, data_uri: str, version: str,
                 train_settings: TrainSettings | None = None,
                 sagemaker=None, memory_mb: int | None = None) -> TrainOutput:
    """With a SageMaker client, the live model is also scored on this run's holdout; with the
    function's memory, a log too large for it is refused before training starts."""
    parts = read_call_log(s3, data_uri)
    if memory_mb is not None:
        check_fits(parts, memory_mb)
    prefix = staging_prefix(version)
    rejects_uri = f"s3://{settings.models_bucket}/{prefix}{REJECTS_FILE}"
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(tmp) / "out"
        live_uri = live_artifact_uri(sagemaker, settings.endpoint_name) if sagemaker else None
        live_dir = fetch(s3, live_uri, Path(tmp) / "live") if live_uri else None
        try:
            result = train(parts, out_dir, train_settings, version=version, name=data_uri,
                           baseline_model_dir=live_dir)
        except InvalidCallLog as err:
            rejects = out_dir / REJECTS_FILE
            if rejects.exists():
                s3.upload_file(str(rejects), settings.models_bucket, prefix + REJECTS_FILE)
                raise InvalidCallLog(f"{err} (rejected rows: {rejects_uri})") from err
            raise
        return TrainOutput.staged(s3, settings, version, data_uri, len(parts), result, out_dir)


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = PipelineSettings.from_env()
    version = model_version(event)
    data_uri = read_field(event, "data_uri", str, "") or settings.default_data_uri
    memory = getattr(context, "memory_limit_in_mb", None)
    out = run_training(client("s3"), settings, data_uri, version,
                       TrainSettings(gate_tolerance=settings.quality_gate_tolerance),
                       sagemaker=client("sagemaker"), memory_mb=int(memory) if memory else None)
    metrics.add_metric(name=PipelineMetric.ROWS_VALID, unit=MetricUnit.Count, value=out.rows_valid)
    metrics.add_metric(name=PipelineMetric.ROWS_REJECTED, unit=MetricUnit.Count,
                       value=out.rows_rejected)
    metrics.add_metric(name=PipelineMetric.ROC_AUC, unit=MetricUnit.NoUnit, value=out.roc_auc)
    return out.to_dict()
