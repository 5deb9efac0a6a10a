"""StreamEncryptor.update_to: the allocation-free store path gives the same object format."""

from __future__ import annotations

import secrets

import pytest

from strongroom.crypto.envelope import Keyring, LocalKek, StreamEncryptor
from tests.unit.crypto.test_envelope import SMALL, decrypt


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(LocalKek("kek-1", secrets.token_bytes(32)))


def encrypt_with_update_to(data: bytes, keyring: Keyring, piece: int) -> bytes:
    encryptor = StreamEncryptor("obj", keyring, chunk_size=SMALL)
    parts = [encryptor.header()]
    for i in range(0, len(data), piece):
        encryptor.update_to(data[i : i + piece], lambda view: parts.append(bytes(view)))
    parts.append(encryptor.finish())
    return b"".join(parts)


@pytest.mark.parametrize("size", [0, 1, SMALL - 1, SMALL, SMALL + 1, 5 * SMALL + 17])
@pytest.mark.parametrize("piece", [1, 700, SMALL, 3 * SMALL])
def test_it_round_trips_any_size_in_any_pieces(keyring: Keyring, size: int, piece: int) -> None:
    data = secrets.token_bytes(size)
    assert decrypt(encrypt_with_update_to(data, keyring, piece), "obj", keyring) == data


def test_the_emitted_view_is_a_reused_buffer_so_sinks_must_copy(keyring: Keyring) -> None:
    encryptor = StreamEncryptor("obj", keyring, chunk_size=SMALL)
    views: list[memoryview] = []
    encryptor.update_to(secrets.token_bytes(4 * SMALL), views.append)
    assert len(views) == 3 and views[0].obj is views[1].obj  # one buffer for every chunk


def test_a_caller_reusing_its_own_buffer_cannot_corrupt_pending_plaintext(keyring: Keyring) -> None:
    data = secrets.token_bytes(SMALL + 300)
    scratch = bytearray(data[:700])
    encryptor = StreamEncryptor("obj", keyring, chunk_size=SMALL)
    out = [encryptor.header()]
    encryptor.update_to(memoryview(scratch), lambda v: out.append(bytes(v)))
    scratch[:] = b"\0" * 700  # the caller reuses its buffer before the chunk is sealed
    encryptor.update_to(data[700:], lambda v: out.append(bytes(v)))
    out.append(encryptor.finish())
    assert decrypt(b"".join(out), "obj", keyring) == data
