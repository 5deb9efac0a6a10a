"""The encrypting ObjectStore: plaintext for callers, envelope ciphertext for the backend.

Every object is written through `StreamEncryptor` with the object key as the object id, so
a file moved to another key no longer decrypts. Ranged reads fetch only the chunks that hold
the range. Code above this class cannot write plaintext to the backend, because this class
is the only thing handed out as "the store".

Given a wrapped-key store, new objects are written in envelope format 2: the wrapped data
key goes to the key store and the header only references it (see `storage.wrapped_keys` for
why). Deleting an object then deletes its key record first (crypto-shredding), and `rewrap`
moves an object to another KEK by updating that record, never the stored bytes. Format 1
objects (data key in the header) stay readable; rotating one adopts its data key into the key
store, whose record from then on takes precedence over the header's copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum

from strongroom.crypto.datakeys import rewrap_key
from strongroom.crypto.envelope import (
    HEADER_MAX_SIZE,
    ChunkDecryptor,
    ChunkSpan,
    DecryptionError,
    EnvelopeHeader,
    KeyEncryptionKey,
    Keyring,
    KeyUnavailableError,
    StreamEncryptor,
    WrappedKey,
    chunk_range,
    new_key_ref,
    parse_header,
    plaintext_size,
    whole_object_span,
)
from strongroom.storage.interface import DerivedOperations, ObjectStore, ObjectWriter, clamp_range
from strongroom.storage.keys import validate_key, validate_prefix
from strongroom.storage.wrapped_keys import LEGACY_REF, WrappedKeyStore


class Rewrap(StrEnum):
    """What `EncryptedStore.rewrap` did to one object."""

    REWRAPPED = "rewrapped"
    CURRENT = "current"  # already wrapped by the target key: nothing to do
    CHANGED = "changed"  # rewritten or deleted meanwhile (its new key is the primary)


class _KeyRecord:
    """Stores a format 2 object's wrapped key around the backend commit: the record goes in
    before the object becomes visible (a visible object always has its key), the records of
    the object it replaces go after, and an object that never commits takes its record along."""

    def __init__(self, keys: WrappedKeyStore, object_id: str, ref: str, key: WrappedKey) -> None:
        self._keys, self._object_id, self._ref, self._key = keys, object_id, ref, key

    def before_commit(self) -> None:
        self._keys.put(self._object_id, self._ref, self._key)

    def after_commit(self) -> None:
        self._keys.delete(self._object_id, keep_ref=self._ref)

    def after_abort(self) -> None:
        self._keys.discard(self._object_id, self._ref)


class EncryptedWriter:
    """Encrypts as it writes; `commit` returns the plaintext size."""

    def __init__(
        self, backend: ObjectWriter, encryptor: StreamEncryptor, record: _KeyRecord | None = None
    ) -> None:
        self._backend = backend
        self._encryptor = encryptor
        self._record = record
        backend.write(encryptor.header())

    def write(self, data: bytes | memoryview) -> None:
        """Encrypt and forward every chunk `data` completes (backends write or copy it at once,
        as the ObjectWriter protocol requires, so one ciphertext buffer is reused)."""
        self._encryptor.update_to(data, self._backend.write)

    def commit(self) -> int:
        """Write the final chunk and commit the backend object atomically."""
        try:
            self._backend.write(self._encryptor.finish())
            if self._record:
                self._record.before_commit()
        except BaseException:
            self.abort()
            raise
        try:
            self._backend.commit()
        except BaseException:
            if self._record:  # the old object (if any) is still there, with its own record
                self._record.after_abort()
            raise
        if self._record:
            self._record.after_commit()
        return self._encryptor.plaintext_size

    def abort(self) -> None:
        """Discard the object (and its key record, if it was stored already)."""
        self._backend.abort()
        if self._record:
            self._record.after_abort()


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
    """An ObjectStore that envelope-encrypts every object into `backend`; with `wrapped_keys`,
    data keys live in that key store (format 2), else in each object's header (format 1)."""

    def __init__(
        self, backend: ObjectStore, keyring: Keyring, wrapped_keys: WrappedKeyStore | None = None
    ) -> None:
        self._backend = backend
        self._keyring = keyring
        self._keys = wrapped_keys

    @property
    def keyring(self) -> Keyring:
        """The keys this store wraps data keys with (for start-up checks and rotation)."""
        return self._keyring

    def __repr__(self) -> str:
        return f"EncryptedStore({self._backend!r})"

    def open_write(self, key: str) -> EncryptedWriter:
        """Start an encrypted object; nothing is visible until `commit`."""
        validate_key(key)
        ref = new_key_ref() if self._keys is not None else None
        encryptor = StreamEncryptor(key, self._keyring, key_ref=ref)
        record = None
        if self._keys is not None and ref is not None:
            record = _KeyRecord(self._keys, key, ref, encryptor.wrapped_key)
        backend = self._backend.open_write(key)
        try:
            return EncryptedWriter(backend, encryptor, record)
        except BaseException:
            backend.abort()
            raise

    def _header(self, key: str) -> tuple[EnvelopeHeader, int]:
        stored = self._backend.size(key)
        raw = b"".join(self._backend.read(key, 0, min(HEADER_MAX_SIZE, stored)))
        return parse_header(raw, key), stored

    def _stored_key(self, header: EnvelopeHeader) -> WrappedKey | None:
        """The object's key store record: format 2's only copy, or a rotated format 1 key."""
        if self._keys is None:
            return None
        return self._keys.get(header.object_id, header.key_ref or LEGACY_REF)

    def _wrapped_key(self, header: EnvelopeHeader) -> WrappedKey:
        wrapped = self._stored_key(header) or header.embedded_key
        if wrapped is None:
            raise KeyUnavailableError(
                "its data key is not in the key store (the object was shredded)",
                object_id=header.object_id,
            )
        return wrapped

    def key_id_of(self, key: str) -> str:
        """The id of the key-encryption key that wraps this object's data key (the header and
        the key store record only; nothing is unwrapped)."""
        header, _ = self._header(validate_key(key))
        return self._wrapped_key(header).key_id

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
        decryptor = ChunkDecryptor(header, key, self._keyring, self._stored_key(header))
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
        """Delete the object; missing is fine. Its key record goes first: if deleting the
        stored bytes then fails, what is left can no longer be decrypted."""
        validate_key(key)
        if self._keys is not None:
            self._keys.delete(key)
        self._backend.delete(key)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix` (key records first); return how many."""
        if self._keys is not None and validate_prefix(prefix):
            self._keys.delete_prefix(prefix)
        return self._backend.delete_prefix(prefix)

    def rewrap(
        self,
        key: str,
        target: KeyEncryptionKey,
        *,
        refresh: Callable[[WrappedKey], bool] | None = None,
    ) -> Rewrap:
        """Wrap the object's data key with `target` (key rotation), reading only its header and
        writing only its key record: the stored ciphertext is never rewritten. An object
        already on `target` is left alone unless `refresh(wrapped key)` says it is on an old
        version of that key (a KMS key rotated under the same id). Needs a key store. Fails
        closed like `read` (errors name the object and key id), leaving the object as it was."""
        if self._keys is None:
            raise RuntimeError("rewrapping in place needs a wrapped-key store")
        header, _ = self._header(validate_key(key))
        ref = header.key_ref or LEGACY_REF
        stored = self._keys.get(key, ref)
        current = stored or header.embedded_key
        if current is None:
            return Rewrap.CHANGED  # shredded or replaced meanwhile
        if current.key_id == target.key_id and (refresh is None or not refresh(current)):
            return Rewrap.CURRENT
        new = rewrap_key(current, key, self._keyring, target)
        if not self._keys.replace(key, ref, stored, new):
            return Rewrap.CHANGED
        if stored is None and not self._backend.exists(key):
            self._keys.discard(key, ref)  # deleted while its key was being adopted
            return Rewrap.CHANGED
        return Rewrap.REWRAPPED

    def list(self, prefix: str) -> list[str]:
        """Sorted keys under `prefix`."""
        return self._backend.list(prefix)
