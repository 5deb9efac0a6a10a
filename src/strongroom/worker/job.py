"""Run one claimed job end to end with guaranteed cleanup, and report how it ended."""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from strongroom.media.errors import Cancelled, MediaError
from strongroom.media.runner import Runner
from strongroom.outbound import FetchPolicy, OutboundError
from strongroom.worker.client import AuthRefused, EdgeClient, EdgeError, LeaseLost
from strongroom.worker.failures import HANDBACK, FailureReport, JobFailed, failure_report
from strongroom.worker.grant import Grant
from strongroom.worker.heartbeat import (
    BeatReply,
    Heartbeat,
    Progress,
    SendBeat,
    Stage,
    StopReason,
)
from strongroom.worker.pipeline import JobContext, run_pipeline
from strongroom.worker.scratch import job_directory

logger = logging.getLogger(__name__)


class JobOutcome(enum.Enum):
    """How a job ended, from the worker's side."""

    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LEASE_LOST = "lease_lost"
    REVOKED = "revoked"


_STOP_OUTCOMES = {
    StopReason.CANCELLED: JobOutcome.CANCELLED,
    StopReason.LEASE_LOST: JobOutcome.LEASE_LOST,
    StopReason.REVOKED: JobOutcome.REVOKED,
}


@dataclass(frozen=True)
class JobResources:
    """What the worker lends each job.

    ``stop`` is the worker's shutdown request; a job still running ``drain_seconds`` after it
    is stopped and handed back to the edge (requeued without spending an attempt).
    """

    client: EdgeClient
    runner: Runner
    state_dir: Path
    fetch_policy: FetchPolicy
    stop: threading.Event = field(default_factory=threading.Event)
    drain_seconds: float = 300.0


def process_job(grant: Grant, resources: JobResources) -> JobOutcome:
    """Run ``grant``'s job; report failures to the edge; always remove the scratch directory.

    A lost lease or a cancellation is not reported (the edge already knows); the job is
    dropped. Never raises for job-level problems.
    """
    cancel, progress = threading.Event(), Progress()
    logger.info("lease %s: claimed (attempt %d)", grant.lease_id, grant.attempt)
    with (
        job_directory(resources.state_dir) as job_dir,
        Heartbeat(
            _beat_sender(resources.client, grant), progress, grant.heartbeat_seconds, cancel
        ) as heartbeat,
    ):
        ctx = JobContext(
            grant=grant,
            job_dir=job_dir,
            client=resources.client,
            runner=resources.runner,
            fetch_policy=resources.fetch_policy,
            progress=progress,
            cancel=cancel,
        )
        with DrainDeadline(resources.stop, resources.drain_seconds, cancel) as drain:
            outcome = _run(ctx, heartbeat, drain)
    logger.info("lease %s: %s", grant.lease_id, outcome.value)
    return outcome


class DrainDeadline:
    """Cancels the job when the worker was asked to stop and the drain period ran out."""

    def __init__(self, stop: threading.Event, seconds: float, cancel: threading.Event) -> None:
        self._stop, self._seconds, self._cancel = stop, seconds, cancel
        self._done = threading.Event()
        self.expired = False
        self._thread = threading.Thread(target=self._watch, name="drain-deadline", daemon=True)

    def __enter__(self) -> DrainDeadline:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join(timeout=1)

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            if self._done.is_set():
                return
        if self._done.wait(self._seconds):
            return
        self.expired = True
        logger.warning("drain period over: handing the job back to the edge")
        self._cancel.set()


def _run(ctx: JobContext, heartbeat: Heartbeat, drain: DrainDeadline) -> JobOutcome:
    try:
        run_pipeline(ctx)
    except LeaseLost:
        return JobOutcome.LEASE_LOST
    except AuthRefused:
        return JobOutcome.REVOKED
    except Exception as exc:
        # Broad on purpose: whatever went wrong, the edge must hear a reason for the job.
        if drain.expired:
            return _fail(ctx, HANDBACK)
        return _after_failure(ctx, heartbeat, exc)
    return JobOutcome.COMPLETED


def _after_failure(ctx: JobContext, heartbeat: Heartbeat, exc: Exception) -> JobOutcome:
    if heartbeat.stop_reason is not None:
        # The edge stopped the job (cancel, lease moved on, key revoked): nothing to report.
        return _STOP_OUTCOMES[heartbeat.stop_reason]
    if not isinstance(exc, Cancelled):
        logger.warning("lease %s: job failed", ctx.grant.lease_id, exc_info=_is_bug(exc))
    return _fail(ctx, failure_report(exc))


def _fail(ctx: JobContext, report: FailureReport) -> JobOutcome:
    try:
        ctx.client.post_json(ctx.grant.fail_url, report.to_dict())
    except LeaseLost:
        return JobOutcome.LEASE_LOST
    except EdgeError as exc:
        # The lease will expire and the reaper retries or fails the task; nothing more to do.
        logger.warning("lease %s: could not report the failure: %s", ctx.grant.lease_id, exc)
    return JobOutcome.FAILED


def _is_bug(exc: Exception) -> bool:
    """Expected failures log one line; anything else logs its traceback (locally only)."""
    return not isinstance(exc, MediaError | JobFailed | OutboundError | EdgeError)


def _beat_sender(client: EdgeClient, grant: Grant) -> SendBeat:
    def send(stage: Stage, percent: int) -> BeatReply:
        reply = client.post_json(grant.heartbeat_url, {"stage": stage.value, "percent": percent})
        return BeatReply(cancel=(reply.data or {}).get("cancel") is True)

    return send
