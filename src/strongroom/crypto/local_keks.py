"""Rotatable local object KEKs: a 0600 file of random keys, sealed under the master key.

The local provider's first object KEK is derived from the master key (`keyfile`, id
"mk-..."). That one cannot be rotated away by replacing the master key, because the master
key also derives the database key and the other local secrets. So `strongroom keys rotate`
adds a random 32-byte KEK (id "lk-<8 hex>") to this file and makes it the primary for new
data keys; older ones stay in the file and keep unwrapping until retired.

Each secret is stored sealed with AES-256-GCM under a key derived from the master key (bound
to its key id), so a copy of the data folder without the master key (say, the master key is
supplied as STRONGROOM_MASTER_KEY_FILE from a secret mount) reveals no KEK. Retiring a file
key deletes it (its objects must all be rewrapped first); retiring the derived key only marks
it retired, since the master key itself must stay.

File format (JSON)::

    {"version": 1, "primary": "lk-<8 hex>" | null, "retired": ["mk-..."],
     "keys": [{"id": "lk-<8 hex>", "sealed": "<base64>", "created": "<ISO 8601>"}]}
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.crypto.kek import KEK_SIZE, LocalKek
from strongroom.crypto.keyfile import KeyFileError, MasterKey, derive_key

__all__ = [
    "LocalKekFile",
    "LocalKeks",
    "add_local_kek",
    "read_local_keks",
    "retire_local_kek",
]

FILE_VERSION = 1
SEAL_PURPOSE = "object-kek-file"
_ID = re.compile(r"lk-[0-9a-f]{8}")
_NONCE = 12


@dataclass(frozen=True)
class LocalKeks:
    """The file's keys: `primary` is None until the first rotation (the derived key is)."""

    primary: str | None
    keys: tuple[LocalKek, ...] = field(repr=False)
    retired: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LocalKekFile:
    """Where the file is and the master key that seals it."""

    path: Path
    master: MasterKey = field(repr=False)

    def _aead(self) -> AESGCM:
        return AESGCM(derive_key(self.master, SEAL_PURPOSE))


def _aad(key_id: str) -> bytes:
    return b"strongroom/local-kek\x00" + key_id.encode("ascii")


def read_local_keks(kek_file: LocalKekFile) -> LocalKeks:
    """The file's keys; an empty LocalKeks when there is no file. KeyFileError when it is a
    symlink, group/world accessible, malformed, or sealed under another master key."""
    doc = _read_document(kek_file.path)
    if doc is None:
        return LocalKeks(None, ())
    try:
        keys = tuple(_unseal(kek_file, entry) for entry in doc["keys"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise KeyFileError(f"object key file {kek_file.path} is malformed") from None
    return LocalKeks(doc["primary"], keys, frozenset(doc["retired"]))


def add_local_kek(kek_file: LocalKekFile) -> str:
    """Create a new random KEK, make it the file's primary, and return its id."""
    key_id = "lk-" + secrets.token_hex(4)
    secret = secrets.token_bytes(KEK_SIZE)
    nonce = secrets.token_bytes(_NONCE)
    sealed = nonce + kek_file._aead().encrypt(nonce, secret, _aad(key_id))
    entry = {
        "id": key_id,
        "sealed": base64.b64encode(sealed).decode("ascii"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with _locked(kek_file.path):
        doc = _read_document(kek_file.path) or _empty()
        if any(old["id"] == key_id for old in doc["keys"]):  # 2^-32; never reuse an id
            raise KeyFileError("generated key id collides; run the rotation again")
        doc["keys"].append(entry)
        doc["primary"] = key_id
        _write_document(kek_file.path, doc)
    return key_id


def retire_local_kek(kek_file: LocalKekFile, key_id: str, *, derived_id: str) -> None:
    """Stop unwrapping with `key_id`: a file key is deleted (destroyed), the derived key
    (`derived_id`) is marked retired. The primary cannot be retired (ValueError); callers
    check first that no object still uses the key."""
    with _locked(kek_file.path):
        doc = _read_document(kek_file.path) or _empty()
        primary = doc["primary"] or derived_id
        if key_id == primary:
            raise ValueError(f"key {key_id!r} is the primary key; rotate to a new one first")
        if key_id == derived_id:
            doc["retired"] = sorted({*doc["retired"], key_id})
        elif any(entry["id"] == key_id for entry in doc["keys"]):
            doc["keys"] = [entry for entry in doc["keys"] if entry["id"] != key_id]
        else:
            raise ValueError(f"key {key_id!r} is not a local key-encryption key")
        _write_document(kek_file.path, doc)


def _empty() -> dict[str, Any]:
    return {"version": FILE_VERSION, "primary": None, "retired": [], "keys": []}


def _unseal(kek_file: LocalKekFile, entry: dict[str, Any]) -> LocalKek:
    key_id = entry["id"]
    sealed = base64.b64decode(entry["sealed"], validate=True)
    try:
        secret = kek_file._aead().decrypt(sealed[:_NONCE], sealed[_NONCE:], _aad(key_id))
    except InvalidTag:
        raise KeyFileError(
            f"object key file {kek_file.path}: key {key_id} does not open with this master key"
        ) from None
    return LocalKek(key_id, secret)


def _read_document(path: Path) -> dict[str, Any] | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyFileError(f"object key file {path} cannot be opened: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if stat.S_IMODE(os.fstat(handle.fileno()).st_mode) & 0o077:
            raise KeyFileError(f"object key file {path} must not be accessible by group or others")
        raw = handle.read()
    try:
        return _check_document(json.loads(raw))
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise KeyFileError(f"object key file {path} is malformed") from None


def _check_document(doc: Any) -> dict[str, Any]:
    if doc["version"] != FILE_VERSION:
        raise ValueError("unsupported version")
    ids = [entry["id"] for entry in doc["keys"]]
    if any(not isinstance(i, str) or _ID.fullmatch(i) is None for i in ids) or len(set(ids)) != len(
        ids
    ):
        raise ValueError("bad key ids")
    if doc["primary"] is not None and doc["primary"] not in ids:
        raise ValueError("primary is not in the file")
    if not all(isinstance(r, str) for r in doc["retired"]):
        raise ValueError("bad retired list")
    return dict(doc)


def _write_document(path: Path, doc: dict[str, Any]) -> None:
    """Write atomically: a 0600 temporary file, fsync, rename, fsync the folder."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps(doc, indent=2).encode())
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of the file between processes (two rotations at once)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = os.open(
        path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
    )
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
    finally:
        os.close(lock)
