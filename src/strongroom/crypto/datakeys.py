"""Wrapping, unwrapping and re-wrapping one object's data key (DEK) under a KEK.

Shared by both envelope formats: format 1 keeps the wrapped DEK in the object header,
format 2 keeps it in a wrapped-key store the header points to. Either way the wrap is bound
to the object id and the KEK id (`wrap_aad`), so a wrapped key copied to another object, or
relabelled with another key id, does not unwrap.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from strongroom.crypto.kek import (
    DEK_SIZE,
    DecryptionError,
    KeyEncryptionKey,
    KeyProviderDenied,
    KeyProviderUnavailable,
    Keyring,
    KeyUnavailableError,
)

__all__ = ["WrappedKey", "rewrap_key", "unwrap_dek", "wrap_aad", "wrap_dek"]

_TAMPERED = "tampered, truncated, reordered, or taken from another object"


@dataclass(frozen=True)
class WrappedKey:
    """A data key wrapped by the KEK `key_id`. `wrapped` is never shown in a repr."""

    key_id: str
    wrapped: bytes = field(repr=False)


@runtime_checkable
class _InKmsRewrap(Protocol):
    # Same shape as providers.RewrappingKek; repeated here because providers imports the
    # envelope side, and an import cycle would be the price of reusing it.
    def rewrap(self, wrapped: bytes, aad: bytes) -> bytes: ...


def wrap_aad(object_id: str, key_id: str) -> bytes:
    """The associated data a DEK is wrapped with: the object id (length-prefixed, so
    (object id, key id) pairs can never collide) and the KEK id."""
    oid = object_id.encode("utf-8")
    return b"strongroom/dek\x00" + len(oid).to_bytes(4, "big") + oid + key_id.encode("ascii")


def wrap_dek(dek: bytes, object_id: str, kek: KeyEncryptionKey) -> WrappedKey:
    """Wrap `dek` for `object_id` under `kek`."""
    return WrappedKey(kek.key_id, kek.wrap(dek, wrap_aad(object_id, kek.key_id)))


def kek_for(key_id: str, object_id: str, keyring: Keyring) -> KeyEncryptionKey:
    """The keyring's KEK `key_id`; KeyUnavailableError naming the object when it is unknown
    or retired."""
    try:
        return keyring.get(key_id)
    except KeyUnavailableError as exc:
        raise KeyUnavailableError(exc.reason, object_id=object_id, key_id=key_id) from None


@contextmanager
def _naming(object_id: str, key_id: str) -> Iterator[None]:
    """Re-raise a KEK's failure so it names the object and key id (never key material)."""
    try:
        yield
    except KeyUnavailableError as exc:  # a KMS that retired or lost the key version
        raise KeyUnavailableError(exc.reason, object_id=object_id, key_id=key_id) from None
    except KeyProviderDenied as exc:
        raise KeyProviderDenied(exc.reason, key_id=exc.key_id, object_id=object_id) from None
    except KeyProviderUnavailable as exc:  # unreachable or sealed: fail closed, name the object
        raise KeyProviderUnavailable(exc.reason, key_id=exc.key_id, object_id=object_id) from None
    except ValueError:
        raise DecryptionError(
            f"data key does not authenticate (wrong key, or header {_TAMPERED})",
            object_id=object_id,
            key_id=key_id,
        ) from None


def unwrap_dek(wrapped: WrappedKey, object_id: str, keyring: Keyring) -> bytes:
    """The data key of `object_id`. Every failure names the object and the key id: an unknown
    or retired key (KeyUnavailableError), a refused or unreachable KMS (KeyProviderDenied /
    KeyProviderUnavailable), a wrapped key that does not authenticate (DecryptionError)."""
    kek = kek_for(wrapped.key_id, object_id, keyring)
    with _naming(object_id, wrapped.key_id):
        dek = kek.unwrap(wrapped.wrapped, wrap_aad(object_id, wrapped.key_id))
    if len(dek) != DEK_SIZE:
        raise DecryptionError(
            "data key has the wrong size", object_id=object_id, key_id=wrapped.key_id
        )
    return dek


def rewrap_key(
    wrapped: WrappedKey, object_id: str, keyring: Keyring, target: KeyEncryptionKey
) -> WrappedKey:
    """`wrapped` re-wrapped under `target` (key rotation). When the key id stays the same and
    the KMS can re-encrypt internally (AWS KMS ReEncrypt), the data key never reaches this
    process; otherwise it is unwrapped here and wrapped again. Errors as for `unwrap_dek`."""
    if wrapped.key_id == target.key_id and isinstance(target, _InKmsRewrap):
        with _naming(object_id, target.key_id):
            rewrapped = target.rewrap(wrapped.wrapped, wrap_aad(object_id, target.key_id))
        return WrappedKey(target.key_id, rewrapped)
    return wrap_dek(unwrap_dek(wrapped, object_id, keyring), object_id, target)
