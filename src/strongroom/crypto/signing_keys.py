"""Ed25519 keys for request signing: generation and text/PEM/seed encodings."""

from __future__ import annotations

import base64
import binascii
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_PUBLIC_KEY_TEXT = re.compile(r"[A-Za-z0-9_-]{43}=?")


def generate_private_key() -> Ed25519PrivateKey:
    """A new random Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def public_key_to_text(key: Ed25519PublicKey) -> str:
    """base64url (no padding) of the raw 32-byte public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """Parse `public_key_to_text` output (padding optional); ValueError on anything else."""
    if not isinstance(text, str) or _PUBLIC_KEY_TEXT.fullmatch(text) is None:
        raise ValueError("an Ed25519 public key is 43 base64url characters")
    try:
        raw = base64.urlsafe_b64decode(text.rstrip("=") + "=")
    except (binascii.Error, ValueError):
        raise ValueError("an Ed25519 public key is 43 base64url characters") from None
    return Ed25519PublicKey.from_public_bytes(raw)


def private_key_to_pem(key: Ed25519PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM; store it with file mode 0600."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def private_key_from_pem(data: bytes) -> Ed25519PrivateKey:
    """Load an unencrypted PKCS#8 PEM Ed25519 key; ValueError for anything else."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ValueError("not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the PEM key is not an Ed25519 key")
    return key


def private_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    """The Ed25519 key whose 32-byte private seed is `seed` (e.g. an HKDF output)."""
    if len(seed) != 32:
        raise ValueError("an Ed25519 seed is 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)
