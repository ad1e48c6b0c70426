"""Deployment settings per environment: `infra/environments/<env>.json`, then CDK context.

    cdk deploy -c env=prod                       # infra/environments/prod.json
    cdk deploy -c env=dev -c memory_size_mb=2048 # a file value overridden from the command line

Every value is validated here, at synth time, with an error that names the setting, so a bad
value never reaches CloudFormation or a pipeline run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aws_cdk import aws_logs as logs

from pipeline_lambdas import contract as c
from pipeline_lambdas.errors import SettingsError
from training import footprint

ENVIRONMENTS_DIR = Path(__file__).resolve().parent / "environments"
_BUCKET = re.compile(r"(?!xn--)(?!.*-s3alias$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SCHEDULE = re.compile(r"(cron\(.+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\)|at\(.+\))")
_IMAGE = re.compile(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[\w./-]+:[\w.-]+")


SAGEMAKER_SETUP_LIMIT_MS = 180_000  # model download + /ping, or the container fails


@dataclass(frozen=True)
class AlarmThresholds:
    model_latency_ms: float = 1000.0  # p90 ModelLatency over 5 minutes
    error_rate_percent: float = 5.0  # (4XX + 5XX) / Invocations over 5 minutes
    concurrency_utilization: float = 0.9  # of MaxConcurrency: throttling is next
    # ModelSetupTime, the maximum over 5 minutes. A serverless cold start of 10-15 s is normal;
    # SageMaker fails a container whose model download and /ping take 3 minutes. 60 s is four
    # times normal (a model or code/ that grew, a slow pip install) with time left to act.
    cold_start_ms: float = 60000.0


@dataclass(frozen=True)
class DeploySettings:
    project_name: str = "calltime"
    environment: str = "dev"
    account: str | None = None  # None: environment-agnostic stack
    region: str | None = None
    ml_models_bucket: str | None = None  # None: the stack creates the bucket
    sagemaker_container_image: str | None = None  # None: newest scikit-learn inference image
    tags: dict[str, str] = field(default_factory=dict)
    memory_size_mb: int = c.DEFAULT_MEMORY_SIZE_MB
    max_concurrency: int = c.DEFAULT_MAX_CONCURRENCY
    schedule_expression: str = "cron(0 3 ? * SUN *)"
    schedule_time_zone: str = "Asia/Jerusalem"
    schedule_enabled: bool = True
    versions_to_keep: int = c.DEFAULT_VERSIONS_TO_KEEP
    quality_gate_tolerance: float = c.DEFAULT_QUALITY_GATE_TOLERANCE
    health_max_latency_ms: float = c.DEFAULT_HEALTH_MAX_LATENCY_MS
    alarms: AlarmThresholds = field(default_factory=AlarmThresholds)
    notification_email: str | None = None
    training_memory_mb: int = c.DEFAULT_TRAINING_MEMORY_MB
    training_timeout_minutes: int = 15
    log_retention_days: int = 90
    scale_out_rows: int = 0  # 0: what training_memory_mb holds (training/footprint.py)
    scale_out_buckets: int = c.DEFAULT_SCALE_OUT_BUCKETS
    scale_out_concurrency: int = 100  # Distributed Map items at once (Lambda workers)

    @property
    def endpoint_name(self) -> str:
        return c.endpoint_name(self.project_name, self.environment)

    @property
    def prefix(self) -> str:
        return c.resource_prefix(self.project_name, self.environment)

    @property
    def state_machine_name(self) -> str:
        return f"{self.prefix}-retraining"

    @property
    def stack_name(self) -> str:
        return self.prefix


def _check_type(name: str, value: Any, kind: type | tuple[type, ...]) -> None:
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise SettingsError(f"{name}: expected {_kind_name(kind)}, got {value!r}")
    if not isinstance(value, kind):
        raise SettingsError(f"{name}: expected {_kind_name(kind)}, got {value!r}")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


_NUMBER = (int, float)
_TYPES: dict[str, type | tuple[type, ...]] = {
    "project_name": str, "environment": str, "account": str, "region": str,
    "ml_models_bucket": str, "sagemaker_container_image": str, "tags": dict,
    "memory_size_mb": int, "max_concurrency": int, "schedule_expression": str,
    "schedule_time_zone": str, "schedule_enabled": bool, "versions_to_keep": int,
    "quality_gate_tolerance": _NUMBER, "health_max_latency_ms": _NUMBER, "alarms": dict,
    "notification_email": str, "training_memory_mb": int, "training_timeout_minutes": int,
    "log_retention_days": int, "scale_out_rows": int, "scale_out_buckets": int,
    "scale_out_concurrency": int,
}
# (setting, lowest, highest, what takes that range)
_RANGES = (
    ("training_memory_mb", 128, 10240, "Lambda takes"),
    ("training_timeout_minutes", 1, 15, "Lambda takes"),
    ("scale_out_rows", 0, 10**12, "0 (what training_memory_mb holds) or rows,"),
    ("scale_out_buckets", 1, 10_000, "Distributed Map items:"),
    ("scale_out_concurrency", 1, 10_000, "Distributed Map concurrency:"),
)
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                   2192, 2557, 2922, 3288, 3653)


def _coerce_context(name: str, value: Any) -> Any:
    """`-c key=value` arrives as a string: read it as JSON where it is one (numbers, booleans)."""
    if isinstance(value, str) and _TYPES.get(name) not in (str, None):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def build(values: Mapping[str, Any]) -> DeploySettings:
    """Validate raw values (file + context) into settings; unknown keys are errors too."""
    unknown = sorted(set(values) - set(_TYPES))
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)} "
                            f"(known: {', '.join(sorted(_TYPES))})")
    clean: dict[str, Any] = {}
    for name, raw in values.items():
        value = _coerce_context(name, raw)
        if value is None or value == "":
            continue
        _check_type(name, value, _TYPES[name])
        clean[name] = value
    alarms = clean.pop("alarms", {})
    clean["alarms"] = _alarms(alarms)
    settings = DeploySettings(**clean)
    _validate(settings)
    return settings


def _alarms(values: Mapping[str, Any]) -> AlarmThresholds:
    known = {f.name for f in fields(AlarmThresholds)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SettingsError(f"unknown alarm setting(s): {', '.join(unknown)} "
                            f"(known: {', '.join(sorted(known))})")
    for name, value in values.items():
        _check_type(f"alarms.{name}", value, _NUMBER)
        if value <= 0:
            raise SettingsError(f"alarms.{name}={value!r}: must be > 0")
    thresholds = AlarmThresholds(**values)
    if thresholds.concurrency_utilization > 1:
        raise SettingsError(f"alarms.concurrency_utilization={thresholds.concurrency_utilization}"
                            ": a fraction of MaxConcurrency, must be <= 1")
    if thresholds.cold_start_ms >= SAGEMAKER_SETUP_LIMIT_MS:
        raise SettingsError(f"alarms.cold_start_ms={thresholds.cold_start_ms:g}: SageMaker fails "
                            f"a cold start at {SAGEMAKER_SETUP_LIMIT_MS:,} ms, so the alarm "
                            "would never fire in time; use less")
    return thresholds


def _validate(s: DeploySettings) -> None:
    c.check_name("project_name", s.project_name)
    c.check_name("environment", s.environment)
    c.check_name_lengths("project_name", s.project_name, "environment", s.environment)
    if s.account is not None and not re.fullmatch(r"\d{12}", s.account):
        raise SettingsError(f"account={s.account!r}: must be a 12-digit AWS account id")
    if s.region is not None and not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", s.region):
        raise SettingsError(f"region={s.region!r}: not an AWS region name")
    if s.ml_models_bucket is not None and not _BUCKET.fullmatch(s.ml_models_bucket):
        raise SettingsError(f"ml_models_bucket={s.ml_models_bucket!r}: not a valid S3 bucket "
                            "name")
    if s.sagemaker_container_image is not None and not _IMAGE.fullmatch(
            s.sagemaker_container_image):
        raise SettingsError(f"sagemaker_container_image={s.sagemaker_container_image!r}: expected "
                            "<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>")
    for key, value in s.tags.items():
        if not isinstance(value, str) or not 1 <= len(key) <= 128 or len(value) > 256:
            raise SettingsError(f"tags.{key}={value!r}: tag keys are 1-128 characters and "
                                "values strings of at most 256")
        if key.lower().startswith("aws:"):
            raise SettingsError(f"tags.{key}: the 'aws:' prefix is reserved")
    c.check_serverless(s.memory_size_mb, s.max_concurrency, "memory_size_mb", "max_concurrency")
    if not _SCHEDULE.fullmatch(s.schedule_expression):
        raise SettingsError(f"schedule_expression={s.schedule_expression!r}: expected cron(...),"
                            " rate(...) or at(...)")
    try:
        ZoneInfo(s.schedule_time_zone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise SettingsError(f"schedule_time_zone={s.schedule_time_zone!r}: not an IANA time "
                            "zone") from err
    c.check_versions_to_keep("versions_to_keep", s.versions_to_keep)
    c.check_gate_tolerance("quality_gate_tolerance", s.quality_gate_tolerance)
    if s.health_max_latency_ms <= 0:
        raise SettingsError(f"health_max_latency_ms={s.health_max_latency_ms}: must be > 0")
    if s.notification_email is not None and not _EMAIL.fullmatch(s.notification_email):
        raise SettingsError(f"notification_email={s.notification_email!r}: not an e-mail "
                            "address")
    for name, low, high, what in _RANGES:
        value = getattr(s, name)
        if not low <= value <= high:
            raise SettingsError(f"{name}={value}: {what} {low}..{high}")
    if s.training_memory_mb < (floor := footprint.minimum_memory_mb()):
        raise SettingsError(
            f"training_memory_mb={s.training_memory_mb}: below {floor} MB, TrainOnSample cannot "
            f"hold the archetype counts ({footprint.COUNTS_RESERVE_MB} MB) and a sample of "
            f"{footprint.MIN_SAMPLE_ROWS:,} rows beside them, so a log too large for one "
            f"function would train on too few rows or none (training/footprint.py); use "
            f"{floor} or more")
    if s.log_retention_days not in RETENTION_DAYS:
        raise SettingsError(f"log_retention_days={s.log_retention_days}: CloudWatch Logs takes "
                            f"{', '.join(map(str, RETENTION_DAYS))}")


def load(context: Mapping[str, Any], environments_dir: Path = ENVIRONMENTS_DIR
         ) -> DeploySettings:
    """Settings for `context['env']` (default 'dev'): its file, then individual context keys."""
    env = str(context.get("env") or "dev")
    path = environments_dir / f"{env}.json"
    if not path.is_file():
        known = sorted(p.stem for p in environments_dir.glob("*.json"))
        raise SettingsError(f"env={env!r}: no settings file {path} (known: {', '.join(known)})")
    try:
        values = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise SettingsError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(values, dict):
        raise SettingsError(f"{path}: expected a JSON object of settings")
    values.setdefault("environment", env)
    overrides = {k: v for k, v in context.items() if k in _TYPES}
    return build({**values, **overrides})


def retention(days: int) -> logs.RetentionDays:
    """The CloudWatch Logs retention for a validated number of days."""
    members = [m for m in logs.RetentionDays if m.name != "INFINITE"]
    return dict(zip(RETENTION_DAYS, members, strict=True))[days]
