"""Where a plaintext byte range lives in a stored envelope: chunk indexes and ciphertext
offsets, for ranged reads that fetch only the chunks they need. Pure arithmetic on the
header's chunk size and header size; split from `envelope` to keep that module readable."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from strongroom.crypto.kek import DecryptionError

__all__ = ["TAG_SIZE", "ChunkSpan", "chunk_range", "plaintext_size", "whole_object_span"]

TAG_SIZE = 16


class _Header(Protocol):
    # The EnvelopeHeader fields the layout needs (a Protocol: envelope imports this module).
    @property
    def object_id(self) -> str: ...
    @property
    def key_id(self) -> str: ...
    @property
    def chunk_size(self) -> int: ...
    @property
    def header_size(self) -> int: ...


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


def _chunk_count(header: _Header, ciphertext_size: int) -> int:
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


def plaintext_size(header: _Header, ciphertext_size: int) -> int:
    """Plaintext size of an object whose stored size is `ciphertext_size` bytes (header
    included). DecryptionError when no valid chunk layout has that size."""
    return ciphertext_size - header.header_size - _chunk_count(header, ciphertext_size) * TAG_SIZE


def chunk_range(header: _Header, ciphertext_size: int, start: int, end: int) -> ChunkSpan:
    """Map the plaintext range [start, end) to the chunks and ciphertext bytes to read.
    ValueError unless 0 <= start < end <= plaintext size."""
    size = plaintext_size(header, ciphertext_size)
    if not 0 <= start < end <= size:
        raise ValueError(f"range [{start}, {end}) is outside the object (size {size})")
    return _span(header, ciphertext_size, start, end)


def whole_object_span(header: _Header, ciphertext_size: int) -> ChunkSpan:
    """The span of every chunk of the object; unlike `chunk_range` it also covers an empty
    object (one final chunk holding no plaintext), so that chunk can be authenticated."""
    size = plaintext_size(header, ciphertext_size)
    if size == 0:
        return _span(header, ciphertext_size, 0, 0)
    return _span(header, ciphertext_size, 0, size)


def _span(header: _Header, ciphertext_size: int, start: int, end: int) -> ChunkSpan:
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
