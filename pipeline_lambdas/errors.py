"""The errors the pipeline's steps raise. Step Functions matches a Lambda error by its class name
(`errorType`), so each name here is part of the state machine's contract: rename none."""

from __future__ import annotations

import json


class SettingsError(ValueError):
    """A setting (deployment or function environment) is missing or invalid; names it."""


class InvalidStepInput(ValueError):
    """A step's input lacks a field or has the wrong type; names the field."""


class LogTooLarge(Exception):
    """The call log has more rows than the training function's memory can train on."""


class PartTooLarge(Exception):
    """A call log's part is larger than a partition worker's memory holds; says how large."""


class DamagedWorkArea(Exception):
    """An object a scale-out step wrote for the next one cannot be read; names it. The work area
    is the run's own (work/<execution>/): running again writes a new one."""


class DeploymentInProgress(Exception):
    """Another execution holds the endpoint lock: this run is refused, nothing is touched."""


class LockUnreadable(Exception):
    """The endpoint lock object is not one this pipeline wrote; says what to do."""


class VersionNotFound(Exception):
    """The model version asked for (`deploy_version`) was never published."""


class VersionAlreadyLive(Exception):
    """The model version asked for is the one the endpoint serves: nothing to deploy."""


class ArtifactExists(Exception):
    """A different artifact already exists under this version; versions are never overwritten."""


class ServerlessNotAvailable(Exception):
    """SageMaker refused the serverless endpoint config in a region not known to offer it."""


class HealthCheckFailed(Exception):
    """The endpoint answered wrongly or too slowly."""


class RollbackFailed(Exception):
    """The endpoint could not be restored; the message says where it was left."""


def said(cause: object) -> str:
    """What an error said: a Lambda error's cause is its error payload as JSON, whose
    errorMessage is the message; any other cause is the message itself."""
    text = "" if cause is None else str(cause)
    try:
        payload = json.loads(text)
    except ValueError:
        return text
    if isinstance(payload, dict) and payload.get("errorMessage"):
        return str(payload["errorMessage"])
    return text
