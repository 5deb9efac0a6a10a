"""What a failed job tells the client: safe reasons, the right retry flag."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from strongroom.media.errors import (
    Cancelled,
    EncodeFailed,
    InputRejected,
    MediaError,
    MediaTimeout,
    VerificationError,
)
from strongroom.outbound import BlockedDestination, FetchFailed
from strongroom.worker.failures import JobFailed, failure_report


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (InputRejected(), False),
        (VerificationError(), False),
        (EncodeFailed(), True),
        (MediaTimeout(), True),
        (Cancelled(), True),
        (MediaError(), True),
    ],
)
def test_media_errors_map_to_their_retry_flag(error: MediaError, retryable: bool) -> None:
    report = failure_report(error)
    assert report.retryable is retryable
    assert report.reason == error.user_message


def test_operator_detail_never_reaches_the_client() -> None:
    error = EncodeFailed(detail="/var/lib/strongroom/scratch/job-1/source: Invalid data")
    assert "/var/lib" not in failure_report(error).reason


def test_a_blocked_source_url_is_permanent_and_explained() -> None:
    report = failure_report(BlockedDestination("only http and https URLs are allowed"))
    assert not report.retryable
    assert "only http and https" in report.reason


def test_a_failed_source_fetch_is_retryable() -> None:
    assert failure_report(FetchFailed("the URL answered HTTP 503")).retryable


def test_job_failures_keep_their_own_flag() -> None:
    report = failure_report(JobFailed("an output is larger than storage allows", retryable=False))
    assert report.to_dict() == {
        "reason": "an output is larger than storage allows",
        "retryable": False,
    }


def test_an_invalid_job_spec_is_permanent() -> None:
    class Spec(BaseModel):
        n: int

    with pytest.raises(ValidationError) as caught:
        Spec.model_validate({"n": "x"})
    assert failure_report(caught.value).retryable is False


def test_unknown_errors_get_a_generic_reason() -> None:
    report = failure_report(RuntimeError("secret path /etc/strongroom/key and a stack"))
    assert report.reason == "the worker hit an internal error"
    assert report.retryable


def test_edge_trouble_during_a_job_is_retryable() -> None:
    from strongroom.worker.client import EdgeUnavailable

    report = failure_report(EdgeUnavailable("the edge is unavailable (HTTP 503)"))
    assert report.retryable
    assert "edge" in report.reason
