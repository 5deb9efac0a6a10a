"""Envelope format 2: the header holds a key reference, the wrapped data key lives elsewhere."""

from __future__ import annotations

import secrets

import pytest

from strongroom.crypto.datakeys import WrappedKey, rewrap_key, unwrap_dek, wrap_dek
from strongroom.crypto.envelope import (
    HEADER_MAX_SIZE,
    TAG_SIZE,
    ChunkDecryptor,
    DecryptionError,
    Keyring,
    KeyUnavailableError,
    LocalKek,
    StreamEncryptor,
    new_key_ref,
    parse_header,
    rewrap_header,
    whole_object_span,
)

SMALL = 1024


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(LocalKek("kek-1", secrets.token_bytes(32)))


def encrypt(data: bytes, object_id: str, keyring: Keyring, ref: str) -> tuple[bytes, WrappedKey]:
    encryptor = StreamEncryptor(object_id, keyring, chunk_size=SMALL, key_ref=ref)
    blob = encryptor.header() + encryptor.update(data) + encryptor.finish()
    return blob, encryptor.wrapped_key


def decrypt(blob: bytes, object_id: str, keyring: Keyring, wrapped: WrappedKey | None) -> bytes:
    header = parse_header(blob[:HEADER_MAX_SIZE], object_id)
    span = whole_object_span(header, len(blob))
    decryptor = ChunkDecryptor(header, object_id, keyring, wrapped)
    out, position = [], span.ciphertext_start
    for index, size in enumerate(span.sealed_sizes()):
        out.append(
            decryptor.decrypt_chunk(
                index, blob[position : position + size], last=span.is_final(index)
            )
        )
        position += size
    return b"".join(out)


def test_a_format_2_object_round_trips_with_its_key_record(keyring: Keyring) -> None:
    data = secrets.token_bytes(3 * SMALL + 5)
    ref = new_key_ref()
    blob, wrapped = encrypt(data, "o", keyring, ref)
    header = parse_header(blob, "o")
    assert (header.version, header.key_ref, header.key_id) == (2, ref, "")
    assert header.embedded_key is None
    assert wrapped.key_id == "kek-1"
    assert wrapped.wrapped not in blob  # the header holds no wrapped key
    assert len(blob) == header.header_size + len(data) + 4 * TAG_SIZE
    assert decrypt(blob, "o", keyring, wrapped) == data


def test_without_its_key_record_a_format_2_object_fails_closed(keyring: Keyring) -> None:
    blob, _ = encrypt(b"secret media", "tasks/t/video.mp4", keyring, new_key_ref())
    with pytest.raises(KeyUnavailableError, match="shredded") as info:
        decrypt(blob, "tasks/t/video.mp4", keyring, None)
    assert info.value.object_id == "tasks/t/video.mp4"


def test_a_key_record_of_another_object_does_not_unwrap(keyring: Keyring) -> None:
    blob, _ = encrypt(b"a", "a", keyring, new_key_ref())
    _, other = encrypt(b"b", "b", keyring, new_key_ref())
    with pytest.raises(DecryptionError, match="does not authenticate") as info:
        decrypt(blob, "a", keyring, other)
    assert (info.value.object_id, info.value.key_id) == ("a", "kek-1")
    assert other.wrapped.hex() not in str(info.value)


def test_changing_the_key_reference_breaks_every_chunk(keyring: Keyring) -> None:
    ref = new_key_ref()
    blob, wrapped = encrypt(b"x" * 3000, "o", keyring, ref)
    other_ref = new_key_ref()
    swapped = blob.replace(ref.encode(), other_ref.encode(), 1)
    with pytest.raises(DecryptionError, match="failed authentication"):
        decrypt(swapped, "o", keyring, wrapped)


@pytest.mark.parametrize("ref", ["", "ABCDEF" * 5 + "00", "g" * 32, "0" * 31, "0" * 33])
def test_malformed_key_references_are_refused(keyring: Keyring, ref: str) -> None:
    with pytest.raises(ValueError, match="key reference"):
        StreamEncryptor("o", keyring, key_ref=ref)


@pytest.mark.parametrize("cut", [1, 16, 32])
def test_a_truncated_key_reference_is_refused(keyring: Keyring, cut: int) -> None:
    blob, _ = encrypt(b"", "o", keyring, new_key_ref())
    header_size = parse_header(blob, "o").header_size
    with pytest.raises(DecryptionError, match="key reference") as info:
        parse_header(blob[: header_size - cut], "o")
    assert info.value.object_id == "o"


def test_a_key_record_overrides_the_header_copy_of_a_format_1_object(keyring: Keyring) -> None:
    # How rotation moves a format 1 object to a new key without rewriting it.
    encryptor = StreamEncryptor("old", keyring, chunk_size=SMALL)
    blob = encryptor.header() + encryptor.update(b"legacy") + encryptor.finish()
    new_kek = LocalKek("kek-2", secrets.token_bytes(32))
    adopted = rewrap_key(parse_header(blob, "old").embedded_key, "old", keyring, new_kek)  # type: ignore[arg-type]
    only_new = Keyring(new_kek)
    assert decrypt(blob, "old", only_new, adopted) == b"legacy"
    with pytest.raises(KeyUnavailableError):
        decrypt(blob, "old", only_new, None)  # the header's own copy needs the old key


def test_rewrap_header_refuses_a_format_2_header(keyring: Keyring) -> None:
    blob, _ = encrypt(b"x", "o", keyring, new_key_ref())
    with pytest.raises(ValueError, match="format 2"):
        rewrap_header(blob, "o", keyring, keyring.primary)


def test_rewrap_key_moves_a_data_key_to_another_kek(keyring: Keyring) -> None:
    dek = secrets.token_bytes(32)
    wrapped = wrap_dek(dek, "o", keyring.primary)
    new_kek = LocalKek("kek-2", secrets.token_bytes(32))
    moved = rewrap_key(wrapped, "o", keyring, new_kek)
    assert moved.key_id == "kek-2"
    assert unwrap_dek(moved, "o", Keyring(new_kek)) == dek
    with pytest.raises(DecryptionError):  # still bound to its object
        unwrap_dek(moved, "other", Keyring(new_kek))


def test_rewrap_key_fails_closed_on_an_unknown_key(keyring: Keyring) -> None:
    stranger = WrappedKey("kek-gone", secrets.token_bytes(60))
    with pytest.raises(KeyUnavailableError) as info:
        rewrap_key(stranger, "tasks/x", keyring, keyring.primary)
    assert (info.value.object_id, info.value.key_id) == ("tasks/x", "kek-gone")


def test_wrapped_key_repr_hides_the_wrapped_bytes() -> None:
    wrapped = WrappedKey("kek-1", b"\x01" * 60)
    assert "01010101" not in repr(wrapped) and "\\x01" not in repr(wrapped)
