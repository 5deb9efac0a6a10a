"""The staged job pipeline: fetch -> probe -> plan -> transcode -> verify -> upload -> complete.

Each stage is a small function over a ``JobContext``; ``run_pipeline`` runs them in order and
logs one line per stage. Cleanup (the scratch directory, the heartbeat thread) belongs to the
caller (``strongroom.worker.job``), which wraps this in context managers so it always happens.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from strongroom.media.errors import Cancelled
from strongroom.media.jobspec import JobSpec
from strongroom.media.planner import JobPlan, plan_job
from strongroom.media.probe import MediaInfo
from strongroom.media.runner import Runner
from strongroom.media.verify import OutputFile, OutputReport, verify_output
from strongroom.outbound import FetchPolicy
from strongroom.worker.client import EdgeClient, EdgeRejected, EdgeReply
from strongroom.worker.failures import JobFailed
from strongroom.worker.grant import Grant, output_url
from strongroom.worker.heartbeat import Progress, Stage
from strongroom.worker.source import fetch_source

logger = logging.getLogger(__name__)

SOURCE_NAME = "source"
T = TypeVar("T")


@dataclass(frozen=True)
class JobContext:
    """Everything one job's stages need; nothing about other jobs."""

    grant: Grant
    job_dir: Path
    client: EdgeClient
    runner: Runner
    fetch_policy: FetchPolicy
    progress: Progress
    cancel: threading.Event
    threads: int | None = None


def run_pipeline(ctx: JobContext) -> list[OutputReport]:
    """Run every stage in order and return the reports sent with ``complete``.

    Raises MediaError, JobFailed, OutboundError or an EdgeError; the caller reports those.
    """
    spec = _stage(ctx, "parse", lambda: JobSpec.model_validate(ctx.grant.job))
    source = _stage(ctx, "fetch", lambda: stage_fetch(ctx))
    info = _stage(ctx, "probe", lambda: ctx.runner.probe(source))
    plan = _stage(ctx, "plan", lambda: stage_plan(ctx, spec, info))
    _stage(ctx, "transcode", lambda: stage_transcode(ctx, plan))
    reports = _stage(ctx, "verify", lambda: stage_verify(ctx, plan))
    _stage(ctx, "upload", lambda: stage_upload(ctx, plan, reports))
    _stage(ctx, "complete", lambda: stage_complete(ctx, reports))
    return reports


def stage_fetch(ctx: JobContext) -> Path:
    """Bring the source into the job directory; report download progress."""
    ctx.progress.update(Stage.DOWNLOADING, 0)
    dest = ctx.job_dir / SOURCE_NAME
    size = ctx.grant.source.size or 0

    def on_bytes(done: int) -> None:
        ctx.progress.update(Stage.DOWNLOADING, 100 * done / size if size else 0)

    fetch_source(
        ctx.client,
        ctx.grant.source,
        dest,
        policy=ctx.fetch_policy,
        on_bytes=on_bytes,
        cancel=ctx.cancel,
    )
    _check_cancel(ctx)
    return dest


def stage_plan(ctx: JobContext, spec: JobSpec, info: MediaInfo) -> JobPlan:
    """Turn the spec and the probe into ffmpeg commands (pure)."""
    ctx.progress.update(Stage.ENCODING, 0)
    return plan_job(spec, info, source_path=SOURCE_NAME, threads=ctx.threads)


def stage_transcode(ctx: JobContext, plan: JobPlan) -> None:
    """Run each planned command in the job directory, reporting overall percent."""
    count = len(plan.commands)
    for position, command in enumerate(plan.commands):
        _check_cancel(ctx)

        def on_progress(percent: float, position: int = position) -> None:
            ctx.progress.update(Stage.ENCODING, (position * 100 + percent) / count)

        ctx.runner.run(command, cwd=ctx.job_dir, on_progress=on_progress, cancel=ctx.cancel)


def stage_verify(ctx: JobContext, plan: JobPlan) -> list[OutputReport]:
    """Check every output against its plan; a broken output never reads as success."""
    reports = []
    for planned in plan.outputs:
        _check_cancel(ctx)
        reports.append(verify_output(ctx.runner, planned, ctx.job_dir))
    return reports


def stage_upload(ctx: JobContext, plan: JobPlan, reports: Sequence[OutputReport]) -> None:
    """PUT every output file to the edge, streamed from disk, with progress by bytes.

    A report's file paths are relative to its output's directory (``out<index>/``), the same
    form the upload URL uses.
    """
    ctx.progress.update(Stage.SAVING, 0)
    directories = {planned.index: ctx.job_dir / planned.directory for planned in plan.outputs}
    files = [(report.index, item) for report in reports for item in report.files]
    total = sum(item.size for _index, item in files) or 1
    sent = 0
    for index, item in files:
        _check_cancel(ctx)
        url = output_url(ctx.grant.output_base_url, index, item.path)
        reply = _upload_one(ctx, url, directories[index] / item.path, item)
        _check_receipt(reply, item)
        sent += item.size
        ctx.progress.update(Stage.SAVING, 100 * sent / total)


def stage_complete(ctx: JobContext, reports: Sequence[OutputReport]) -> None:
    """Tell the edge the job is done; a 422 (files differ) becomes a retryable failure."""
    payload = {"outputs": [report.to_dict() for report in reports]}
    try:
        ctx.client.post_json(ctx.grant.complete_url, payload)
    except EdgeRejected as exc:
        raise JobFailed("the edge did not accept the finished outputs", retryable=True) from exc


def _upload_one(ctx: JobContext, url: str, local: Path, item: OutputFile) -> EdgeReply:
    try:
        return ctx.client.put_file(url, local, size=item.size, sha256_hex=item.sha256)
    except EdgeRejected as exc:
        if exc.status == 413:
            raise JobFailed("an output is larger than storage allows", retryable=False) from exc
        raise JobFailed("the edge did not accept an output file", retryable=True) from exc


def _check_receipt(reply: EdgeReply, item: OutputFile) -> None:
    data = reply.data or {}
    if data.get("size") != item.size or data.get("sha256") != item.sha256:
        raise JobFailed("an output file was damaged in transfer", retryable=True)


def _check_cancel(ctx: JobContext) -> None:
    if ctx.cancel.is_set():
        raise Cancelled()


def _stage(ctx: JobContext, name: str, action: Callable[[], T]) -> T:
    with _logged_stage(ctx.grant, name):
        return action()


@contextmanager
def _logged_stage(grant: Grant, name: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    except BaseException as exc:
        logger.info("lease %s: %s failed (%s)", grant.lease_id, name, type(exc).__name__)
        raise
    logger.info("lease %s: %s done in %.1fs", grant.lease_id, name, time.monotonic() - started)
