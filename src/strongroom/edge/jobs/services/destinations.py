"""Output destinations: storing them with encrypted credentials, copying outputs to them after
the worker's results are verified, and what the status object says about them.

Lifecycle: ``start_task`` stores one ``Destination`` row per destination (credentials only as
ciphertext). When the worker completes, ``hold_for_delivery`` keeps a task that has
destinations in ``saving`` and queues the copy after the commit. The copy job
(``jobs.tasks.deliver_destinations``) calls ``deliver`` once per attempt; destinations already
delivered are skipped, so a retry redoes only what failed. When every destination is
delivered the task completes; when the attempts run out it fails with an
``error_description`` naming the output, bucket and key. Either way the credentials are erased.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from strongroom.edge.jobs.models import DeliveryStatus, Destination, Output, Task
from strongroom.edge.jobs.services.destinations_s3 import (
    CopyFailed,
    CopyRequest,
    S3Copier,
    destination_policy,
    endpoint_url,
)
from strongroom.edge.jobs.services.objects import object_store
from strongroom.edge.jobs.services.transitions import move_task
from strongroom.edge.jobs.states import TaskStatus, WorkItemStatus
from strongroom.media.destinations import (
    DestinationCredentials,
    S3Location,
    object_key,
    parse_s3_url,
)
from strongroom.media.jobspec import JobSpec, OutputKind
from strongroom.storage.interface import ObjectNotFound

logger = logging.getLogger(__name__)

UNEXPECTED = "The outputs could not be saved to their destinations (an internal error)."
STALLED_SECONDS = 2 * 3600  # longer than any one destination's copy should take
ATTEMPTS = 4  # per delivery; the pause before attempt n is RETRY_BACKOFF_SECONDS * 4**(n-2)


def retry_delay(attempt: int) -> int:
    """Seconds to wait after failed attempt ``attempt`` (1-based)."""
    return int(settings.RETRY_BACKOFF_SECONDS * 4 ** (attempt - 1))


@dataclass(frozen=True)
class Attempt:
    """How one delivery attempt ended: everything delivered, or the first failure's text."""

    done: bool
    error: str = ""


def store_destinations(
    task: Task, spec: JobSpec, credentials: Mapping[tuple[int, int], DestinationCredentials]
) -> None:
    """One row per destination of every output (inside start_task's transaction)."""
    rows = []
    for output in spec.outputs:
        for position, destination in enumerate(output.destinations):
            secret = credentials[(output.index, position)]
            row = Destination(
                task=task,
                output_index=output.index,
                position=position,
                url=destination.url,
                permissions=destination.permissions or "",
                cache_control=destination.cache_control or "",
                storage_class=destination.storage_class or "",
            )
            row.access_key, row.secret_key = secret.access_key, secret.secret_key
            rows.append(row)
    for row in rows:
        row.save()  # save(), not bulk_create: the fields encrypt against each row's uid


def hold_for_delivery(task_id: int) -> bool:
    """Called as the worker's results are accepted (inside that transaction): True when the
    task has destinations to fill, in which case the copy is queued after the commit and the
    task stays in ``saving`` until it is done."""
    if not Destination.objects.filter(task_id=task_id, status=DeliveryStatus.PENDING).exists():
        return False
    from strongroom.edge.jobs.tasks import deliver_destinations  # noqa: PLC0415  (huey cycle)

    transaction.on_commit(lambda: deliver_destinations(task_id), robust=True)
    return True


def deliver(task_id: int) -> Attempt:
    """Copy every output to each destination not yet delivered. Never raises for a copy
    failure: it is recorded on the destination and returned."""
    task = Task.objects.filter(pk=task_id).first()
    if task is None or task.status != TaskStatus.SAVING:
        return Attempt(done=True)  # cancelled, failed or already finished meanwhile
    outputs = {o.index: o for o in Output.objects.filter(task_id=task_id)}
    pending = Destination.objects.filter(task_id=task_id, status=DeliveryStatus.PENDING)
    for destination in pending:
        error = _deliver_one(destination, outputs[destination.output_index])
        if error:
            return Attempt(done=False, error=error)
    return Attempt(done=True)


def _deliver_one(destination: Destination, output: Output) -> str:
    destination.attempts += 1
    destination.save(update_fields=["attempts", "updated_at"])  # in progress, see stalled_tasks
    try:
        copy_output(destination, output)
    except (CopyFailed, ObjectNotFound) as exc:
        reason = str(exc) if isinstance(exc, CopyFailed) else "a file of it is no longer stored"
        error = f"Output {output.index} could not be saved to its destination ({reason})."
        destination.last_error = error[:2000]
        destination.save(update_fields=["last_error", "updated_at"])
        logger.info("destination delivery failed for task %s: %s", output.task_id, error)
        return error
    destination.status = DeliveryStatus.DELIVERED
    destination.delivered_at = timezone.now()
    destination.last_error = ""
    destination.save(update_fields=["status", "delivered_at", "last_error", "updated_at"])
    _erase_credentials(Destination.objects.filter(pk=destination.pk))
    return ""


def copy_output(destination: Destination, output: Output) -> None:
    """Copy the output's files (its main file, or every file of a folder kind)."""
    location = parse_s3_url(destination.url)
    if destination.access_key is None or destination.secret_key is None:
        raise CopyFailed("its credentials are no longer stored")
    credentials = DestinationCredentials(destination.access_key, destination.secret_key)
    destination.endpoint = endpoint_url(location)
    destination.save(update_fields=["endpoint"])
    copier = S3Copier(location, credentials, destination.endpoint, destination_policy())
    store = object_store()
    prefix = str(output.report["prefix"])
    try:
        for path in _paths(output):
            key = object_key(location, OutputKind(output.kind), path, output.main_file)
            if key is None:
                continue
            copier.copy(
                CopyRequest(
                    bucket=location.bucket,
                    key=key,
                    chunks=iter(store.read(prefix + path)),
                    permissions=destination.permissions,
                    cache_control=destination.cache_control,
                    storage_class=destination.storage_class,
                )
            )
    finally:
        copier.close()


def _paths(output: Output) -> list[str]:
    # The main file last: a player that finds the playlist can then fetch every segment.
    paths = [str(entry["path"]) for entry in output.files if entry["path"] != output.main_file]
    return [*sorted(paths), output.main_file]


def stalled_tasks() -> list[int]:
    """Tasks waiting in ``saving`` for a copy that nobody has touched for STALLED_SECONDS (the
    queued job was lost, say the consumer died mid-copy): the periodic job queues them again."""
    cutoff = timezone.now() - timedelta(seconds=STALLED_SECONDS)
    waiting = Task.objects.filter(
        status=TaskStatus.SAVING, destinations__status=DeliveryStatus.PENDING
    ).exclude(work_items__status__in=[WorkItemStatus.QUEUED, WorkItemStatus.LEASED])
    recent = Destination.objects.filter(updated_at__gte=cutoff).values("task_id")
    return list(waiting.exclude(pk__in=recent).distinct().values_list("pk", flat=True))


def finish(task_id: int, attempt: Attempt) -> None:
    """The task completes once all is delivered, or fails with the last error."""
    with transaction.atomic():
        if attempt.done:
            move_task(task_id, TaskStatus.COMPLETED, only_from=(TaskStatus.SAVING,), percent=100.0)
        else:
            move_task(task_id, TaskStatus.ERROR, error_description=attempt.error[:2000])
            Destination.objects.filter(task_id=task_id, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.FAILED
            )
        forget_credentials(task_id)


def forget_credentials(task_id: int) -> None:
    """Erase the stored keys of a task's destinations (nothing needs them any more)."""
    _erase_credentials(Destination.objects.filter(task_id=task_id))


def _erase_credentials(rows: QuerySet[Destination]) -> None:
    # update() with None writes no plaintext, which EncryptedTextField allows.
    rows.filter(access_key__isnull=False).update(access_key=None, secret_key=None)


def status_details(destinations: list[Destination], output: Output) -> dict[str, Any] | None:
    """The status item's ``url`` and ``storage`` for an output with destinations (Qencode
    shows the first destination), or None for an output served from our store."""
    if not destinations:
        return None
    first = destinations[0]
    location = parse_s3_url(first.url)
    key = object_key(location, OutputKind(output.kind), output.main_file, output.main_file)
    # The scheme used for the copy (https unless the operator allowed plain http for the host).
    scheme = first.endpoint.partition("://")[0] or "https"
    return {
        "url": _public_url(scheme, location, key),
        "storage": {
            "type": "amazon_s3" if location.is_aws else "custom_s3",
            "bucket": location.bucket,
            "host": location.host,
            "key": key,
            "scheme": scheme,
            "port": location.port,
        },
    }


def _public_url(scheme: str, location: S3Location, key: str) -> str:
    # AWS's own form is virtual-hosted (bucket.host); other servers are addressed by path.
    if location.is_aws and "." not in location.bucket:
        return f"{scheme}://{location.bucket}.{location.netloc}/{key}"
    return f"{scheme}://{location.netloc}/{location.bucket}/{key}"
