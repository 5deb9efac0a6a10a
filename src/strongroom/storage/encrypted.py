"""The encrypting ObjectStore: plaintext for callers, envelope ciphertext for the backend.

Every object is written through `StreamEncryptor` with the object key as the object id, so
a file moved to another key no longer decrypts. Ranged reads fetch only the chunks that hold
the range. Code above this class cannot write plaintext to the backend, because this class
is the only thing handed out as "the store".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from strongroom.crypto.envelope import (
    HEADER_MAX_SIZE,
    ChunkDecryptor,
    ChunkSpan,
    DecryptionError,
    EnvelopeHeader,
    Keyring,
    StreamEncryptor,
    chunk_range,
    parse_header,
    plaintext_size,
    whole_object_span,
)
from strongroom.storage.interface import DerivedOperations, ObjectStore, ObjectWriter, clamp_range
from strongroom.storage.keys import validate_key


class EncryptedWriter:
    """Encrypts as it writes; `commit` returns the plaintext size."""

    def __init__(self, backend: ObjectWriter, encryptor: StreamEncryptor) -> None:
        self._backend = backend
        self._encryptor = encryptor
        backend.write(encryptor.header())

    def write(self, data: bytes | memoryview) -> None:
        """Encrypt and forward every chunk `data` completes (backends write or copy it at once,
        as the ObjectWriter protocol requires, so one ciphertext buffer is reused)."""
        self._encryptor.update_to(data, self._backend.write)

    def commit(self) -> int:
        """Write the final chunk and commit the backend object atomically."""
        try:
            self._backend.write(self._encryptor.finish())
        except BaseException:
            self._backend.abort()
            raise
        self._backend.commit()
        return self._encryptor.plaintext_size

    def abort(self) -> None:
        """Discard the object."""
        self._backend.abort()


def _exact_pieces(
    blocks: Iterator[bytes], sizes: Iterable[int], object_id: str
) -> Iterator[memoryview]:
    """Re-cut a stream of arbitrarily sized blocks into pieces of exactly the given sizes.
    A piece that lies inside one block is a view of it (no copy)."""
    buffered: list[memoryview] = []
    have = 0
    for size in sizes:
        while have < size:
            block = next(blocks, None)
            if block is None:
                raise DecryptionError("object is shorter than its layout", object_id=object_id)
            buffered.append(memoryview(block))
            have += len(block)
        joined = buffered[0] if len(buffered) == 1 else memoryview(b"".join(buffered))
        yield joined[:size]
        rest = joined[size:]
        buffered, have = ([rest] if rest else []), len(rest)


class EncryptedStore(DerivedOperations):
    """An ObjectStore that envelope-encrypts every object into `backend`."""

    def __init__(self, backend: ObjectStore, keyring: Keyring) -> None:
        self._backend = backend
        self._keyring = keyring

    @property
    def keyring(self) -> Keyring:
        """The keys this store wraps data keys with (for start-up checks and rotation)."""
        return self._keyring

    def __repr__(self) -> str:
        return f"EncryptedStore({self._backend!r})"

    def open_write(self, key: str) -> EncryptedWriter:
        """Start an encrypted object; nothing is visible until `commit`."""
        validate_key(key)
        encryptor = StreamEncryptor(key, self._keyring)
        backend = self._backend.open_write(key)
        try:
            return EncryptedWriter(backend, encryptor)
        except BaseException:
            backend.abort()
            raise

    def _header(self, key: str) -> tuple[EnvelopeHeader, int]:
        stored = self._backend.size(key)
        raw = b"".join(self._backend.read(key, 0, min(HEADER_MAX_SIZE, stored)))
        return parse_header(raw, key), stored

    def key_id_of(self, key: str) -> str:
        """The id of the key-encryption key that wraps this object's data key (header only)."""
        header, _ = self._header(validate_key(key))
        return header.key_id

    def size(self, key: str) -> int:
        """Plaintext size (from the stored size; chunks are authenticated when read)."""
        header, stored = self._header(validate_key(key))
        return plaintext_size(header, stored)

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Decrypt plaintext [start, end), fetching only the chunks that hold it. Header and
        key problems raise here; a chunk that fails authentication raises DecryptionError
        while iterating, before any of its bytes are returned. Reading a whole empty object
        still authenticates its single (empty) chunk."""
        header, stored = self._header(validate_key(key))
        size = plaintext_size(header, stored)
        first, stop = clamp_range(start, end, size)
        decryptor = ChunkDecryptor(header, key, self._keyring)
        if size == 0:
            return self._decrypt(key, decryptor, whole_object_span(header, stored))
        if first == stop:
            return iter(())
        return self._decrypt(key, decryptor, chunk_range(header, stored, first, stop))

    def _decrypt(self, key: str, decryptor: ChunkDecryptor, span: ChunkSpan) -> Iterator[bytes]:
        blocks = iter(self._backend.read(key, span.ciphertext_start, span.ciphertext_end))
        skip, remaining = span.skip, span.length
        pieces = _exact_pieces(blocks, span.sealed_sizes(), key)
        for index, sealed in enumerate(pieces, span.first_chunk):
            plain = decryptor.decrypt_chunk(index, sealed, last=span.is_final(index))
            piece = plain[skip : skip + remaining] if skip or remaining < len(plain) else plain
            skip, remaining = 0, remaining - len(piece)
            if piece:
                yield piece

    def delete(self, key: str) -> None:
        """Delete the object; missing is fine."""
        self._backend.delete(key)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; return how many."""
        return self._backend.delete_prefix(prefix)

    def list(self, prefix: str) -> list[str]:
        """Sorted keys under `prefix`."""
        return self._backend.list(prefix)
