"""The worker process: enroll once, then claim -> run -> report until told to stop."""

from __future__ import annotations

import enum
import logging
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from strongroom.media.errors import MediaError
from strongroom.media.limits import Limits
from strongroom.media.runner import Runner, SandboxMode, find_ffmpeg
from strongroom.outbound import FetchPolicy
from strongroom.worker.capacity import this_machine_slots
from strongroom.worker.client import (
    AuthRefused,
    EdgeClient,
    EdgeError,
    EdgeReply,
    check_edge_url,
)
from strongroom.worker.enroll import EnrollmentFailed, ensure_identity
from strongroom.worker.grant import Grant, InvalidGrant, parse_grant
from strongroom.worker.identity import Identity, IdentityError, prepare_state_dir
from strongroom.worker.job import JobOutcome, JobResources, process_job
from strongroom.worker.scratch import remove_stale

logger = logging.getLogger(__name__)

CLAIM_PATH = "/internal/worker/claim"
MAX_CLAIM_WAIT = 25
UNAVAILABLE_PAUSE = 5.0


class ExitCode(enum.IntEnum):
    """The worker process's exit status."""

    OK = 0
    SETUP_FAILED = 2  # enrollment, state directory, edge URL or ffmpeg: fix and restart
    REVOKED = 3  # the edge no longer accepts this worker's key: enroll again


@dataclass(frozen=True)
class WorkerConfig:
    """How to reach the edge and where to keep state. ``join_token`` is needed only once.

    ``fetch_policy`` governs external (client URL) sources; ``threads`` is passed to the
    planner (None lets ffmpeg choose).
    """

    edge_url: str
    state_dir: Path
    join_token: str | None = None
    ca_file: Path | None = None
    name: str = field(default_factory=socket.gethostname)
    labels: tuple[str, ...] = ()
    ffmpeg: str | None = None
    claim_wait: int = 20
    drain_seconds: float = 300.0  # after SIGTERM, finish the job for this long, then hand it back
    sandbox: SandboxMode = "auto"
    fetch_policy: FetchPolicy = field(default_factory=FetchPolicy)
    limits: Limits = field(default_factory=Limits)
    slots: int | None = 1  # jobs at once; None: from this machine's cores and memory

    def __repr__(self) -> str:
        # The join token is a credential: never let it reach a log through a repr.
        return f"WorkerConfig(edge_url={self.edge_url!r}, state_dir={str(self.state_dir)!r})"


def run_worker(
    config: WorkerConfig,
    stop: threading.Event | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Run until ``stop`` is set (or SIGTERM/SIGINT in the main thread); return the exit code.

    A stop request ends claiming; a job already claimed is finished first. ``transport`` is for
    tests that stand in for the edge.
    """
    stop = stop or threading.Event()
    with _stop_on_signals(stop):
        try:
            identity, runner = _set_up(config, transport)
        except (EnrollmentFailed, IdentityError, MediaError, ValueError, OSError) as exc:
            logger.error("worker setup failed: %s", _setup_message(exc))
            return ExitCode.SETUP_FAILED
        client = EdgeClient(
            identity.edge_url,
            key=identity.private_key,
            key_id=identity.worker_id,
            edge_public_key=identity.edge_public_key,
            ca_file=config.ca_file,
            transport=transport,
        )
        with closing(client):
            resources = JobResources(
                client,
                runner,
                config.state_dir,
                config.fetch_policy,
                stop=stop,
                drain_seconds=config.drain_seconds,
            )
            slots = config.slots or this_machine_slots()
            logger.info("this worker runs up to %d job(s) at once", slots)
            return _run_slots(config, resources, stop, slots)


def _run_slots(
    config: WorkerConfig, resources: JobResources, stop: threading.Event, slots: int
) -> int:
    """One claim loop per slot. The calling thread runs one of them, so a signal can still cut
    its idle long-poll short; the others notice `stop` when their long-poll ends."""
    codes: list[int] = []

    def loop() -> None:
        code = _claim_loop(config, resources, stop)
        codes.append(code)
        if code is ExitCode.REVOKED:
            stop.set()  # a revoked key ends every slot

    extra = [threading.Thread(target=loop, name=f"slot-{n}") for n in range(1, slots)]
    for thread in extra:
        thread.start()
    loop()
    for thread in extra:
        thread.join()
    return max(codes)


def _set_up(config: WorkerConfig, transport: httpx.BaseTransport | None) -> tuple[Identity, Runner]:
    check_edge_url(config.edge_url)
    prepare_state_dir(config.state_dir)
    remove_stale(config.state_dir)
    runner = Runner(find_ffmpeg(config.ffmpeg), limits=config.limits, sandbox=config.sandbox)
    identity = ensure_identity(
        state_dir=config.state_dir,
        edge_url=config.edge_url,
        join_token=config.join_token,
        ca_file=config.ca_file,
        name=config.name,
        labels=worker_labels(config),
        transport=transport,
    )
    return identity, runner


# Encoders the pinned ffmpeg build (imageio-ffmpeg's) always has, as the labels jobs ask for
# (media.jobspec.ENCODER_LABELS). With an operator's own ffmpeg, the operator labels the worker.
PINNED_BUILD_LABELS = ("av1", "hevc")


def worker_labels(config: WorkerConfig) -> tuple[str, ...]:
    extra = PINNED_BUILD_LABELS if config.ffmpeg is None else ()
    return tuple(sorted({*config.labels, *extra}))


def _setup_message(exc: Exception) -> str:
    if isinstance(exc, MediaError):
        return exc.user_message
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc.strerror or 'I/O error'}"
    return str(exc)


class _StopWhileIdle(BaseException):
    """Raised by the signal handler to end an idle long-poll claim at once.

    A BaseException, so no retry loop below treats it as a transport error. At worst a grant
    that was in flight is dropped: its lease expires and the work goes to another worker.
    """


_IDLE_CLAIM = threading.Event()


def _claim_loop(config: WorkerConfig, resources: JobResources, stop: threading.Event) -> int:
    while not stop.is_set():
        try:
            grant = _idle_claim(resources.client, config.claim_wait, config.edge_url)
        except _StopWhileIdle:
            break
        except AuthRefused:
            logger.error("the edge refused this worker's key: it was revoked; enroll again")
            return ExitCode.REVOKED
        except (EdgeError, InvalidGrant) as exc:
            logger.warning("claim failed: %s", exc)
            stop.wait(UNAVAILABLE_PAUSE)
            continue
        if grant is not None and process_job(grant, resources) is JobOutcome.REVOKED:
            logger.error("the edge refused this worker's key during a job; enroll again")
            return ExitCode.REVOKED
    logger.info("stop requested: no more claims; exiting")
    return ExitCode.OK


def _idle_claim(client: EdgeClient, wait: int, edge_url: str) -> Grant | None:
    # Only the main thread's long-poll may be interrupted by the signal handler (which runs
    # there); other slots' polls end on their own within `wait` seconds.
    interruptible = threading.current_thread() is threading.main_thread()
    if interruptible:
        _IDLE_CLAIM.set()
    try:
        return claim(client, wait, edge_url)
    finally:
        if interruptible:
            _IDLE_CLAIM.clear()


def claim(client: EdgeClient, wait: int, edge_url: str) -> Grant | None:
    """Long-poll the edge for work; return the grant, or None when nothing was claimable."""
    wait = max(0, min(MAX_CLAIM_WAIT, wait))
    reply: EdgeReply = client.post_json(
        client.endpoint(CLAIM_PATH),
        {"wait": wait},
        expected=frozenset({200, 204}),
        read_timeout=wait + 15.0,
    )
    if reply.status == 204 or reply.data is None:
        return None
    return parse_grant(reply.data, edge_url)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn SIGTERM/SIGINT into ``stop`` while running (only possible in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info(
            "received %s: finishing the current job, then exiting", signal.Signals(signum).name
        )
        stop.set()
        if _IDLE_CLAIM.is_set():  # nothing in hand: don't sit out the long-poll
            raise _StopWhileIdle

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
