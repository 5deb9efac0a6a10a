"""The embedded profile's master key: from the environment, or a 0600 key file.

Every other local secret (the object KEK, the SQLCipher key, URL-token and API-key pepper
keys, the edge's signing key) is derived from the master key with HKDF, each under its own
purpose label, so one leaked derived key reveals nothing about the others.

Key file format (JSON)::

    {"version": 1, "primary": "mk-<8 hex>",
     "keys": [{"id": "mk-<8 hex>", "secret": "<base64 of 32 bytes>", "created": "<ISO 8601>"}]}
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
import secrets
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from strongroom.crypto.kek import Keyring, LocalKek

ENV_KEY = "STRONGROOM_MASTER_KEY"
ENV_KEY_FILE = "STRONGROOM_MASTER_KEY_FILE"
MASTER_KEY_SIZE = 32
KEY_FILE_VERSION = 1
_KEY_ID = re.compile(r"mk-[0-9a-f]{8}")
_PURPOSE = re.compile(r"[a-z0-9][a-z0-9.-]{0,63}")


class KeyPurpose(StrEnum):
    """The purposes keys are derived for; pass one to `derive_key`."""

    OBJECT_KEK = "object-kek"
    SQLCIPHER = "sqlcipher"
    URL_TOKENS = "url-tokens"
    API_KEY_PEPPER = "api-key-pepper"
    EDGE_SIGNING = "edge-signing"


class KeyFileError(Exception):
    """The master key could not be loaded or created. The message never holds key bytes."""


@dataclass(frozen=True)
class MasterKey:
    """A 32-byte master secret and its id (the id is stored in object headers)."""

    key_id: str
    secret: bytes = field(repr=False)


def key_id_for(secret: bytes) -> str:
    """The id of a master secret: "mk-" + 8 hex digits of a hash of it. Deriving the id
    from the secret keeps it stable when the operator moves the key from the key file to
    the environment, so objects wrapped under it stay readable."""
    return "mk-" + hashlib.sha256(b"strongroom/master-key-id\x00" + secret).hexdigest()[:8]


def derive_key(master: MasterKey, purpose: str, length: int = 32) -> bytes:
    """HKDF-SHA256 of the master secret with info b"strongroom/" + purpose. `purpose` is a
    short lowercase label such as "object-kek"; `length` is 16 to 64 bytes."""
    if _PURPOSE.fullmatch(purpose) is None:
        raise ValueError("purpose must be a short lowercase label such as 'object-kek'")
    if not 16 <= length <= 64:
        raise ValueError("derived keys are 16 to 64 bytes long")
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=length, salt=None, info=b"strongroom/" + purpose.encode()
    )
    return hkdf.derive(master.secret)


def object_keyring(master: MasterKey, retired: Iterable[MasterKey] = ()) -> Keyring:
    """The keyring for object envelopes: the primary KEK is derived from `master` (id =
    master.key_id); `retired` master keys still unwrap objects written under them."""
    others = [LocalKek(old.key_id, derive_key(old, KeyPurpose.OBJECT_KEK)) for old in retired]
    return Keyring(LocalKek(master.key_id, derive_key(master, KeyPurpose.OBJECT_KEK)), others)


def _decode_secret(text: str, source: str) -> bytes:
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{source} is not valid base64") from None
    if len(secret) != MASTER_KEY_SIZE:
        raise KeyFileError(f"{source} must decode to {MASTER_KEY_SIZE} bytes")
    return secret


def _from_environment(env: Mapping[str, str]) -> MasterKey | None:
    # An empty variable counts as unset (compose files pass "${VAR}" through even when
    # it is not defined); anything else must be a valid key.
    if env.get(ENV_KEY, "") != "":
        secret = _decode_secret(env[ENV_KEY], ENV_KEY)
        return MasterKey(key_id_for(secret), secret)
    if env.get(ENV_KEY_FILE, "") != "":
        # No permission check here: container secret mounts are commonly 0444 and owned
        # by root; the operator chose this file explicitly.
        try:
            text = Path(env[ENV_KEY_FILE]).read_text(encoding="ascii")
        except OSError as exc:
            raise KeyFileError(f"{ENV_KEY_FILE} could not be read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise KeyFileError(f"{ENV_KEY_FILE} does not hold base64 text") from None
        secret = _decode_secret(text, ENV_KEY_FILE)
        return MasterKey(key_id_for(secret), secret)
    return None


def load_or_create_master_key(path: Path, *, env: Mapping[str, str]) -> MasterKey:
    """Return the primary master key.

    Order: `STRONGROOM_MASTER_KEY` (base64 of 32 bytes), then `STRONGROOM_MASTER_KEY_FILE`
    (a file holding that; failing to read it is an error, not a fallback), then the JSON
    key file at `path`, created atomically (file 0600, new parent folder 0700) when
    missing. A key file readable by group or others is refused with KeyFileError."""
    from_env = _from_environment(env)
    if from_env is not None:
        return from_env
    try:
        return read_key_file(path)[0]
    except FileNotFoundError:
        pass
    _create_key_file(path)
    return read_key_file(path)[0]


def read_key_file(path: Path) -> tuple[MasterKey, list[MasterKey]]:
    """Return (primary, all keys) from a key file. FileNotFoundError if it is missing;
    KeyFileError if it is a symlink, unreadable, group/world accessible or malformed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise KeyFileError(f"key file {path} cannot be opened: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
        if mode & 0o077:
            raise KeyFileError(
                f"key file {path} has mode {mode:04o}; it must not be accessible by group or "
                f"others (run: chmod 600 {path})"
            )
        raw = handle.read()
    return _parse_key_file(raw, path)


def _parse_key_file(raw: bytes, path: Path) -> tuple[MasterKey, list[MasterKey]]:
    try:
        doc: Any = json.loads(raw)
        if doc.get("version") != KEY_FILE_VERSION:
            raise KeyFileError(f"key file {path} has an unsupported version")
        keys = [_parse_entry(entry) for entry in doc["keys"]]
        primary = next(key for key in keys if key.key_id == doc["primary"])
    except (ValueError, KeyError, TypeError, AttributeError, StopIteration):
        raise KeyFileError(f"key file {path} is malformed") from None
    return primary, keys


def _parse_entry(entry: Mapping[str, Any]) -> MasterKey:
    key_id = entry["id"]
    if not isinstance(key_id, str) or _KEY_ID.fullmatch(key_id) is None:
        raise ValueError("bad key id")
    return MasterKey(key_id, _decode_secret(entry["secret"], "a key file secret"))


def _new_key_document() -> bytes:
    secret = secrets.token_bytes(MASTER_KEY_SIZE)
    key_id = key_id_for(secret)
    entry = {
        "id": key_id,
        "secret": base64.b64encode(secret).decode("ascii"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return json.dumps(
        {"version": KEY_FILE_VERSION, "primary": key_id, "keys": [entry]}, indent=2
    ).encode()


def _create_key_file(path: Path) -> None:
    parent = path.parent
    if not parent.exists():
        parent.mkdir(parents=True, mode=0o700)
        parent.chmod(0o700)  # mkdir's mode is reduced by the umask; make it exact
    temp = parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(_new_key_document())
            handle.flush()
            os.fsync(handle.fileno())
        # link() refuses to replace an existing file: if another process created the key
        # file first, its key wins and this one is discarded, so both end up with the same.
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
