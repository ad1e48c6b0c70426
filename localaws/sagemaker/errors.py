"""SageMaker's error shapes, as the local SageMaker raises them (code, message, HTTP status)."""

from __future__ import annotations

from typing import Any


class SageMakerError(Exception):
    """An API error: the runtime answers it as botocore would receive it from AWS."""

    def __init__(self, code: str, message: str, status: int = 400,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.extra = code, message, status, extra or {}


def validation(message: str) -> SageMakerError:
    return SageMakerError("ValidationException", message)
