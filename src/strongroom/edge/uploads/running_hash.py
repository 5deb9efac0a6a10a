"""The whole upload's SHA-256, carried from one tus PATCH to the next inside this process.

Sealing an upload needs the SHA-256 of all its bytes. Without a running hash, a multi-PATCH
upload is read back, decrypted and hashed after its last byte (the benchmark measured that at
about a fifth of the edge's upload time). A hash state can't be stored in the database, so each
process keeps the states of the uploads it is receiving, keyed by upload and offset; when the
next PATCH lands on another process (or after a restart) the state is missing and sealing falls
back to reading the upload back. Bounded, least recently used first out.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

MAX_UPLOADS = 512

_lock = threading.Lock()
_states: OrderedDict[str, tuple[int, Any]] = OrderedDict()


def take(upload_uuid: str, offset: int) -> Any | None:
    """A hasher over exactly the upload's first `offset` bytes, or None when unknown here.
    The caller owns it: nobody else can continue the same state."""
    if offset == 0:
        return hashlib.sha256()
    with _lock:
        found = _states.pop(upload_uuid, None)
    if found is None or found[0] != offset:
        return None
    return found[1]


def keep(upload_uuid: str, offset: int, hasher: Any) -> None:
    """Remember `hasher` as covering the upload's first `offset` bytes."""
    with _lock:
        _states[upload_uuid] = (offset, hasher)
        _states.move_to_end(upload_uuid)
        while len(_states) > MAX_UPLOADS:
            _states.popitem(last=False)


def forget(upload_uuid: str) -> None:
    with _lock:
        _states.pop(upload_uuid, None)
