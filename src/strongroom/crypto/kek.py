"""Key-encryption keys (KEKs): the keys that wrap each object's data key.

A KEK never encrypts media itself; it only wraps and unwraps 32-byte data keys. Local keys
live here; KMS-backed keys (Vault transit, AWS KMS) implement the same `KeyEncryptionKey`
protocol elsewhere. The errors every decryption path raises live here too, so a KEK
provider can raise them without importing the envelope format.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEK_SIZE = 32
DEK_SIZE = 32
_WRAP_NONCE_SIZE = 12
MAX_KEY_ID_LENGTH = 255


class DecryptionError(Exception):
    """An encrypted object could not be authenticated or decrypted.

    The message names the object and the key id, never key material.
    """

    def __init__(self, reason: str, *, object_id: str = "", key_id: str = "") -> None:
        self.object_id = object_id
        self.key_id = key_id
        self.reason = reason
        super().__init__(
            f"cannot decrypt object {object_id or '?'!r} (key {key_id or '?'!r}): {reason}"
        )


class KeyUnavailableError(DecryptionError):
    """The key-encryption key named by an object is unknown or retired."""


class KeyProviderUnavailable(Exception):
    """A KMS-backed key could not be used right now: unreachable, timed out, sealed, throttled,
    or the key is missing or disabled for new data. Fails closed; the message names the key
    id (and the object, once known) and the reason, never a token or key material."""

    def __init__(self, reason: str, *, key_id: str, object_id: str = "") -> None:
        self.reason = reason
        self.key_id = key_id
        self.object_id = object_id
        about = f" (object {object_id!r})" if object_id else ""
        super().__init__(f"key provider for key {key_id!r} is unavailable{about}: {reason}")


class KeyProviderDenied(KeyProviderUnavailable):
    """The KMS refused our credentials or our permissions for this key."""


class KeyEncryptionKey(Protocol):
    """Wraps and unwraps data keys. `unwrap` raises ValueError when the input does not
    authenticate (wrong key, tampered wrapped key, or different `aad`)."""

    key_id: str

    def wrap(self, dek: bytes, aad: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes: ...


def validate_key_id(key_id: str) -> str:
    """Return `key_id` if it is 1-255 printable ASCII characters without spaces, else raise
    ValueError. Key ids are stored in object headers, so they must stay short and plain."""
    if not (0 < len(key_id) <= MAX_KEY_ID_LENGTH) or not key_id.isascii():
        raise ValueError("key id must be 1-255 ASCII characters")
    if not key_id.isprintable() or " " in key_id:
        raise ValueError("key id must be printable and contain no spaces")
    return key_id


class LocalKek:
    """AES-256-GCM key wrap with a local 32-byte key.

    Wrapped form: 12-byte random nonce || ciphertext || 16-byte tag. AES-GCM rather than
    RFC 3394 AES-KW because it also binds `aad` (object id and key id), which KW cannot.
    """

    __slots__ = ("_aead", "key_id")

    def __init__(self, key_id: str, key: bytes) -> None:
        if len(key) != KEK_SIZE:
            raise ValueError("a local key-encryption key must be 32 bytes")
        self.key_id = validate_key_id(key_id)
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return f"LocalKek(key_id={self.key_id!r})"

    def wrap(self, dek: bytes, aad: bytes) -> bytes:
        """Encrypt `dek` under this key, bound to `aad`."""
        nonce = secrets.token_bytes(_WRAP_NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, dek, aad)

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        """Return the data key; ValueError if `wrapped`/`aad` do not authenticate."""
        if len(wrapped) <= _WRAP_NONCE_SIZE + 16:
            raise ValueError("wrapped key is too short")
        try:
            return self._aead.decrypt(wrapped[:_WRAP_NONCE_SIZE], wrapped[_WRAP_NONCE_SIZE:], aad)
        except InvalidTag:
            raise ValueError("wrapped key does not authenticate") from None


class Keyring:
    """The primary KEK (wraps new data keys) plus older ones still able to unwrap."""

    def __init__(self, primary: KeyEncryptionKey, others: Iterable[KeyEncryptionKey] = ()) -> None:
        self.primary = primary
        self._keys: dict[str, KeyEncryptionKey] = {primary.key_id: primary}
        for kek in others:
            if kek.key_id in self._keys and self._keys[kek.key_id] is not kek:
                raise ValueError(f"duplicate key id in keyring: {kek.key_id!r}")
            self._keys[kek.key_id] = kek

    def __repr__(self) -> str:
        return f"Keyring(primary={self.primary.key_id!r}, keys={sorted(self._keys)!r})"

    @property
    def key_ids(self) -> list[str]:
        """All key ids this keyring can unwrap with, sorted."""
        return sorted(self._keys)

    def get(self, key_id: str) -> KeyEncryptionKey:
        """Return the KEK with this id; KeyUnavailableError when unknown or retired."""
        kek = self._keys.get(key_id)
        if kek is None:
            raise KeyUnavailableError("key-encryption key is not available", key_id=key_id)
        return kek
