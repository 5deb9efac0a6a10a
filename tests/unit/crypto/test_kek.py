"""Local key-encryption keys and the keyring."""

from __future__ import annotations

import secrets

import pytest

from strongroom.crypto.kek import Keyring, KeyUnavailableError, LocalKek


def test_a_wrapped_key_unwraps_only_with_the_same_aad() -> None:
    kek = LocalKek("k", secrets.token_bytes(32))
    dek = secrets.token_bytes(32)
    wrapped = kek.wrap(dek, b"object-a")
    assert kek.unwrap(wrapped, b"object-a") == dek
    with pytest.raises(ValueError, match="authenticate"):
        kek.unwrap(wrapped, b"object-b")


def test_a_wrapped_key_does_not_unwrap_under_another_key() -> None:
    wrapped = LocalKek("k", secrets.token_bytes(32)).wrap(b"d" * 32, b"")
    with pytest.raises(ValueError, match="authenticate"):
        LocalKek("k", secrets.token_bytes(32)).unwrap(wrapped, b"")


def test_unwrap_rejects_short_input() -> None:
    with pytest.raises(ValueError, match="short"):
        LocalKek("k", secrets.token_bytes(32)).unwrap(b"tiny", b"")


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_a_local_kek_must_be_32_bytes(size: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        LocalKek("k", bytes(size))


@pytest.mark.parametrize("key_id", ["", "has space", "x" * 256, "caf\u00e9", "tab\tid"])
def test_it_rejects_bad_key_ids(key_id: str) -> None:
    with pytest.raises(ValueError, match="key id"):
        LocalKek(key_id, bytes(32))


def test_repr_hides_the_key() -> None:
    key = secrets.token_bytes(32)
    kek = LocalKek("k", key)
    assert key.hex() not in repr(kek)
    assert repr(key) not in repr(kek)


def test_the_keyring_finds_keys_by_id_and_refuses_unknown_ones() -> None:
    primary, old = LocalKek("new", bytes(32)), LocalKek("old", bytes(32))
    ring = Keyring(primary, [old])
    assert ring.get("old") is old
    assert ring.primary is primary
    assert ring.key_ids == ["new", "old"]
    with pytest.raises(KeyUnavailableError) as info:
        ring.get("gone")
    assert info.value.key_id == "gone"


def test_the_keyring_refuses_two_keys_with_one_id() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Keyring(LocalKek("a", bytes(32)), [LocalKek("a", bytes(32))])
