"""Chunked AES-256-GCM envelope encryption (the STREAM construction), seekable by chunk.

Layout of an encrypted object::

    header  = magic "SRE1" | version u8 | chunk size u32 | nonce prefix (7)     <- stable part
              | key id length u8 | key id (ASCII) | wrapped DEK length u16 | wrapped DEK
    chunk i = AES-256-GCM(DEK, nonce_i, plaintext_i, AAD) = ciphertext || 16-byte tag
    nonce_i = nonce prefix (7) | i as u32 big-endian | 0x01 on the final chunk else 0x00
    AAD     = stable header part | object id (UTF-8)

Every chunk but the last holds exactly `chunk size` plaintext bytes; the last holds 0 to
`chunk size` bytes and carries the final flag, so truncation, extension and reordering fail
authentication. The object id in the AAD stops chunks or whole files being moved between
objects. The KEK id and wrapped DEK are left out of the chunk AAD on purpose: key rotation
re-wraps the DEK and rewrites only the header (`rewrap_header`). They are bound instead by
the DEK wrap itself, whose AAD is the object id plus the KEK id.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.crypto.kek import (
    DEK_SIZE,
    MAX_KEY_ID_LENGTH,
    DecryptionError,
    KeyEncryptionKey,
    KeyProviderDenied,
    KeyProviderUnavailable,
    Keyring,
    KeyUnavailableError,
    LocalKek,
)

__all__ = [
    "CHUNK_SIZE",
    "HEADER_MAX_SIZE",
    "TAG_SIZE",
    "ChunkDecryptor",
    "ChunkSpan",
    "DecryptionError",
    "EnvelopeHeader",
    "KeyEncryptionKey",
    "KeyUnavailableError",
    "Keyring",
    "LocalKek",
    "StreamEncryptor",
    "chunk_range",
    "parse_header",
    "plaintext_size",
    "rewrap_header",
    "whole_object_span",
]

MAGIC = b"SRE1"
FORMAT_VERSION = 1
CHUNK_SIZE = 1 << 20
MIN_CHUNK_SIZE = 1 << 10
MAX_CHUNK_SIZE = 1 << 26
TAG_SIZE = 16
NONCE_PREFIX_SIZE = 7
MAX_WRAPPED_KEY_SIZE = 4096
_MAX_CHUNKS = 1 << 32
_STABLE = struct.Struct(">4sBI7s")
HEADER_MAX_SIZE = _STABLE.size + 1 + MAX_KEY_ID_LENGTH + 2 + MAX_WRAPPED_KEY_SIZE
_TAMPERED = "tampered, truncated, reordered, or taken from another object"


@dataclass(frozen=True)
class EnvelopeHeader:
    """A parsed envelope header. `stable` is the part every chunk's AAD covers."""

    object_id: str
    version: int
    chunk_size: int
    nonce_prefix: bytes
    key_id: str
    wrapped_key: bytes = field(repr=False)
    header_size: int

    @property
    def stable(self) -> bytes:
        return _STABLE.pack(MAGIC, self.version, self.chunk_size, self.nonce_prefix)


@dataclass(frozen=True)
class ChunkSpan:
    """The chunks and ciphertext bytes [ciphertext_start, ciphertext_end) that hold a
    plaintext range; drop `skip` bytes of the first decrypted chunk, then keep `length`."""

    first_chunk: int
    last_chunk: int
    chunk_count: int
    ciphertext_start: int
    ciphertext_end: int
    skip: int
    length: int
    stride: int  # stored size of a full chunk: chunk size + tag

    def is_final(self, index: int) -> bool:
        """Whether chunk `index` is the object's final chunk (the one with the flag)."""
        return index == self.chunk_count - 1

    def sealed_sizes(self) -> Iterator[int]:
        """The stored size of each chunk in the span, first to last."""
        position = self.ciphertext_start
        for _ in range(self.first_chunk, self.last_chunk + 1):
            size = min(self.stride, self.ciphertext_end - position)
            position += size
            yield size


def _check_chunk_size(chunk_size: int) -> None:
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE}")


def _wrap_aad(object_id: str, key_id: str) -> bytes:
    # Length-prefix the object id so (object id, key id) pairs can never collide.
    oid = object_id.encode("utf-8")
    return b"strongroom/dek\x00" + len(oid).to_bytes(4, "big") + oid + key_id.encode("ascii")


def _encode_header(stable: bytes, key_id: str, wrapped: bytes) -> bytes:
    if not 0 < len(wrapped) <= MAX_WRAPPED_KEY_SIZE:
        raise ValueError("wrapped data key has an unsupported size")
    kid = key_id.encode("ascii")
    return b"".join((stable, bytes([len(kid)]), kid, len(wrapped).to_bytes(2, "big"), wrapped))


def _chunk_nonce(prefix: bytes, index: int, final: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


class StreamEncryptor:
    """Encrypts one object as a stream: `header()`, then `update()` as data arrives, then
    `finish()` exactly once. Concatenating the outputs in that order gives the object."""

    def __init__(self, object_id: str, keyring: Keyring, chunk_size: int = CHUNK_SIZE) -> None:
        _check_chunk_size(chunk_size)
        dek = secrets.token_bytes(DEK_SIZE)
        self._prefix = secrets.token_bytes(NONCE_PREFIX_SIZE)
        stable = _STABLE.pack(MAGIC, FORMAT_VERSION, chunk_size, self._prefix)
        kek = keyring.primary
        wrapped = kek.wrap(dek, _wrap_aad(object_id, kek.key_id))
        self._header = _encode_header(stable, kek.key_id, wrapped)
        self._aead = AESGCM(dek)
        self._aad = stable + object_id.encode("utf-8")
        self._chunk_size = chunk_size
        # Pending plaintext is kept as views of the caller's (immutable) bytes rather than
        # copied into a buffer: a full chunk that arrived in one piece is sealed with no copy.
        self._pending: list[memoryview] = []
        self._pending_len = 0
        self._index = 0
        self._size = 0
        self._finished = False
        self._out: bytearray | None = None  # update_to's reused ciphertext buffer

    def header(self) -> bytes:
        """The envelope header; it goes first in the stored object."""
        return self._header

    @property
    def plaintext_size(self) -> int:
        """Plaintext bytes accepted so far."""
        return self._size

    def update(self, data: bytes) -> bytes:
        """Accept more plaintext; return the ciphertext of every chunk now known not to be
        the final one (possibly b""). A full chunk is held back until more data or
        `finish()` shows whether it is the last."""
        self._check_open()
        piece = memoryview(data if isinstance(data, bytes) else bytes(data))
        self._size += len(piece)
        sealed: list[bytes] = []
        while self._pending_len + len(piece) > self._chunk_size:
            take = self._chunk_size - self._pending_len
            self._pending.append(piece[:take])
            piece = piece[take:]
            sealed.append(self._seal_pending(final=False))
        if piece:
            self._pending.append(piece)
            self._pending_len += len(piece)
        if len(sealed) == 1:
            return sealed[0]
        return b"".join(sealed)

    def update_to(self, data: bytes | memoryview, emit: Callable[[memoryview], None]) -> None:
        """Like `update`, but seal each completed chunk into one reused buffer and pass it to
        `emit` as a view that is valid only during that call (the sink must write or copy it
        before returning). No per-chunk allocation: the store path runs at copy speed."""
        self._check_open()
        piece = memoryview(data if isinstance(data, bytes) else bytes(data))
        self._size += len(piece)
        while self._pending_len + len(piece) > self._chunk_size:
            take = self._chunk_size - self._pending_len
            self._pending.append(piece[:take])
            piece = piece[take:]
            emit(self._seal_pending_into(final=False))
        if piece:
            self._pending.append(piece)
            self._pending_len += len(piece)

    def finish(self) -> bytes:
        """Return the final chunk (flag set; empty plaintext for an empty object)."""
        self._check_open()
        self._finished = True
        return self._seal_pending(final=True)

    def _check_open(self) -> None:
        if self._finished:
            raise RuntimeError("the encryptor is already finished")

    def _seal_pending_into(self, *, final: bool) -> memoryview:
        if self._out is None:
            self._out = bytearray(self._chunk_size + TAG_SIZE)
        plaintext, nonce = self._take_pending(final)
        view = memoryview(self._out)[: len(plaintext) + TAG_SIZE]
        self._aead.encrypt_into(nonce, plaintext, self._aad, view)
        return view

    def _take_pending(self, final: bool) -> tuple[bytes | memoryview, bytes]:
        if self._index >= _MAX_CHUNKS:
            raise ValueError("object is too large for this chunk size")
        pieces = [p for p in self._pending if p]
        plaintext: bytes | memoryview = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        nonce = _chunk_nonce(self._prefix, self._index, final)
        self._pending, self._pending_len = [], 0
        self._index += 1
        return plaintext, nonce

    def _seal_pending(self, *, final: bool) -> bytes:
        plaintext, nonce = self._take_pending(final)
        return self._aead.encrypt(nonce, plaintext, self._aad)


def parse_header(data: bytes, object_id: str) -> EnvelopeHeader:
    """Parse the header at the start of `data` (read HEADER_MAX_SIZE bytes, or the whole
    object if shorter). Raises DecryptionError naming `object_id` when it is malformed."""
    view = memoryview(data)
    if len(view) < _STABLE.size + 1:
        raise DecryptionError("header is truncated", object_id=object_id)
    magic, version, chunk_size, prefix = _STABLE.unpack_from(view)
    if magic != MAGIC:
        raise DecryptionError("not an encrypted object (bad magic)", object_id=object_id)
    if version != FORMAT_VERSION:
        raise DecryptionError(f"unsupported format version {version}", object_id=object_id)
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError("header has an invalid chunk size", object_id=object_id)
    key_id, pos = _read_key_id(view, _STABLE.size, object_id)
    wrapped, pos = _read_wrapped_key(view, pos, object_id, key_id)
    return EnvelopeHeader(object_id, version, chunk_size, prefix, key_id, wrapped, pos)


def _read_key_id(view: memoryview, pos: int, object_id: str) -> tuple[str, int]:
    length = view[pos]
    raw = bytes(view[pos + 1 : pos + 1 + length])
    if length == 0 or len(raw) != length:
        raise DecryptionError("header is truncated or has no key id", object_id=object_id)
    if not raw.isascii():
        raise DecryptionError("header has a malformed key id", object_id=object_id)
    return raw.decode("ascii"), pos + 1 + length


def _read_wrapped_key(view: memoryview, pos: int, object_id: str, key_id: str) -> tuple[bytes, int]:
    length = int.from_bytes(view[pos : pos + 2], "big")
    wrapped = bytes(view[pos + 2 : pos + 2 + length])
    if len(view) < pos + 2 or not 0 < length <= MAX_WRAPPED_KEY_SIZE or len(wrapped) != length:
        raise DecryptionError("header is truncated", object_id=object_id, key_id=key_id)
    return wrapped, pos + 2 + length


def _chunk_count(header: EnvelopeHeader, ciphertext_size: int) -> int:
    body = ciphertext_size - header.header_size
    stride = header.chunk_size + TAG_SIZE
    count = -(-body // stride)
    if body < TAG_SIZE or body - (count - 1) * stride < TAG_SIZE:
        raise DecryptionError(
            "object is truncated (incomplete final chunk)",
            object_id=header.object_id,
            key_id=header.key_id,
        )
    return count


def plaintext_size(header: EnvelopeHeader, ciphertext_size: int) -> int:
    """Plaintext size of an object whose stored size is `ciphertext_size` bytes (header
    included). DecryptionError when no valid chunk layout has that size."""
    return ciphertext_size - header.header_size - _chunk_count(header, ciphertext_size) * TAG_SIZE


def chunk_range(header: EnvelopeHeader, ciphertext_size: int, start: int, end: int) -> ChunkSpan:
    """Map the plaintext range [start, end) to the chunks and ciphertext bytes to read.
    ValueError unless 0 <= start < end <= plaintext size."""
    size = plaintext_size(header, ciphertext_size)
    if not 0 <= start < end <= size:
        raise ValueError(f"range [{start}, {end}) is outside the object (size {size})")
    return _span(header, ciphertext_size, start, end)


def whole_object_span(header: EnvelopeHeader, ciphertext_size: int) -> ChunkSpan:
    """The span of every chunk of the object; unlike `chunk_range` it also covers an empty
    object (one final chunk holding no plaintext), so that chunk can be authenticated."""
    size = plaintext_size(header, ciphertext_size)
    if size == 0:
        return _span(header, ciphertext_size, 0, 0)
    return _span(header, ciphertext_size, 0, size)


def _span(header: EnvelopeHeader, ciphertext_size: int, start: int, end: int) -> ChunkSpan:
    chunk, stride = header.chunk_size, header.chunk_size + TAG_SIZE
    first, last = start // chunk, max(end - 1, 0) // chunk
    return ChunkSpan(
        first_chunk=first,
        last_chunk=last,
        chunk_count=_chunk_count(header, ciphertext_size),
        ciphertext_start=header.header_size + first * stride,
        ciphertext_end=min(header.header_size + (last + 1) * stride, ciphertext_size),
        skip=start - first * chunk,
        length=end - start,
        stride=stride,
    )


def _unwrap_dek(header: EnvelopeHeader, object_id: str, kek: KeyEncryptionKey) -> bytes:
    try:
        dek = kek.unwrap(header.wrapped_key, _wrap_aad(object_id, header.key_id))
    except KeyUnavailableError as exc:  # a KMS that retired or lost the key version
        raise KeyUnavailableError(exc.reason, object_id=object_id, key_id=header.key_id) from None
    except KeyProviderDenied as exc:
        raise KeyProviderDenied(exc.reason, key_id=exc.key_id, object_id=object_id) from None
    except KeyProviderUnavailable as exc:  # unreachable or sealed: fail closed, name the object
        raise KeyProviderUnavailable(exc.reason, key_id=exc.key_id, object_id=object_id) from None
    except ValueError:
        raise DecryptionError(
            f"data key does not authenticate (wrong key, or header {_TAMPERED})",
            object_id=object_id,
            key_id=header.key_id,
        ) from None
    if len(dek) != DEK_SIZE:
        raise DecryptionError(
            "data key has the wrong size", object_id=object_id, key_id=header.key_id
        )
    return dek


def _kek_for(header: EnvelopeHeader, object_id: str, keyring: Keyring) -> KeyEncryptionKey:
    try:
        return keyring.get(header.key_id)
    except KeyUnavailableError as exc:
        raise KeyUnavailableError(exc.reason, object_id=object_id, key_id=header.key_id) from None


class ChunkDecryptor:
    """Decrypts individual chunks of one object, in any order."""

    def __init__(self, header: EnvelopeHeader, object_id: str, keyring: Keyring) -> None:
        dek = _unwrap_dek(header, object_id, _kek_for(header, object_id, keyring))
        self._aead = AESGCM(dek)
        self._aad = header.stable + object_id.encode("utf-8")
        self._prefix = header.nonce_prefix
        self._chunk_size = header.chunk_size
        self._object_id = object_id
        self._key_id = header.key_id

    def decrypt_chunk(self, index: int, ciphertext: bytes | memoryview, *, last: bool) -> bytes:
        """Authenticate and decrypt chunk `index` (`last`: it is the object's final chunk).
        DecryptionError naming the object if it does not authenticate."""
        size = len(ciphertext)
        full = self._chunk_size + TAG_SIZE
        if size > full or size < TAG_SIZE or (not last and size != full):
            raise self._error(f"chunk {index} has the wrong size ({_TAMPERED})")
        if not 0 <= index < _MAX_CHUNKS:
            raise self._error(f"chunk index {index} is out of range")
        try:
            nonce = _chunk_nonce(self._prefix, index, last)
            return self._aead.decrypt(nonce, ciphertext, self._aad)
        except InvalidTag:
            raise self._error(f"chunk {index} failed authentication ({_TAMPERED})") from None

    def _error(self, reason: str) -> DecryptionError:
        return DecryptionError(reason, object_id=self._object_id, key_id=self._key_id)


def rewrap_header(
    header_bytes: bytes, object_id: str, keyring: Keyring, new_kek: KeyEncryptionKey
) -> bytes:
    """Return a new header whose data key is wrapped by `new_kek` (key rotation).

    The chunks stay valid unchanged: store new header + the old object's bytes from
    `parse_header(...).header_size` on. The new header may differ in length."""
    header = parse_header(header_bytes, object_id)
    dek = _unwrap_dek(header, object_id, _kek_for(header, object_id, keyring))
    wrapped = new_kek.wrap(dek, _wrap_aad(object_id, new_kek.key_id))
    return _encode_header(header.stable, new_kek.key_id, wrapped)
