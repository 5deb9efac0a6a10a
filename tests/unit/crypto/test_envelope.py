"""Chunked envelope encryption: round trips, random access, and every tampering case."""

from __future__ import annotations

import secrets

import pytest

from strongroom.crypto.envelope import (
    CHUNK_SIZE,
    HEADER_MAX_SIZE,
    TAG_SIZE,
    ChunkDecryptor,
    DecryptionError,
    Keyring,
    KeyUnavailableError,
    LocalKek,
    StreamEncryptor,
    chunk_range,
    parse_header,
    plaintext_size,
    rewrap_header,
    whole_object_span,
)

SMALL = 1024  # the smallest chunk size keeps multi-chunk cases fast


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(LocalKek("kek-1", secrets.token_bytes(32)))


def encrypt(
    data: bytes, object_id: str, keyring: Keyring, chunk: int = SMALL, piece: int = 700
) -> bytes:
    encryptor = StreamEncryptor(object_id, keyring, chunk_size=chunk)
    parts = [encryptor.header()]
    parts += [encryptor.update(data[i : i + piece]) for i in range(0, len(data), piece)]
    parts.append(encryptor.finish())
    return b"".join(parts)


def decrypt(blob: bytes, object_id: str, keyring: Keyring) -> bytes:
    header = parse_header(blob[:HEADER_MAX_SIZE], object_id)
    span = whole_object_span(header, len(blob))
    decryptor = ChunkDecryptor(header, object_id, keyring)
    out, position = [], span.ciphertext_start
    for index, size in enumerate(span.sealed_sizes()):
        chunk = blob[position : position + size]
        out.append(decryptor.decrypt_chunk(index, chunk, last=span.is_final(index)))
        position += size
    return b"".join(out)


def split_chunks(blob: bytes, keyring: Keyring, object_id: str) -> tuple[bytes, list[bytes]]:
    header = parse_header(blob, object_id)
    body = blob[header.header_size :]
    stride = header.chunk_size + TAG_SIZE
    return blob[: header.header_size], [body[i : i + stride] for i in range(0, len(body), stride)]


@pytest.mark.parametrize("size", [0, 1, SMALL - 1, SMALL, SMALL + 1, 5 * SMALL + 17, 8 * SMALL])
def test_it_round_trips_every_size_around_chunk_boundaries(keyring: Keyring, size: int) -> None:
    data = secrets.token_bytes(size)
    blob = encrypt(data, "obj", keyring)
    header = parse_header(blob, "obj")
    assert plaintext_size(header, len(blob)) == size
    assert decrypt(blob, "obj", keyring) == data


def test_it_round_trips_with_the_default_chunk_size(keyring: Keyring) -> None:
    data = secrets.token_bytes(2 * CHUNK_SIZE + 3)
    blob = encrypt(data, "big", keyring, chunk=CHUNK_SIZE, piece=300_000)
    assert len(blob) == parse_header(blob, "big").header_size + len(data) + 3 * TAG_SIZE
    assert decrypt(blob, "big", keyring) == data


def test_the_output_does_not_depend_on_how_the_input_was_split(keyring: Keyring) -> None:
    data = secrets.token_bytes(4 * SMALL + 5)
    one = encrypt(data, "o", keyring, piece=len(data))
    many = encrypt(data, "o", keyring, piece=1)
    assert decrypt(one, "o", keyring) == decrypt(many, "o", keyring) == data
    assert len(one) == len(many)


def test_an_empty_object_is_one_final_empty_chunk(keyring: Keyring) -> None:
    blob = encrypt(b"", "empty", keyring)
    assert len(blob) - parse_header(blob, "empty").header_size == TAG_SIZE
    assert decrypt(blob, "empty", keyring) == b""


def test_a_full_chunk_is_held_back_until_the_stream_shows_it_is_not_the_last(
    keyring: Keyring,
) -> None:
    encryptor = StreamEncryptor("o", keyring, chunk_size=SMALL)
    assert encryptor.update(b"a" * SMALL) == b""
    assert len(encryptor.update(b"b")) == SMALL + TAG_SIZE
    assert len(encryptor.finish()) == 1 + TAG_SIZE


def test_the_encryptor_refuses_use_after_finish(keyring: Keyring) -> None:
    encryptor = StreamEncryptor("o", keyring, chunk_size=SMALL)
    encryptor.finish()
    with pytest.raises(RuntimeError):
        encryptor.finish()
    with pytest.raises(RuntimeError):
        encryptor.update(b"x")


@pytest.mark.parametrize("chunk", [0, 1023, (1 << 26) + 1])
def test_it_rejects_unreasonable_chunk_sizes(keyring: Keyring, chunk: int) -> None:
    with pytest.raises(ValueError, match="chunk size"):
        StreamEncryptor("o", keyring, chunk_size=chunk)


def test_two_encryptions_of_the_same_data_differ(keyring: Keyring) -> None:
    data = b"same plaintext" * 100
    assert encrypt(data, "o", keyring) != encrypt(data, "o", keyring)


def test_ciphertext_does_not_contain_the_plaintext(keyring: Keyring) -> None:
    marker = b"ftypisom-PLAINTEXT-MARKER" * 50
    assert marker[:25] not in encrypt(marker, "o", keyring)


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, 1), (0, 5000), (1023, 1025), (1024, 2048), (4999, 5000), (100, 101), (2047, 4097)],
)
def test_any_byte_range_decrypts_from_only_its_chunks(
    keyring: Keyring, start: int, end: int
) -> None:
    data = secrets.token_bytes(5000)
    blob = encrypt(data, "o", keyring)
    header = parse_header(blob, "o")
    span = chunk_range(header, len(blob), start, end)
    decryptor = ChunkDecryptor(header, "o", keyring)
    window = blob[span.ciphertext_start : span.ciphertext_end]
    plain, position = [], 0
    for index, size in enumerate(span.sealed_sizes(), span.first_chunk):
        chunk = window[position : position + size]
        plain.append(decryptor.decrypt_chunk(index, chunk, last=span.is_final(index)))
        position += size
    assert position == len(window)
    joined = b"".join(plain)
    assert joined[span.skip : span.skip + span.length] == data[start:end]


@pytest.mark.parametrize(("start", "end"), [(-1, 3), (3, 3), (4, 2), (0, 5001)])
def test_chunk_range_rejects_ranges_outside_the_object(
    keyring: Keyring, start: int, end: int
) -> None:
    blob = encrypt(secrets.token_bytes(5000), "o", keyring)
    with pytest.raises(ValueError, match="outside"):
        chunk_range(parse_header(blob, "o"), len(blob), start, end)


def test_it_detects_a_flipped_ciphertext_byte(keyring: Keyring) -> None:
    blob = bytearray(encrypt(secrets.token_bytes(3000), "o", keyring))
    blob[-100] ^= 1
    with pytest.raises(DecryptionError, match="failed authentication") as info:
        decrypt(bytes(blob), "o", keyring)
    assert info.value.object_id == "o"
    assert info.value.key_id == "kek-1"


def test_it_detects_truncation_at_a_chunk_boundary(keyring: Keyring) -> None:
    blob = encrypt(secrets.token_bytes(3 * SMALL + 10), "o", keyring)
    header, chunks = split_chunks(blob, keyring, "o")
    with pytest.raises(DecryptionError, match="chunk 2"):
        decrypt(header + b"".join(chunks[:3]), "o", keyring)


def test_it_detects_truncation_inside_a_chunk(keyring: Keyring) -> None:
    blob = encrypt(secrets.token_bytes(3 * SMALL + 10), "o", keyring)
    with pytest.raises(DecryptionError):
        decrypt(blob[:-5], "o", keyring)


def test_it_detects_truncation_that_leaves_less_than_a_tag(keyring: Keyring) -> None:
    blob = encrypt(secrets.token_bytes(SMALL), "o", keyring)
    header = parse_header(blob, "o")
    with pytest.raises(DecryptionError, match="truncated"):
        plaintext_size(header, header.header_size + 5)
    with pytest.raises(DecryptionError, match="truncated"):
        plaintext_size(header, header.header_size)


def test_it_detects_an_appended_chunk(keyring: Keyring) -> None:
    blob = encrypt(secrets.token_bytes(2 * SMALL), "o", keyring)
    header, chunks = split_chunks(blob, keyring, "o")
    with pytest.raises(DecryptionError):
        decrypt(header + b"".join([*chunks, chunks[0]]), "o", keyring)


def test_it_detects_reordered_chunks(keyring: Keyring) -> None:
    blob = encrypt(secrets.token_bytes(3 * SMALL + 1), "o", keyring)
    header, chunks = split_chunks(blob, keyring, "o")
    chunks[0], chunks[1] = chunks[1], chunks[0]
    with pytest.raises(DecryptionError, match="chunk 0"):
        decrypt(header + b"".join(chunks), "o", keyring)


def test_it_detects_a_chunk_taken_from_another_object(keyring: Keyring) -> None:
    one = encrypt(secrets.token_bytes(2 * SMALL + 1), "one", keyring)
    two = encrypt(secrets.token_bytes(2 * SMALL + 1), "two", keyring)
    header, chunks = split_chunks(one, keyring, "one")
    chunks[1] = split_chunks(two, keyring, "two")[1][1]
    with pytest.raises(DecryptionError, match="chunk 1"):
        decrypt(header + b"".join(chunks), "one", keyring)


def test_it_detects_a_whole_object_presented_under_another_id(keyring: Keyring) -> None:
    blob = encrypt(b"secret media", "tasks/a/out.mp4", keyring)
    with pytest.raises(DecryptionError, match="data key does not authenticate") as info:
        decrypt(blob, "tasks/b/out.mp4", keyring)
    assert info.value.object_id == "tasks/b/out.mp4"


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (0, "bad magic"),
        (4, "version"),
        (5, "chunk size"),  # out of range
        (6, "failed authentication"),  # in range, but authenticated by every chunk's AAD
        (9, "failed authentication"),  # nonce prefix
    ],
)
def test_it_detects_tampering_with_the_stable_header(
    keyring: Keyring, offset: int, reason: str
) -> None:
    blob = bytearray(encrypt(secrets.token_bytes(100), "o", keyring))
    blob[offset] ^= 0x40
    with pytest.raises(DecryptionError, match=reason):
        decrypt(bytes(blob), "o", keyring)


def test_it_detects_tampering_with_the_wrapped_key(keyring: Keyring) -> None:
    blob = bytearray(encrypt(secrets.token_bytes(100), "o", keyring))
    header = parse_header(bytes(blob), "o")
    blob[header.header_size - 3] ^= 1
    with pytest.raises(DecryptionError, match="data key"):
        decrypt(bytes(blob), "o", keyring)


def test_it_detects_a_changed_key_id(keyring: Keyring) -> None:
    other = LocalKek("kek-2", secrets.token_bytes(32))
    both = Keyring(keyring.primary, [other])
    blob = encrypt(b"data", "o", keyring)
    forged = blob.replace(b"kek-1", b"kek-2", 1)
    with pytest.raises(DecryptionError, match="data key") as info:
        decrypt(forged, "o", both)
    assert info.value.key_id == "kek-2"


def test_a_wrong_key_fails_without_revealing_key_bytes(keyring: Keyring) -> None:
    blob = encrypt(b"data", "o", keyring)
    wrong_bytes = secrets.token_bytes(32)
    wrong = Keyring(LocalKek("kek-1", wrong_bytes))
    with pytest.raises(DecryptionError) as info:
        decrypt(blob, "o", wrong)
    text = str(info.value)
    assert "'o'" in text
    assert "'kek-1'" in text
    assert wrong_bytes.hex() not in text
    assert repr(wrong_bytes) not in text


def test_an_unknown_key_id_raises_key_unavailable(keyring: Keyring) -> None:
    blob = encrypt(b"data", "o", keyring)
    other = Keyring(LocalKek("kek-9", secrets.token_bytes(32)))
    with pytest.raises(KeyUnavailableError) as info:
        decrypt(blob, "o", other)
    assert (info.value.object_id, info.value.key_id) == ("o", "kek-1")


@pytest.mark.parametrize("data", [b"", b"SRE1", b"XXXX" + bytes(40), b"SRE1\x01\x00\x00\x04\x00"])
def test_parse_header_rejects_junk(data: bytes) -> None:
    with pytest.raises(DecryptionError) as info:
        parse_header(data, "junk")
    assert info.value.object_id == "junk"


def test_parse_header_rejects_a_truncated_header(keyring: Keyring) -> None:
    blob = encrypt(b"x", "o", keyring)
    size = parse_header(blob, "o").header_size
    for cut in (17, 20, size - 1):
        with pytest.raises(DecryptionError, match="truncated"):
            parse_header(blob[:cut], "o")


def test_decrypt_chunk_rejects_a_short_non_final_chunk(keyring: Keyring) -> None:
    blob = encrypt(secrets.token_bytes(2 * SMALL), "o", keyring)
    header, chunks = split_chunks(blob, keyring, "o")
    decryptor = ChunkDecryptor(parse_header(header, "o"), "o", keyring)
    with pytest.raises(DecryptionError, match="wrong size"):
        decryptor.decrypt_chunk(0, chunks[0][:-1], last=False)
    with pytest.raises(DecryptionError, match="failed authentication"):
        decryptor.decrypt_chunk(0, chunks[0], last=True)


def test_rewrapping_changes_only_the_header(keyring: Keyring) -> None:
    data = secrets.token_bytes(3 * SMALL)
    blob = encrypt(data, "o", keyring)
    new_kek = LocalKek("kek-new-with-a-longer-id", secrets.token_bytes(32))
    header = parse_header(blob, "o")
    new_header = rewrap_header(blob[: header.header_size], "o", keyring, new_kek)
    rotated = new_header + blob[header.header_size :]
    assert parse_header(rotated, "o").key_id == "kek-new-with-a-longer-id"
    assert decrypt(rotated, "o", Keyring(new_kek)) == data
    with pytest.raises(KeyUnavailableError):
        decrypt(rotated, "o", keyring)


def test_new_objects_use_the_primary_and_old_ones_still_decrypt(keyring: Keyring) -> None:
    old_blob = encrypt(b"old", "o", keyring)
    rotated = Keyring(LocalKek("kek-2", secrets.token_bytes(32)), [keyring.primary])
    new_blob = encrypt(b"new", "o", rotated)
    assert parse_header(new_blob, "o").key_id == "kek-2"
    assert decrypt(old_blob, "o", rotated) == b"old"
    assert decrypt(new_blob, "o", rotated) == b"new"


def test_header_repr_does_not_show_the_wrapped_key(keyring: Keyring) -> None:
    header = parse_header(encrypt(b"x", "o", keyring), "o")
    assert header.wrapped_key.hex() not in repr(header)
