"""What the client raises."""

from __future__ import annotations


class CampaignClientError(Exception):
    """Any failure of a client call."""


class EndpointRequestError(CampaignClientError):
    """The endpoint refused the request (a 4xx): fix the request; never retried."""

    def __init__(self, message: str, status: int, code: str) -> None:
        super().__init__(f"{code} ({status}): {message}")
        self.message, self.status, self.code = message, status, code


class DeadlineExceeded(CampaignClientError):
    """The call's deadline passed before every request was answered."""

    def __init__(self, deadline: float, attempts: int, last_error: BaseException | None) -> None:
        last = f"; last error: {last_error}" if last_error else ""
        super().__init__(f"no answer within the {deadline:g} s deadline after {attempts} "
                         f"attempt(s){last}")
        self.deadline, self.attempts, self.last_error = deadline, attempts, last_error
