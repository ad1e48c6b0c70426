"""Which failures are worth another attempt, and how long to wait before it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

# Transient by the service's own account: wait and try again.
RETRYABLE_CODES = frozenset({"ThrottlingException", "ModelNotReadyException",
                             "ServiceUnavailable", "InternalFailure",
                             "InternalDependencyException"})
CONNECTION_ERRORS = (ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError,
                     ReadTimeoutError, ConnectionError)


def is_retryable(err: BaseException) -> bool:
    """Throttling, a model not ready (a cold start), service unavailable, any 5xx and
    connection failures; never a 4xx the caller must fix. A ModelError (424) is not retried
    either: the container answered, and the same body meets the same answer (its 4xx is the
    caller's to fix, its 5xx the model's failure on that input)."""
    if isinstance(err, CONNECTION_ERRORS):
        return True
    if not isinstance(err, ClientError):
        return False
    code = err.response.get("Error", {}).get("Code", "")
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code == "ModelError":
        return False
    return code in RETRYABLE_CODES or status >= 500 or status == 429


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits random() x min(cap, base x 2^n)."""

    base: float = 0.1
    cap: float = 5.0

    def delay(self, attempt: int, random: Callable[[], float]) -> float:
        return random() * min(self.cap, self.base * 2 ** attempt)
