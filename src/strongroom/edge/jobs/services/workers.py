"""Worker identity: one-time join tokens, enrollment, key lookup and the shared replay cache."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from strongroom.crypto.signing import public_key_from_text
from strongroom.edge.jobs.models import JoinToken, SeenNonce, Worker

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
