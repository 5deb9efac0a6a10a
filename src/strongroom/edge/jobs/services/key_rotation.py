"""`strongroom keys rotate`: new data keys get a new KEK, old ones are re-wrapped under it.

Local provider: a new random KEK goes into the object key file and becomes the primary at
once (every process picks it up, see `objects.object_store`); the master key is never rotated,
because it also derives the database key. Vault/AWS: the operator rotates the key in the KMS
first (a new key version under the same id); rotation then moves every data key to the
newest version. Either way a background job re-wraps each stored object's data key (its key
store record; the stored media is never rewritten), in batches, saving a cursor after each,
so it resumes after an interruption and repeats nothing harmful.
"""

from __future__ import annotations

import bisect
import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from strongroom.crypto.datakeys import WrappedKey
from strongroom.crypto.kek import DecryptionError, KeyEncryptionKey, KeyProviderUnavailable
from strongroom.crypto.keyfile import KeyFileError
from strongroom.crypto.local_keks import add_local_kek
from strongroom.crypto.providers import (
    KekConfig,
    KekConfigError,
    KekKind,
    local_kek_file,
    verify_kek,
)
from strongroom.edge.audit.services import record_event
from strongroom.edge.jobs.models import KeyRotation, RotationStatus
from strongroom.edge.jobs.services.keys import ROOTS
from strongroom.edge.jobs.services.objects import object_store
from strongroom.storage.encrypted import EncryptedStore, Rewrap
from strongroom.storage.interface import ObjectNotFound

BATCH_SIZE = 200
SLICE_SECONDS = 30.0  # one run's share of the background consumer before it re-queues itself
CLAIM = timedelta(minutes=5)  # a runner that stops for longer is presumed gone
Refresh = Callable[[WrappedKey], bool] | None


class RotationRefused(Exception):
    """The rotation cannot start or continue; the message says why (no key material)."""


@dataclass(frozen=True)
class RotationStart:
    rotation: KeyRotation
    resumed: bool  # an unfinished rotation was picked up instead of starting a new one


@dataclass
class _Slice:
    done: int = 0
    rewrapped: int = 0
    failed: int = 0
    cursor: str = ""
    error: str = ""


def start_rotation(*, actor: str, key_file_is_shared: bool = False) -> RotationStart:
    """Start a rotation (new primary KEK, background re-wrap), or resume the running one."""
    _refuse_local_key_in_cluster(key_file_is_shared)
    running = KeyRotation.objects.filter(status=RotationStatus.RUNNING).first()
    if running is not None:
        transaction.on_commit(lambda: _enqueue(running.pk), robust=True)
        return RotationStart(running, resumed=True)
    try:
        previous = object_store().keyring.primary.key_id
        target = _new_primary_key()
    except (KekConfigError, KeyFileError) as exc:  # messages name files, never keys
        raise RotationRefused(f"cannot rotate: {exc}") from None
    try:
        with transaction.atomic():
            rotation = KeyRotation.objects.create(
                provider=str(_config().kind),
                previous_key_id=previous,
                target_key_id=target,
                started_by=actor,
            )
            _audit("keys.rotate_started", actor, rotation)
            transaction.on_commit(lambda: _enqueue(rotation.pk), robust=True)
    except IntegrityError:  # another `keys rotate` won the race; carry on with that one
        return start_rotation(actor=actor, key_file_is_shared=key_file_is_shared)
    return RotationStart(rotation, resumed=False)


def _refuse_local_key_in_cluster(key_file_is_shared: bool) -> None:
    """A new local key exists only in this host's key file: with objects in a shared bucket
    (several edges) the others couldn't unwrap what this one re-wraps, unless the file is
    shared. Objects on this host's disk mean one edge, whatever the database."""
    clustered = settings.OBJECT_STORE is not None
    if clustered and _config().kind is KekKind.LOCAL and not key_file_is_shared:
        raise RotationRefused(
            "cannot rotate a local object key in the cluster profile: the other edges would not "
            "have the new key. Use a KMS key (Vault or AWS KMS), or put the object key file on "
            "storage every edge reads and pass --key-file-is-shared"
        )


def _config() -> KekConfig:
    return settings.OBJECT_KEK


def _new_primary_key() -> str:
    config = _config()
    if config.kind is KekKind.LOCAL:
        kek_file, _ = local_kek_file(config, env=os.environ)
        return add_local_kek(kek_file)
    # A KMS key keeps its id; check now that the provider answers, rather than in the job.
    primary = object_store().keyring.primary
    try:
        verify_kek(primary)
    except (KeyProviderUnavailable, ValueError) as exc:
        raise RotationRefused(f"cannot rotate: {exc}") from None
    return primary.key_id


def _enqueue(rotation_id: int) -> None:
    from strongroom.edge.jobs.tasks import rewrap_objects  # noqa: PLC0415  (huey import cycle)

    rewrap_objects(rotation_id)


def _audit(action: str, actor: str, rotation: KeyRotation, **details: object) -> None:
    record_event(
        action=action,
        actor_type="operator" if actor.startswith("cli:") else "system",
        actor=actor,
        target=f"kek:{rotation.target_key_id}",
        details={"rotation": rotation.pk, "from": rotation.previous_key_id, **details},
    )


def run_rotation(
    rotation_id: int, *, seconds: float = SLICE_SECONDS, batch_size: int = BATCH_SIZE
) -> bool:
    """Re-wrap the next objects of a rotation for about `seconds`; True when work remains.
    Claims the rotation so two runners never overlap (False when another holds it). A KMS
    outage raises KeyProviderUnavailable after saving progress, so the caller retries later."""
    if not _claim(rotation_id):
        return False
    try:
        return _run_slice(rotation_id, seconds, batch_size)
    except KeyProviderUnavailable as exc:
        KeyRotation.objects.filter(pk=rotation_id).update(last_error=str(exc))
        raise
    finally:
        KeyRotation.objects.filter(pk=rotation_id).update(claimed_until=None)


def _run_slice(rotation_id: int, seconds: float, batch_size: int) -> bool:
    rotation = KeyRotation.objects.get(pk=rotation_id)
    store = object_store()
    if rotation.target_key_id not in store.keyring.key_ids:  # retired or configured away
        _fail(rotation_id, f"target key {rotation.target_key_id} is no longer in the keyring")
        return False
    target = store.keyring.get(rotation.target_key_id)
    pending = _pending_keys(store, rotation.cursor)
    KeyRotation.objects.filter(pk=rotation_id).update(total=rotation.done + len(pending))
    deadline = time.monotonic() + seconds
    refresh = _refresh_rule(rotation, target)
    for batch in _batches(pending, batch_size):
        result, outage = _rewrap_batch(store, batch, target, refresh)
        _save(rotation_id, result)
        if outage is not None:
            raise outage
        if time.monotonic() > deadline:
            return True
    _finish(rotation_id)
    return False


def _claim(rotation_id: int) -> bool:
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return bool(
        KeyRotation.objects.filter(free, pk=rotation_id, status=RotationStatus.RUNNING).update(
            claimed_until=now + CLAIM
        )
    )


def _pending_keys(store: EncryptedStore, cursor: str) -> list[str]:
    keys = sorted(key for root in ROOTS for key in store.list(root))
    return keys[bisect.bisect_right(keys, cursor) :] if cursor else keys


def _refresh_rule(rotation: KeyRotation, target: KeyEncryptionKey) -> Refresh:
    """Which objects already wrapped by `target` still need re-wrapping: none for a new local
    key; for a KMS key rotated under the same id, those on an older key version."""
    if rotation.previous_key_id != rotation.target_key_id:
        return None
    if rotation.provider == KekKind.VAULT:
        from strongroom.crypto.kms_vault import wrapped_key_version  # noqa: PLC0415  (hvac)

        newest = wrapped_key_version(target.wrap(secrets.token_bytes(32), b"strongroom/probe"))
        return lambda wrapped: wrapped_key_version(wrapped.wrapped) < newest
    # AWS KMS ciphertexts do not show their backing key: ReEncrypt each one once (the cursor
    # makes sure of "once", and ReEncrypting one twice is harmless).
    return lambda _wrapped: True


def _batches(keys: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def _rewrap_batch(
    store: EncryptedStore, keys: Sequence[str], target: KeyEncryptionKey, refresh: Refresh
) -> tuple[_Slice, KeyProviderUnavailable | None]:
    """Re-wrap `keys` in order. Stops early, returning the KMS error, when the KMS is down: the
    objects done so far are kept and the rest waits for a retry (nothing is marked failed)."""
    result = _Slice()
    for key in keys:
        try:
            outcome = store.rewrap(key, target, refresh=refresh)
        except KeyProviderUnavailable as exc:
            result.error = str(exc)
            return result, exc
        except DecryptionError as exc:  # tampered, unknown or retired key: leave it, report
            result.failed += 1
            result.error = str(exc)
        except ObjectNotFound:
            outcome = Rewrap.CHANGED
        else:
            result.rewrapped += outcome is Rewrap.REWRAPPED
        result.done += 1
        result.cursor = key
    return result, None


def _save(rotation_id: int, result: _Slice) -> None:
    if not result.done:
        return
    fields: dict[str, object] = {
        "done": F("done") + result.done,
        "rewrapped": F("rewrapped") + result.rewrapped,
        "failed": F("failed") + result.failed,
        "cursor": result.cursor,
    }
    if result.error:
        fields["last_error"] = result.error
    KeyRotation.objects.filter(pk=rotation_id).update(**fields)


def _finish(rotation_id: int) -> None:
    rotation = KeyRotation.objects.get(pk=rotation_id)
    changed = KeyRotation.objects.filter(pk=rotation_id, status=RotationStatus.RUNNING).update(
        status=RotationStatus.FINISHED, finished_at=timezone.now()
    )
    if changed:
        _audit(
            "keys.rotate_finished",
            "edge",
            rotation,
            objects=rotation.done,
            rewrapped=rotation.rewrapped,
            failed=rotation.failed,
        )


def _fail(rotation_id: int, reason: str) -> None:
    KeyRotation.objects.filter(pk=rotation_id, status=RotationStatus.RUNNING).update(
        status=RotationStatus.FAILED, last_error=reason, finished_at=timezone.now()
    )
    rotation = KeyRotation.objects.get(pk=rotation_id)
    _audit("keys.rotate_failed", "edge", rotation, reason=reason)


def stalled_rotations() -> list[int]:
    """Running rotations nobody is working on (the consumer stopped mid-way)."""
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    idle = Q(updated_at__lt=now - timedelta(minutes=2))
    running = KeyRotation.objects.filter(free & idle, status=RotationStatus.RUNNING)
    return list(running.values_list("pk", flat=True))


def latest_rotation() -> KeyRotation | None:
    return KeyRotation.objects.order_by("-pk").first()
