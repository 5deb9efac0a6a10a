"""Progress tracking and the heartbeat thread that keeps a lease alive.

The job thread records its stage and percent in a ``Progress``; the ``Heartbeat`` thread sends
the latest values every ``heartbeat_seconds``. When the edge says ``cancel: true``, answers 409
(the lease moved on) or 401 (the worker was revoked), the heartbeat sets the job's cancel event
so the running stage stops at its next check (the media runner kills ffmpeg).
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from strongroom.worker.client import AuthRefused, EdgeError, LeaseLost

logger = logging.getLogger(__name__)


class Stage(enum.StrEnum):
    """The stages the edge knows about (the protocol's heartbeat ``stage`` values)."""

    DOWNLOADING = "downloading"
    ENCODING = "encoding"
    SAVING = "saving"


class StopReason(enum.Enum):
    """Why the heartbeat asked the job to stop."""

    CANCELLED = "cancelled"
    LEASE_LOST = "lease_lost"
    REVOKED = "revoked"


@dataclass(frozen=True)
class BeatReply:
    """What a heartbeat answer tells the worker."""

    cancel: bool


class Progress:
    """The current stage and percent of a job, shared between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stage = Stage.DOWNLOADING
        self._percent = 0

    def update(self, stage: Stage, percent: float = 0) -> None:
        """Record ``stage`` at ``percent`` (clamped to 0-100)."""
        with self._lock:
            self._stage, self._percent = stage, max(0, min(100, int(percent)))

    def snapshot(self) -> tuple[Stage, int]:
        """The latest (stage, percent)."""
        with self._lock:
            return self._stage, self._percent


SendBeat = Callable[[Stage, int], BeatReply]


class Heartbeat:
    """Sends beats from a daemon thread until stopped; sets ``cancel`` when the job must end."""

    def __init__(
        self, send: SendBeat, progress: Progress, interval: float, cancel: threading.Event
    ) -> None:
        self._send, self._progress, self._interval = send, progress, interval
        self.cancel = cancel
        self.stop_reason: StopReason | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopped.set()
        self._thread.join(timeout=self._interval + 5)

    def beat_once(self) -> None:
        """Send one beat and act on the answer; network trouble is logged and tolerated."""
        stage, percent = self._progress.snapshot()
        try:
            reply = self._send(stage, percent)
        except LeaseLost:
            self._request_stop(StopReason.LEASE_LOST)
        except AuthRefused:
            self._request_stop(StopReason.REVOKED)
        except EdgeError as exc:
            # The lease outlives a few missed beats; if it expires, the next beat gets 409.
            logger.warning("heartbeat failed: %s", exc)
        else:
            if reply.cancel:
                self._request_stop(StopReason.CANCELLED)

    def _loop(self) -> None:
        while not self._stopped.wait(self._interval) and not self.cancel.is_set():
            self.beat_once()

    def _request_stop(self, reason: StopReason) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
            logger.info("job stop requested by the edge: %s", reason.value)
        self.cancel.set()
