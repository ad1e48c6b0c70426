"""What the state machine (`infra/`) and the steps agree on, written once: environment variable
names, S3 keys, resource names, serverless limits and defaults, and the values the state machine
branches on (outcomes, gate decisions, deployment states, end states).

`infra/` builds the functions' environment and the state machine's Choice conditions and Catch
error names from here; the steps read and return the same names. A drift is then an import
error or a failing unit test, not an end-to-end surprise.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pipeline_lambdas.errors import DeploymentInProgress, SettingsError
from training import gate

# --- environment variables: infra/functions.py sets them, pipeline_lambdas/settings.py reads them
PROJECT_NAME_ENV = "PROJECT_NAME"
ENVIRONMENT_ENV = "ENVIRONMENT"
MODELS_BUCKET_ENV = "MODELS_BUCKET"
CONTAINER_IMAGE_ENV = "CONTAINER_IMAGE"
EXECUTION_ROLE_ARN_ENV = "SAGEMAKER_EXECUTION_ROLE_ARN"
MEMORY_SIZE_MB_ENV = "MEMORY_SIZE_MB"
MAX_CONCURRENCY_ENV = "MAX_CONCURRENCY"
DATA_URI_ENV = "DATA_URI"
QUALITY_GATE_TOLERANCE_ENV = "QUALITY_GATE_TOLERANCE"
HEALTH_MAX_LATENCY_MS_ENV = "HEALTH_MAX_LATENCY_MS"
VERSIONS_TO_KEEP_ENV = "VERSIONS_TO_KEEP"
TOPIC_ARN_ENV = "TOPIC_ARN"
LIVE_MODEL_PARAMETER_ENV = "LIVE_MODEL_PARAMETER"
SCALE_OUT_ROWS_ENV = "SCALE_OUT_ROWS"  # logs of more rows train through the Distributed Map
SCALE_OUT_BUCKETS_ENV = "SCALE_OUT_BUCKETS"  # contact buckets of a scale-out run
DEFAULT_SCALE_OUT_BUCKETS = 64
# The training functions' memory (the workers'): the plan sizes buckets and parts to it.
TRAINING_MEMORY_MB_ENV = "TRAINING_MEMORY_MB"
DEFAULT_TRAINING_MEMORY_MB = 4096

# --- S3 keys in the models bucket (the stack scopes each function's grants to these) ----------
MODELS_PREFIX = "models/optimal-call-time"  # <prefix>/<version>/model.tar.gz and its reports
DATA_PREFIX = "data/"  # the only call-log location the training function may read
DEFAULT_CALLS_PREFIX = "data/calls/"  # where `{}` looks for the call log
STAGING_PREFIX = "staging/"  # <prefix><version>/: train's outputs before the package step
WORK_PREFIX = "work/"  # <prefix><execution>/: a scale-out run's intermediate files
NOTIFICATIONS_PREFIX = "notifications/"  # <prefix><execution>/<outcome>.json: sent once
LOCK_KEY = "locks/endpoint.lock"  # one run at a time


def work_prefix(execution_name: str) -> str:
    return f"{WORK_PREFIX}{execution_name}/"


# <work prefix>failures/<Map state>/<item>.json: what a Distributed Map's failed child wrote of
# its input and its error (the state machine writes it; NameFailedItem reads it).
FAILURES_DIR = "failures/"
# What every Distributed Map child returns: the Map gathers it, a few bytes an item, whatever
# the item count (Step Functions holds the gathered outputs to 256 KB even when discarded).
MAP_ITEM_OUTPUT = 0


class TrainingPath(StrEnum):
    """Which way PlanTraining sends a run: one function, or the Distributed Map."""

    SINGLE = "single"
    SCALE_OUT = "scale_out"


def staging_prefix(version: str) -> str:
    return f"{STAGING_PREFIX}{version}/"


def version_prefix(version: str, models_prefix: str = MODELS_PREFIX) -> str:
    return f"{models_prefix}/{version}/"


HISTORY_FILE, HISTORY_PAGE = "history.json", "history.html"  # beside the version folders
DAMAGED_HISTORY_PATTERN = "history-damaged-*.json"  # a history that could not be read, kept


def history_key(name: str, models_prefix: str = MODELS_PREFIX) -> str:
    """<models prefix>/history.json|html: every run's figures, one page per stack."""
    return f"{models_prefix}/{name}"


def notification_key(execution_name: str, outcome: str) -> str:
    return f"{NOTIFICATIONS_PREFIX}{execution_name}/{outcome}.json"


# --- resource names ------------------------------------------------------------------------------
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,20}")


def resource_prefix(project_name: str, environment: str) -> str:
    """`<project>-<environment>`: every function, role, model and config name starts with it."""
    return f"{project_name}-{environment}"


VARIANT_NAME = "AllTraffic"  # the endpoint's one production variant (a metric dimension too)


# The stack's alarms, each named <prefix>-<id> (infra/monitoring.py makes exactly these;
# `calltime status` reads them by name; the runbook has an entry per id).
ALARM_IDS = ("model-latency", "invocation-error-rate", "concurrency", "cold-start",
             "pipeline-failed", "rollback", "rollback-failed", "schedule-failed")
ENDPOINT_SUFFIX, TOPIC_SUFFIX, SCHEDULE_SUFFIX = (
    "-optimal-call-time", "-notifications", "-weekly-retraining")


def endpoint_name(project_name: str, environment: str) -> str:
    """Deterministic, so the stack can scope permissions to it before the first run."""
    return f"{resource_prefix(project_name, environment)}{ENDPOINT_SUFFIX}"


def topic_name(prefix: str) -> str:
    """The SNS topic of alarms and run outcomes (`calltime status` finds it by this)."""
    return f"{prefix}{TOPIC_SUFFIX}"


def schedule_name(prefix: str) -> str:
    """The EventBridge Scheduler schedule that starts the weekly run."""
    return f"{prefix}{SCHEDULE_SUFFIX}"


def check_name(field: str, value: str) -> None:
    """A project or environment name: short enough for every resource name built from it."""
    if not _NAME.fullmatch(value):
        raise SettingsError(f"{field}={value!r}: use 1-21 lowercase letters, digits and '-', "
                            "starting with a letter or digit")


SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")  # models, configs, endpoints
# The form of every model version the pipeline makes (pipeline_lambdas.events.model_version):
# the execution's start time and a hash of its name, 23 characters.
MODEL_VERSION_EXAMPLE = "20260601T000000Z-0a1b2c"


def versioned_name(project_name: str, environment: str, version: str) -> str:
    """Model and endpoint-config name for a model version (SageMaker: 63 chars, [a-z0-9-])."""
    clean = re.sub(r"[^a-zA-Z0-9-]", "-", version).strip("-").lower()
    name = f"{resource_prefix(project_name, environment)}-{clean}"
    if len(name) > 63 or not SAGEMAKER_NAME.fullmatch(name):  # the pattern counts no '-'s
        raise SettingsError(f"version {version!r} makes an invalid SageMaker name {name!r} "
                            f"({len(name)} characters; SageMaker allows 63 of [a-zA-Z0-9-])")
    return name


def check_name_lengths(project_field: str, project_name: str, env_field: str,
                       environment: str) -> None:
    """The longest SageMaker name the pipeline will make from these names must be valid: it
    is refused here, at synth, rather than by CreateModel on the first run."""
    longest = f"{resource_prefix(project_name, environment)}-{MODEL_VERSION_EXAMPLE.lower()}"
    if len(longest) > 63:
        raise SettingsError(
            f"{project_field}={project_name!r} and {env_field}={environment!r} are too long "
            f"together: the pipeline's model names ({longest}) would be {len(longest)} "
            f"characters and SageMaker allows 63; keep the two within "
            f"{63 - len(MODEL_VERSION_EXAMPLE) - 2} characters together")


# No execution outlives this (the state machine's timeout): a lock older than it is a dead run's.
RUN_TIMEOUT_SECONDS = 2 * 3600

# --- SageMaker Serverless Inference limits and the pipeline's defaults ----------------------------
SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
SERVERLESS_MAX_CONCURRENCY = 200
DEFAULT_MEMORY_SIZE_MB = 1024
DEFAULT_MAX_CONCURRENCY = 200
DEFAULT_QUALITY_GATE_TOLERANCE = gate.DEFAULT_TOLERANCE  # allowed drop in holdout ROC AUC
DEFAULT_HEALTH_MAX_LATENCY_MS = 3000.0  # per canary call, cold start included
DEFAULT_VERSIONS_TO_KEEP = 3


def check_serverless(memory_size_mb: object, max_concurrency: object, memory_field: str,
                     concurrency_field: str) -> None:
    """Serverless limits: memory 1024..6144 MB in 1024 MB steps, concurrency 1..200."""
    if memory_size_mb not in SERVERLESS_MEMORY_SIZES or isinstance(memory_size_mb, bool):
        raise SettingsError(f"{memory_field}={memory_size_mb!r}: must be one of "
                            f"{', '.join(map(str, SERVERLESS_MEMORY_SIZES))}")
    if (not isinstance(max_concurrency, int) or isinstance(max_concurrency, bool)
            or not 1 <= max_concurrency <= SERVERLESS_MAX_CONCURRENCY):
        raise SettingsError(f"{concurrency_field}={max_concurrency!r}: must be an integer "
                            f"1..{SERVERLESS_MAX_CONCURRENCY}")


def check_versions_to_keep(field: str, value: int) -> None:
    if value < 1:
        raise SettingsError(f"{field}={value}: must be >= 1")


def check_gate_tolerance(field: str, value: float) -> None:
    if not 0 <= value < 1:
        raise SettingsError(f"{field}={value}: an allowed ROC AUC drop, 0 <= tolerance < 1")


# --- what the state machine branches on -----------------------------------------------------------
class GateDecision(StrEnum):
    """The quality gate's `decision` (training/gate.py decides it)."""

    DEPLOY = gate.DEPLOY
    KEEP_CURRENT = gate.KEEP_CURRENT


class DeploymentState(StrEnum):
    """CheckEndpoint's `state`: where the endpoint really stands after a deploy."""

    IN_SERVICE = "IN_SERVICE"  # serving the new config
    KEPT_PREVIOUS = "KEPT_PREVIOUS"  # SageMaker refused the update; old config still serving
    IN_PROGRESS = "IN_PROGRESS"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"  # still in progress after the loop's maximum number of checks


class Outcome(StrEnum):
    """A run's `outcome`: what Notify reports and which end state the execution reaches."""

    DEPLOYED = "deployed"
    KEPT_CURRENT_MODEL = "kept-current-model"
    ROLLED_BACK = "rolled-back"
    ROLLBACK_FAILED = "rollback-failed"
    REFUSED = "refused"  # another run held the lock: nothing was done
    FAILED = "failed"


# DescribeEndpoint's statuses while a deployment or SageMaker's own rollback is under way.
IN_PROGRESS_STATUSES = ("Creating", "Updating", "RollingBack", "SystemUpdating")


class EndState(StrEnum):
    """The state machine's final states (what the console shows an execution ended in)."""

    DEPLOYED = "Deployed"
    KEPT_CURRENT_MODEL = "KeptCurrentModel"
    ROLLED_BACK = "RolledBack"
    ROLLBACK_FAILED = "RollbackFailed"
    RUN_REFUSED = "RunRefused"
    PIPELINE_FAILED = "PipelineFailed"


class PipelineMetric(StrEnum):
    """The EMF metrics the steps emit (namespace: the project name); alarms watch some."""

    ROWS_VALID = "RowsValid"
    ROWS_REJECTED = "RowsRejected"
    ROC_AUC = "RocAuc"
    DEPLOY_SECONDS = "DeploySeconds"
    HEALTH_LATENCY_MS = "HealthLatencyMs"
    ROLLBACKS = "Rollbacks"
    ROLLBACK_FAILED = "RollbackFailed"


# The error the Outcome choice matches to end a refused run at RunRefused.
RUN_REFUSED_ERROR = DeploymentInProgress.__name__
# The error the state machine raises itself when CheckEndpoint says the deploy did not take.
DEPLOYMENT_FAILED_ERROR = "DeploymentFailed"
