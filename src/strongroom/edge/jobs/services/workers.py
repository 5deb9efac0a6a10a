"""Worker identity: one-time join tokens, enrollment, key lookup and the shared replay cache."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from strongroom.crypto.signing import public_key_from_text
from strongroom.edge.audit.services import record_event
from strongroom.edge.jobs.models import JoinToken, SeenNonce, Worker, WorkItem
from strongroom.edge.jobs.states import WorkItemStatus

JOIN_TOKEN_PREFIX = "srj_"  # noqa: S105  (a prefix for secret scanners, not a secret)


class EnrollmentRefused(Exception):
    """The join token is unknown, used or expired, or the public key is malformed."""


def create_join_token(labels: tuple[str, ...] = ()) -> str:
    token = JOIN_TOKEN_PREFIX + secrets.token_urlsafe(24)
    JoinToken.objects.create(
        digest=_digest(token),
        labels=list(labels),
        expires_at=timezone.now() + timedelta(seconds=settings.JOIN_TOKEN_SECONDS),
    )
    return token


def enroll(join_token: str, public_key: str, name: str, labels: list[str], version: str) -> Worker:
    """Spend the join token (once) and register the worker's own public key."""
    try:
        public_key_from_text(public_key)
    except ValueError:
        raise EnrollmentRefused("malformed public key") from None
    with transaction.atomic():
        token = (
            JoinToken.objects.select_for_update()
            .filter(digest=_digest(join_token), used_at__isnull=True, expires_at__gt=timezone.now())
            .first()
        )
        if token is None:
            raise EnrollmentRefused("join token is unknown, used or expired")
        worker = Worker.objects.create(
            worker_id="wrk_" + secrets.token_hex(12),
            name=name[:120],
            public_key=public_key,
            labels=sorted(set(labels) | set(token.labels)),
            version=version[:40],
        )
        token.used_at = timezone.now()
        token.worker = worker
        token.save(update_fields=["used_at", "worker"])
        record_event(
            action="worker.enrolled",
            actor_type="worker",
            actor=worker.worker_id,
            target=f"worker:{worker.worker_id}",
            details={"labels": worker.labels},
        )
    return worker


def active_worker(worker_id: str) -> Worker | None:
    return Worker.objects.filter(worker_id=worker_id, revoked_at__isnull=True).first()


def worker_public_key(worker_id: str) -> Ed25519PublicKey | None:
    worker = active_worker(worker_id)
    return public_key_from_text(worker.public_key) if worker else None


def remember_nonce(key_id: str, nonce: str, expires: int) -> bool:
    """Record a nonce; False when this key already used it (a replay)."""
    expires_at = datetime.fromtimestamp(expires, tz=UTC) + timedelta(seconds=10)
    try:
        with transaction.atomic():
            SeenNonce.objects.create(key_id=key_id, nonce=nonce[:64], expires_at=expires_at)
    except IntegrityError:
        return False
    return True


def purge_nonces() -> int:
    deleted, _ = SeenNonce.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted


def touch(worker: Worker) -> None:
    now = timezone.now()
    if worker.last_seen_at is None or now - worker.last_seen_at > timedelta(seconds=5):
        Worker.objects.filter(pk=worker.pk).update(last_seen_at=now)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UnknownWorker(Exception):
    """No enrolled worker with that id."""


@dataclass(frozen=True)
class WorkerView:
    worker_id: str
    name: str
    state: str
    labels: tuple[str, ...]
    current_task: str | None
    last_seen_at: datetime | None
    version: str


def list_workers() -> list[WorkerView]:
    """Every enrolled worker with its state: busy, idle, gone (silent past a lease) or revoked."""
    leased = dict(
        WorkItem.objects.filter(status=WorkItemStatus.LEASED, worker__isnull=False).values_list(
            "worker_id", "task__token"
        )
    )
    gone_before = timezone.now() - timedelta(seconds=settings.LEASE_SECONDS)
    return [_view(w, leased.get(w.pk), gone_before) for w in Worker.objects.order_by("enrolled_at")]


def _view(worker: Worker, task: str | None, gone_before: datetime) -> WorkerView:
    if worker.revoked_at:
        state = "revoked"
    elif worker.last_seen_at is None or worker.last_seen_at < gone_before:
        state = "gone"
    else:
        state = "busy" if task else "idle"
    return WorkerView(
        worker.worker_id,
        worker.name,
        state,
        tuple(worker.labels),
        task,
        worker.last_seen_at,
        worker.version,
    )


def revoke_worker(worker_id: str, *, actor: str = "operator") -> Worker:
    """Refuse the worker's key from its next request on; its leases go back to the queue now."""
    with transaction.atomic():
        worker = Worker.objects.select_for_update().filter(worker_id=worker_id).first()
        if worker is None:
            raise UnknownWorker(worker_id)
        if worker.revoked_at is None:
            worker.revoked_at = timezone.now()
            worker.save(update_fields=["revoked_at"])
            # Expire its leases at once: the next claim takes the work over (fenced by attempt).
            WorkItem.objects.filter(worker=worker, status=WorkItemStatus.LEASED).update(
                lease_expires_at=timezone.now() - timedelta(seconds=1)
            )
            record_event(
                action="worker.revoked",
                actor_type="operator",
                actor=actor,
                target=f"worker:{worker_id}",
            )
    return worker
