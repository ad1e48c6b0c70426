"""Pipeline settings, read once per Lambda container from its environment and validated."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_lambdas import contract as c
from pipeline_lambdas.errors import SettingsError


@dataclass(frozen=True)
class PipelineSettings:
    project_name: str
    environment: str
    models_bucket: str
    container_image: str
    execution_role_arn: str
    memory_size_mb: int = c.DEFAULT_MEMORY_SIZE_MB
    max_concurrency: int = c.DEFAULT_MAX_CONCURRENCY
    models_prefix: str = c.MODELS_PREFIX
    data_uri: str = ""  # default call-log location; empty means s3://<bucket>/data/calls/
    quality_gate_tolerance: float = c.DEFAULT_QUALITY_GATE_TOLERANCE
    health_max_latency_ms: float = c.DEFAULT_HEALTH_MAX_LATENCY_MS
    versions_to_keep: int = c.DEFAULT_VERSIONS_TO_KEEP
    topic_arn: str = ""  # SNS topic for run outcomes; empty: notifications are only logged
    lock_key: str = c.LOCK_KEY
    live_model_parameter: str = ""  # SSM parameter the pipeline keeps naming the live model
    scale_out_rows: int = 0  # 0: what the train function's memory holds (training/footprint)
    scale_out_buckets: int = c.DEFAULT_SCALE_OUT_BUCKETS
    training_memory_mb: int = c.DEFAULT_TRAINING_MEMORY_MB  # the scale-out workers' memory

    @property
    def default_data_uri(self) -> str:
        return self.data_uri or f"s3://{self.models_bucket}/{c.DEFAULT_CALLS_PREFIX}"

    @property
    def endpoint_name(self) -> str:
        return c.endpoint_name(self.project_name, self.environment)

    def versioned_name(self, version: str) -> str:
        """Model and endpoint-config name for a model version (SageMaker: 63 chars, [a-z0-9-])."""
        return c.versioned_name(self.project_name, self.environment, version)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PipelineSettings:
        env = os.environ if env is None else env

        def text(key: str, required: bool = False) -> str:
            value = env.get(key, "").strip()
            if required and not value:
                raise SettingsError(f"{key} is not set")
            return value

        def number(field: str, key: str, kind: type) -> dict[str, float]:
            """{field: value} when the variable is set, so an unset one keeps the default."""
            raw = text(key)
            if not raw:
                return {}
            try:
                return {field: kind(raw)}
            except ValueError as err:
                raise SettingsError(f"{key}={raw!r} is not "
                                    f"{'an integer' if kind is int else 'a number'}") from err

        settings = cls(
            project_name=text(c.PROJECT_NAME_ENV, required=True),
            environment=text(c.ENVIRONMENT_ENV, required=True),
            models_bucket=text(c.MODELS_BUCKET_ENV, required=True),
            container_image=text(c.CONTAINER_IMAGE_ENV, required=True),
            execution_role_arn=text(c.EXECUTION_ROLE_ARN_ENV, required=True),
            data_uri=text(c.DATA_URI_ENV),
            topic_arn=text(c.TOPIC_ARN_ENV),
            live_model_parameter=text(c.LIVE_MODEL_PARAMETER_ENV),
            **number("memory_size_mb", c.MEMORY_SIZE_MB_ENV, int),
            **number("max_concurrency", c.MAX_CONCURRENCY_ENV, int),
            **number("quality_gate_tolerance", c.QUALITY_GATE_TOLERANCE_ENV, float),
            **number("health_max_latency_ms", c.HEALTH_MAX_LATENCY_MS_ENV, float),
            **number("versions_to_keep", c.VERSIONS_TO_KEEP_ENV, int),
            **number("scale_out_rows", c.SCALE_OUT_ROWS_ENV, int),
            **number("scale_out_buckets", c.SCALE_OUT_BUCKETS_ENV, int),
            **number("training_memory_mb", c.TRAINING_MEMORY_MB_ENV, int),
        )
        c.check_name(c.PROJECT_NAME_ENV, settings.project_name)
        c.check_name(c.ENVIRONMENT_ENV, settings.environment)
        c.check_name_lengths(c.PROJECT_NAME_ENV, settings.project_name, c.ENVIRONMENT_ENV,
                             settings.environment)
        c.check_versions_to_keep(c.VERSIONS_TO_KEEP_ENV, settings.versions_to_keep)
        c.check_gate_tolerance(c.QUALITY_GATE_TOLERANCE_ENV, settings.quality_gate_tolerance)
        c.check_serverless(settings.memory_size_mb, settings.max_concurrency,
                           c.MEMORY_SIZE_MB_ENV, c.MAX_CONCURRENCY_ENV)
        return settings
