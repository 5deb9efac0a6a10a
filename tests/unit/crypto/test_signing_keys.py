"""Ed25519 key encodings."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from strongroom.crypto.signing_keys import (
    generate_private_key,
    private_key_from_pem,
    private_key_from_seed,
    private_key_to_pem,
    public_key_from_text,
    public_key_to_text,
)


def raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_public_keys_round_trip_as_43_base64url_characters() -> None:
    public = generate_private_key().public_key()
    text = public_key_to_text(public)
    assert len(text) == 43
    assert raw(public_key_from_text(text)) == raw(public)
    assert raw(public_key_from_text(text + "=")) == raw(public)


@pytest.mark.parametrize(
    "text", ["", "abc", "A" * 42, "A" * 44, "A" * 42 + "+", "A" * 42 + "/", " " + "A" * 42]
)
def test_public_key_from_text_rejects_junk(text: str) -> None:
    with pytest.raises(ValueError):
        public_key_from_text(text)


def test_private_keys_round_trip_through_pem() -> None:
    key = generate_private_key()
    pem = private_key_to_pem(key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert raw(private_key_from_pem(pem).public_key()) == raw(key.public_key())


def test_private_key_from_pem_rejects_other_key_types_and_junk() -> None:
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="Ed25519"):
        private_key_from_pem(ec_pem)
    with pytest.raises(ValueError):
        private_key_from_pem(b"not a pem")


def test_a_seed_gives_the_same_key_every_time() -> None:
    seed = bytes(range(32))
    assert raw(private_key_from_seed(seed).public_key()) == raw(
        private_key_from_seed(seed).public_key()
    )
    with pytest.raises(ValueError, match="32"):
        private_key_from_seed(b"short")
