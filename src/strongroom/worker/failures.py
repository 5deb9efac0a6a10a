"""How a failed job is reported to the edge: a client-safe reason and whether to retry."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from strongroom.media.errors import InputRejected, MediaError, VerificationError
from strongroom.outbound import BlockedDestination, OutboundError
from strongroom.worker.client import EdgeError


class JobFailed(Exception):
    """A job failure outside ffmpeg (source transfer, checksum, upload) with a safe reason."""

    def __init__(self, user_message: str, *, retryable: bool) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.retryable = retryable


@dataclass(frozen=True)
class FailureReport:
    """The body of ``POST <fail_url>``."""

    reason: str
    retryable: bool
    handback: bool = False  # the worker is shutting down: requeue without spending an attempt

    def to_dict(self) -> dict[str, str | bool]:
        """The JSON object the protocol expects."""
        body: dict[str, str | bool] = {"reason": self.reason, "retryable": self.retryable}
        if self.handback:
            body["handback"] = True
        return body


HANDBACK = FailureReport(
    "the worker shut down before finishing; the job was handed back", retryable=True, handback=True
)


def failure_report(error: Exception) -> FailureReport:
    """Map an exception to what the client may see. Unknown errors get a generic reason.

    Never uses ``str(error)`` of an unknown exception: it may hold paths or internals.
    """
    if isinstance(error, MediaError):
        permanent = isinstance(error, InputRejected | VerificationError)
        return FailureReport(error.user_message, retryable=not permanent)
    if isinstance(error, JobFailed):
        return FailureReport(error.user_message, retryable=error.retryable)
    if isinstance(error, OutboundError):
        blocked = isinstance(error, BlockedDestination)
        return FailureReport(f"the source URL could not be fetched: {error.reason}", not blocked)
    if isinstance(error, EdgeError):
        return FailureReport("the worker could not exchange data with the edge", retryable=True)
    if isinstance(error, ValidationError):
        return FailureReport("the job specification is invalid", retryable=False)
    return FailureReport("the worker hit an internal error", retryable=True)
