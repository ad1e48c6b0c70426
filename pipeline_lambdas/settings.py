"""Pipeline settings, read once per Lambda container from its environment and validated."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class PipelineSettings:
    project_name: str
    environment: str
    models_bucket: str
    container_image: str
    execution_role_arn: str
    memory_size_mb: int = 1024
    max_concurrency: int = 200
    models_prefix: str = "models/optimal-call-time"
    data_uri: str = ""  # default call-log location; empty means s3://<bucket>/data/calls/
    quality_gate_tolerance: float = 0.01  # allowed drop in holdout ROC AUC
    health_max_latency_ms: float = 3000.0  # per canary call, cold start included
    versions_to_keep: int = 3
    topic_arn: str = ""  # SNS topic for run outcomes; empty: notifications are only logged
    lock_key: str = "locks/endpoint.lock"
    live_model_parameter: str = ""  # SSM parameter the pipeline keeps naming the live model

    @property
    def default_data_uri(self) -> str:
        return self.data_uri or f"s3://{self.models_bucket}/data/calls/"

    @property
    def endpoint_name(self) -> str:
        """Deterministic, so the stack can scope permissions to it before the first run."""
        return f"{self.project_name}-{self.environment}-optimal-call-time"

    def versioned_name(self, version: str) -> str:
        """Model and endpoint-config name for a model version (SageMaker: 63 chars, [a-z0-9-])."""
        clean = re.sub(r"[^a-zA-Z0-9-]", "-", version).strip("-").lower()
        name = f"{self.project_name}-{self.environment}-{clean}"
        if not _NAME.match(name):
            raise SettingsError(f"version {version!r} makes an invalid SageMaker name {name!r}")
        return name

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PipelineSettings:
        env = os.environ if env is None else env

        def required(key: str) -> str:
            value = env.get(key, "").strip()
            if not value:
                raise SettingsError(f"{key} is not set")
            return value

        def number(key: str, default: float) -> float:
            raw = env.get(key, "").strip()
            try:
                return float(raw) if raw else default
            except ValueError as err:
                raise SettingsError(f"{key}={raw!r} is not a number") from err

        def integer(key: str, default: int) -> int:
            raw = env.get(key, "").strip()
            if not raw:
                return default
            try:
                return int(raw)
            except ValueError as err:
                raise SettingsError(f"{key}={raw!r} is not an integer") from err

        settings = cls(
            project_name=required("PROJECT_NAME"),
            environment=required("ENVIRONMENT"),
            models_bucket=required("MODELS_BUCKET"),
            container_image=required("CONTAINER_IMAGE"),
            execution_role_arn=required("SAGEMAKER_EXECUTION_ROLE_ARN"),
            memory_size_mb=integer("MEMORY_SIZE_MB", 1024),
            max_concurrency=integer("MAX_CONCURRENCY", 200),
            data_uri=env.get("DATA_URI", "").strip(),
            quality_gate_tolerance=number("QUALITY_GATE_TOLERANCE", 0.01),
            health_max_latency_ms=number("HEALTH_MAX_LATENCY_MS", 3000.0),
            versions_to_keep=integer("VERSIONS_TO_KEEP", 3),
            topic_arn=env.get("TOPIC_ARN", "").strip(),
            live_model_parameter=env.get("LIVE_MODEL_PARAMETER", "").strip(),
        )
        if settings.versions_to_keep < 1:
            raise SettingsError(f"VERSIONS_TO_KEEP={settings.versions_to_keep}: must be >= 1")
        if settings.quality_gate_tolerance < 0:
            raise SettingsError(f"QUALITY_GATE_TOLERANCE={settings.quality_gate_tolerance}: "
                                "must be >= 0")
        check_serverless(settings.memory_size_mb, settings.max_concurrency, "MEMORY_SIZE_MB",
                         "MAX_CONCURRENCY")
        for key, value in (("PROJECT_NAME", settings.project_name),
                           ("ENVIRONMENT", settings.environment)):
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,20}", value):
                raise SettingsError(f"{key}={value!r}: use 1-21 lowercase letters, digits, '-'")
        return settings


def check_serverless(memory_size_mb: object, max_concurrency: object, memory_field: str,
                     concurrency_field: str) -> None:
    """Serverless limits: memory 1024..6144 MB in 1024 MB steps, concurrency 1..200."""
    if memory_size_mb not in MEMORY_SIZES or isinstance(memory_size_mb, bool):
        raise SettingsError(f"{memory_field}={memory_size_mb!r}: must be one of "
                            f"{', '.join(map(str, MEMORY_SIZES))}")
    if (not isinstance(max_concurrency, int) or isinstance(max_concurrency, bool)
            or not 1 <= max_concurrency <= 200):
        raise SettingsError(f"{concurrency_field}={max_concurrency!r}: must be an integer "
                            "1..200")
