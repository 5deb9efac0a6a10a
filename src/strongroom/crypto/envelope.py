"""Chunked AES-256-GCM envelope encryption (the STREAM construction), seekable by chunk.

Layout of an encrypted object::

    header  = magic "SRE1" | version u8 | chunk size u32 | nonce prefix (7)     <- stable part
      version 1 (data key embedded):
              | key id length u8 | key id (ASCII) | wrapped DEK length u16 | wrapped DEK
      version 2 (data key in a wrapped-key store; the key reference is part of the stable part):
              | key reference length u8 | key reference (32 hex digits)
    chunk i = AES-256-GCM(DEK, nonce_i, plaintext_i, AAD) = ciphertext || 16-byte tag
    nonce_i = nonce prefix (7) | i as u32 big-endian | 0x01 on the final chunk else 0x00
    AAD     = stable header part | object id (UTF-8)

Every chunk but the last holds exactly `chunk size` plaintext bytes; the last holds 0 to
`chunk size` bytes and carries the final flag, so truncation, extension and reordering fail
authentication. The object id in the AAD stops chunks or whole files being moved between
objects. The KEK id and wrapped DEK are left out of the chunk AAD on purpose: key rotation
re-wraps the DEK without touching the chunks. They are bound instead by the DEK wrap itself,
whose AAD is the object id plus the KEK id (`datakeys.wrap_aad`).

Version 2 is what the object store writes when it has a wrapped-key store: the header holds
only a random reference, and the wrapped DEK lives in the store under (object id, reference).
Rotation then updates one small record and never rewrites the stored object, and deleting the
record destroys the only wrapped copy of the DEK (crypto-shredding), which a header inside a
versioned bucket or a backup could never guarantee. Version 1 objects stay readable, and
`rewrap_header` still re-wraps them for callers without a key store.
"""

from __future__ import annotations

import re
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.crypto.chunk_layout import (
    TAG_SIZE,
    ChunkSpan,
    chunk_range,
    plaintext_size,
    whole_object_span,
)
from strongroom.crypto.datakeys import WrappedKey, unwrap_dek, wrap_dek
from strongroom.crypto.kek import (
    DEK_SIZE,
    MAX_KEY_ID_LENGTH,
    DecryptionError,
    KeyEncryptionKey,
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
    "WrappedKey",
    "chunk_range",
    "new_key_ref",
    "parse_header",
    "plaintext_size",
    "rewrap_header",
    "whole_object_span",
]

MAGIC = b"SRE1"
FORMAT_EMBEDDED_KEY = 1
FORMAT_KEY_STORE = 2
FORMAT_VERSION = FORMAT_EMBEDDED_KEY  # what StreamEncryptor writes without a key reference
CHUNK_SIZE = 1 << 20
MIN_CHUNK_SIZE = 1 << 10
MAX_CHUNK_SIZE = 1 << 26
NONCE_PREFIX_SIZE = 7
MAX_WRAPPED_KEY_SIZE = 4096
_MAX_CHUNKS = 1 << 32
_STABLE = struct.Struct(">4sBI7s")
HEADER_MAX_SIZE = _STABLE.size + 1 + MAX_KEY_ID_LENGTH + 2 + MAX_WRAPPED_KEY_SIZE
_TAMPERED = "tampered, truncated, reordered, or taken from another object"
_KEY_REF = re.compile(rb"[0-9a-f]{32}")


def new_key_ref() -> str:
    """A fresh random reference to a wrapped-key store record (format 2)."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class EnvelopeHeader:
    """A parsed envelope header. `stable` is the part every chunk's AAD covers."""

    object_id: str
    version: int
    chunk_size: int
    nonce_prefix: bytes
    key_id: str  # "" in format 2: the key store record names the key
    wrapped_key: bytes = field(repr=False)  # b"" in format 2
    header_size: int
    key_ref: str = ""  # format 2 only: the key store record of this object's data key

    @property
    def stable(self) -> bytes:
        return _stable(self.version, self.chunk_size, self.nonce_prefix, self.key_ref)

    @property
    def embedded_key(self) -> WrappedKey | None:
        """The wrapped data key a format 1 header carries (None in format 2)."""
        if self.version != FORMAT_EMBEDDED_KEY:
            return None
        return WrappedKey(self.key_id, self.wrapped_key)


def _check_chunk_size(chunk_size: int) -> None:
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE}")


def _stable(version: int, chunk_size: int, prefix: bytes, key_ref: str) -> bytes:
    fixed = _STABLE.pack(MAGIC, version, chunk_size, prefix)
    if version == FORMAT_EMBEDDED_KEY:
        return fixed
    # Format 2 puts the reference in every chunk's AAD too: it never changes, and pointing
    # a header at another record then fails authentication even before the unwrap would.
    ref = key_ref.encode("ascii")
    return fixed + bytes([len(ref)]) + ref


def _encode_header(stable: bytes, key_id: str, wrapped: bytes) -> bytes:
    if not 0 < len(wrapped) <= MAX_WRAPPED_KEY_SIZE:
        raise ValueError("wrapped data key has an unsupported size")
    kid = key_id.encode("ascii")
    return b"".join((stable, bytes([len(kid)]), kid, len(wrapped).to_bytes(2, "big"), wrapped))


def _chunk_nonce(prefix: bytes, index: int, final: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


class StreamEncryptor:
    """Encrypts one object as a stream: `header()`, then `update()` as data arrives, then
    `finish()` exactly once. Concatenating the outputs in that order gives the object.

    With `key_ref` (from `new_key_ref`) it writes format 2: the header holds only the
    reference, and the caller stores `wrapped_key` in its key store under that reference."""

    def __init__(
        self,
        object_id: str,
        keyring: Keyring,
        chunk_size: int = CHUNK_SIZE,
        *,
        key_ref: str | None = None,
    ) -> None:
        _check_chunk_size(chunk_size)
        if key_ref is not None and _KEY_REF.fullmatch(key_ref.encode("ascii", "replace")) is None:
            raise ValueError("a key reference is 32 lowercase hex digits")
        dek = secrets.token_bytes(DEK_SIZE)
        self._prefix = secrets.token_bytes(NONCE_PREFIX_SIZE)
        version = FORMAT_EMBEDDED_KEY if key_ref is None else FORMAT_KEY_STORE
        stable = _stable(version, chunk_size, self._prefix, key_ref or "")
        self.wrapped_key = wrap_dek(dek, object_id, keyring.primary)
        if key_ref is None:
            self._header = _encode_header(stable, self.wrapped_key.key_id, self.wrapped_key.wrapped)
        else:
            self._header = stable
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
    if version not in (FORMAT_EMBEDDED_KEY, FORMAT_KEY_STORE):
        raise DecryptionError(f"unsupported format version {version}", object_id=object_id)
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError("header has an invalid chunk size", object_id=object_id)
    if version == FORMAT_KEY_STORE:
        ref, pos = _read_key_ref(view, _STABLE.size, object_id)
        return EnvelopeHeader(object_id, version, chunk_size, prefix, "", b"", pos, ref)
    key_id, pos = _read_key_id(view, _STABLE.size, object_id)
    wrapped, pos = _read_wrapped_key(view, pos, object_id, key_id)
    return EnvelopeHeader(object_id, version, chunk_size, prefix, key_id, wrapped, pos)


def _read_key_ref(view: memoryview, pos: int, object_id: str) -> tuple[str, int]:
    raw = bytes(view[pos + 1 : pos + 1 + view[pos]])
    if len(raw) != view[pos] or _KEY_REF.fullmatch(raw) is None:
        raise DecryptionError(
            "header has a truncated or malformed key reference", object_id=object_id
        )
    return raw.decode("ascii"), pos + 1 + len(raw)


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


def _data_key(
    header: EnvelopeHeader, object_id: str, keyring: Keyring, stored: WrappedKey | None
) -> bytes:
    wrapped = stored or header.embedded_key
    if wrapped is None:
        # Format 2 without its key store record: shredded, or the store was lost.
        raise KeyUnavailableError(
            "its data key is not in the key store (the object was shredded)", object_id=object_id
        )
    return unwrap_dek(wrapped, object_id, keyring)


class ChunkDecryptor:
    """Decrypts individual chunks of one object, in any order. `wrapped` is the object's key
    store record (required for format 2; for format 1 it replaces the header's own copy, which
    is how a format 1 object is rotated without rewriting it)."""

    def __init__(
        self,
        header: EnvelopeHeader,
        object_id: str,
        keyring: Keyring,
        wrapped: WrappedKey | None = None,
    ) -> None:
        dek = _data_key(header, object_id, keyring, wrapped)
        self._aead = AESGCM(dek)
        self._aad = header.stable + object_id.encode("utf-8")
        self._prefix = header.nonce_prefix
        self._chunk_size = header.chunk_size
        self._object_id = object_id
        self._key_id = wrapped.key_id if wrapped else header.key_id

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
    """Return a new format 1 header whose data key is wrapped by `new_kek` (key rotation
    without a key store).

    The chunks stay valid unchanged: store new header + the old object's bytes from
    `parse_header(...).header_size` on. The new header may differ in length. A format 2
    header holds no wrapped key: rotate its key store record (`datakeys.rewrap_key`)."""
    header = parse_header(header_bytes, object_id)
    if header.embedded_key is None:
        raise ValueError("a format 2 header holds no data key; re-wrap its key store record")
    dek = _data_key(header, object_id, keyring, None)
    wrapped = wrap_dek(dek, object_id, new_kek)
    return _encode_header(header.stable, wrapped.key_id, wrapped.wrapped)
