"""Encrypted database values: AES-256-GCM with the value's place as associated data.

The associated data names the table, the column and the row, so a ciphertext copied into another
row or column (by someone who can write the database but not read the key) fails to decrypt
instead of leaking or swapping a secret. Format, as text so it fits any text column:

    sr1.<key id, 8 hex>.<base64url(nonce 12 ‖ ciphertext ‖ tag)>

Keys form a ring like sealing.py: the first encrypts, every key decrypts (rotation re-encrypts
rows in the background).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sr1"
NONCE_BYTES = 12


class FieldDecryptionError(Exception):
    """A stored value did not decrypt: wrong place, wrong key, or altered. Names no secret."""


def field_key_id(key: bytes) -> str:
    return hashlib.sha256(b"strongroom-field-key-id" + key).hexdigest()[:8]


def associated_data(table: str, column: str, row: str) -> bytes:
    # Length-prefixed so ("ab", "c") and ("a", "bc") can never collide.
    parts = (table, column, row)
    return b"".join(len(p.encode()).to_bytes(2, "big") + p.encode() for p in parts)


def is_encrypted(value: str) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX + ".") and value.count(".") == 2


class FieldCipher:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys or any(len(key) != 32 for key in keys):
            raise ValueError("field keys are one or more 32-byte AES-256 keys")
        self._primary_id = field_key_id(keys[0])
        self._ring = {field_key_id(key): AESGCM(key) for key in keys}

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ring[self._primary_id].encrypt(nonce, plaintext.encode("utf-8"), aad)
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{PREFIX}.{self._primary_id}.{body}"

    def decrypt(self, stored: str, aad: bytes) -> str:
        if not is_encrypted(stored):
            raise FieldDecryptionError("the value is not in the encrypted format")
        _, key_id, body = stored.split(".")
        cipher = self._ring.get(key_id)
        if cipher is None:
            raise FieldDecryptionError(f"no field key with id {key_id}")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plaintext = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
        except (binascii.Error, ValueError, InvalidTag):
            raise FieldDecryptionError(
                f"the value under field key {key_id} does not decrypt in this place"
            ) from None
        return plaintext.decode("utf-8")

    def needs_rotation(self, stored: str) -> bool:
        return is_encrypted(stored) and stored.split(".")[1] != self._primary_id
