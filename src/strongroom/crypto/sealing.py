"""Sealed tokens: small values encrypted and authenticated with AES-256-GCM under a rotatable key.

Used for the console's session cookie, so the cookie is both signed and encrypted: a client sees
only an opaque string, and any change to it is detected. The first key of the ring seals; every
key in the ring opens, so a key can be rotated without signing everyone out (ASVS 3.3, 7.2).

Framing (then base64url without padding):  version (1) | key id (4) | nonce (12) | ciphertext+tag
The associated data binds a token to its purpose, so a token sealed for one use can't be replayed
as another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1
KEY_ID_BYTES = 4
NONCE_BYTES = 12
_HEADER = 1 + KEY_ID_BYTES + NONCE_BYTES
MAX_TOKEN_CHARS = 4096  # a cookie can't be larger; longer input is refused before decoding


def key_id(key: bytes) -> bytes:
    """A key's public name: the first bytes of its SHA-256 (reveals nothing useful about it)."""
    return hashlib.sha256(b"strongroom-seal-key-id" + key).digest()[:KEY_ID_BYTES]


class Sealer:
    """Seals with the first key; opens with any key in the ring."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a sealer needs at least one key")
        if any(len(key) != 32 for key in keys):
            raise ValueError("sealing keys are 32 bytes (AES-256)")
        self._primary = keys[0]
        self._ring = {key_id(key): AESGCM(key) for key in keys}

    def seal(self, plaintext: bytes, *, purpose: bytes) -> str:
        kid = key_id(self._primary)
        nonce = os.urandom(NONCE_BYTES)
        header = bytes([VERSION]) + kid + nonce
        sealed = self._ring[kid].encrypt(nonce, plaintext, header + purpose)
        return base64.urlsafe_b64encode(header + sealed).rstrip(b"=").decode("ascii")

    def open(self, token: str, *, purpose: bytes) -> bytes | None:
        """The plaintext, or None if forged, tampered, truncated or sealed under an unknown key."""
        raw = _decode(token)
        if raw is None or len(raw) < _HEADER + 16 or raw[0] != VERSION:
            return None
        cipher = self._ring.get(raw[1 : 1 + KEY_ID_BYTES])
        if cipher is None:
            return None
        header, sealed = raw[:_HEADER], raw[_HEADER:]
        try:
            return cipher.decrypt(header[1 + KEY_ID_BYTES :], sealed, header + purpose)
        except InvalidTag:
            return None


def _decode(token: str) -> bytes | None:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
