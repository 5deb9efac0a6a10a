"""Creating and starting tasks (Qencode's create_task and start_encode2)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from strongroom.edge.accounts.apikeys import require_scope
from strongroom.edge.accounts.models import ApiKey, Project
from strongroom.edge.accounts.permissions import Action
from strongroom.edge.jobs.models import Output, Task, Upload, WorkItem
from strongroom.edge.jobs.services.destinations import store_destinations
from strongroom.edge.jobs.services.transitions import move_task
from strongroom.edge.jobs.states import TaskStatus
from strongroom.media.jobspec import JobSpec, required_labels
from strongroom.media.qencode import parse_start_encode2

TUS_PREFIX = "tus:"
MAX_PAYLOAD_CHARS = 1000


class TaskNotFound(Exception):
    """No task with that token."""


class TaskAlreadyStarted(Exception):
    """start_encode2 was already accepted for this task token (a token is used once)."""


class SourceUnavailable(Exception):
    """The `tus:` source is unknown, belongs to another project, or is not fully uploaded."""


class PayloadTooLong(Exception):
    """`payload` is longer than Qencode's 1000 characters."""


def create_task(project: Project, api_key: ApiKey | None = None) -> Task:
    """A new task; `api_key` is the key whose access token asked (None: console or CLI)."""
    return Task.objects.create(project=project, api_key=api_key, token=secrets.token_hex(16))


def find_task(token: str) -> Task:
    task = Task.objects.select_related("project", "api_key").filter(token=token).first()
    if task is None:
        raise TaskNotFound(token)
    return task


def start_task(token: str, query_text: str, payload: str = "") -> Task:
    """Validate the query, then persist the spec, outputs and work item in one transaction.

    Raises QueryError (from the query parser), TaskNotFound, ScopeMissing (the task's key may
    not write tasks), TaskAlreadyStarted, SourceUnavailable or PayloadTooLong; on any of them
    nothing is written.
    """
    if len(payload) > MAX_PAYLOAD_CHARS:
        raise PayloadTooLong
    parsed = parse_start_encode2(query_text)  # destination credentials come back apart
    spec = parsed.spec
    with transaction.atomic():
        task = find_task(token)
        require_scope(task.api_key, Action.TASK_CREATE)
        source_size = _check_source(task, spec)
        if not move_task(
            task.pk,
            TaskStatus.QUEUED,
            only_from=(TaskStatus.CREATED,),
            spec=spec.model_dump(mode="json"),
            payload=payload,
            warnings=list(spec.warnings),
            source_size=source_size,
            started_at=timezone.now(),
        ):
            raise TaskAlreadyStarted(token)
        _create_outputs(task, spec)
        store_destinations(task, spec, parsed.credentials)
        if spec.callback_url:
            transaction.on_commit(lambda: _announce_queued(task.pk), robust=True)
        WorkItem.objects.create(
            task=task,
            max_attempts=settings.MAX_ATTEMPTS,
            required_labels=list(required_labels(spec)),
        )
    task.refresh_from_db()
    return task


def _announce_queued(task_id: int) -> None:
    from strongroom.edge.jobs.tasks import deliver_callback  # noqa: PLC0415  (huey import cycle)

    deliver_callback(task_id, "queued")


def _check_source(task: Task, spec: JobSpec) -> int | None:
    if not spec.source.startswith(TUS_PREFIX):
        return None
    upload = source_upload(spec.source)
    if upload is None or upload.task.project_id != task.project_id or not upload.complete:
        raise SourceUnavailable(spec.source)
    return upload.length


def source_upload(source: str) -> Upload | None:
    uuid = source.removeprefix(TUS_PREFIX)
    return Upload.objects.select_related("task").filter(uuid=uuid).first()


def _create_outputs(task: Task, spec: JobSpec) -> None:
    Output.objects.bulk_create(
        Output(
            task=task, index=output.index, kind=output.kind.value, user_tag=output.user_tag or ""
        )
        for output in spec.outputs
    )
