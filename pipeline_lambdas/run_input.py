"""The execution input an operator or the schedule may give: every field optional, all checked.

The state machine merges the input over its defaults (`States.JsonMerge`) and the first step
validates the result here, so a typo (`forse_deploy`) or a wrong type stops the run before
anything is trained or touched, with an error naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline_lambdas.contract import (
    DATA_PREFIX,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MEMORY_SIZE_MB,
    check_serverless,
)
from pipeline_lambdas.errors import InvalidStepInput, SettingsError
from pipeline_lambdas.events import read_field

# field -> (type, description); the defaults live in the state machine (infra/state_machine.py).
RUN_FIELDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "data_uri": (str, "s3:// object or prefix of the call log; empty: s3://<bucket>/data/calls/"),
    "force_deploy": (bool, "deploy even if the quality gate would keep the current model"),
    "memory_size_mb": (int, "serverless memory for this run's endpoint config"),
    "max_concurrency": (int, "serverless max concurrency for this run's endpoint config"),
    "poll_seconds": (int, "seconds between endpoint status checks"),
    "max_checks": (int, "status checks before the deployment counts as timed out"),
    "rollback_poll_seconds": ((int, float), "seconds between checks while rolling back"),
    "deploy_version": (str, "a published model version to deploy instead of training one (roll "
                            "forward or back): no training, no quality gate; empty: train"),
}
# A version names SageMaker resources (<prefix>-<version>) and S3 keys.
VERSION_PATTERN = re.compile(r"[A-Za-z0-9](-*[A-Za-z0-9])*")


def validate_run_input(run: dict[str, Any], models_bucket: str | None = None) -> dict[str, Any]:
    """The run's fields, checked; with `models_bucket`, `data_uri` must lie under its `data/`
    prefix, the only call-log location the training function may read."""
    unknown = sorted(set(run) - set(RUN_FIELDS))
    if unknown:
        raise InvalidStepInput(f"unknown input field(s) {', '.join(map(repr, unknown))}; "
                               f"known: {', '.join(RUN_FIELDS)}")
    clean = {name: read_field(run, name, kind, None) for name, (kind, _) in RUN_FIELDS.items()}
    data_uri = clean["data_uri"]
    if data_uri and not data_uri.startswith("s3://"):
        raise InvalidStepInput(f"input field 'data_uri' must be an s3:// URI, got {data_uri!r}")
    allowed = f"s3://{models_bucket}/{DATA_PREFIX}"
    if data_uri and models_bucket and not data_uri.startswith(allowed):
        raise InvalidStepInput(f"input field 'data_uri' must be under {allowed} "
                               f"(the training function may read nothing else), got {data_uri!r}")
    if "deploy_version" in run and run["deploy_version"] is None:
        raise InvalidStepInput("input field 'deploy_version' must be str (a published model "
                               "version), got None")
    version = clean["deploy_version"]
    if version and not VERSION_PATTERN.fullmatch(version):
        raise InvalidStepInput(f"input field 'deploy_version' must be a model version (letters, "
                               f"digits and '-', as `calltime versions list` shows), got "
                               f"{version!r}")
    if version and data_uri:
        raise InvalidStepInput("input fields 'deploy_version' and 'data_uri' exclude each other:"
                               " a run deploys a published version or trains on a log")
    memory, concurrency = clean["memory_size_mb"], clean["max_concurrency"]
    if memory is not None or concurrency is not None:
        try:
            check_serverless(DEFAULT_MEMORY_SIZE_MB if memory is None else memory,
                             DEFAULT_MAX_CONCURRENCY if concurrency is None else concurrency,
                             "input field 'memory_size_mb'", "input field 'max_concurrency'")
        except SettingsError as err:
            raise InvalidStepInput(str(err)) from err
    for name in ("poll_seconds", "max_checks"):
        if clean[name] is not None and clean[name] < (1 if name == "max_checks" else 0):
            raise InvalidStepInput(f"input field {name!r} must be "
                                   f"{'>= 1' if name == 'max_checks' else '>= 0'}, "
                                   f"got {clean[name]!r}")
    if clean["rollback_poll_seconds"] is not None and clean["rollback_poll_seconds"] <= 0:
        raise InvalidStepInput("input field 'rollback_poll_seconds' must be > 0, got "
                               f"{clean['rollback_poll_seconds']!r}")
    return clean
