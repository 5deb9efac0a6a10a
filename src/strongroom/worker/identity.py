"""The worker's state directory: its Ed25519 key and what it learned at enrollment.

Layout (directory 0700, files 0600, written atomically):
  worker_key.pem   the private key (PKCS#8 PEM), generated on this host, never sent anywhere
  identity.json    {"worker_id", "edge_url", "edge_public_key", "heartbeat_seconds", ...}
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from strongroom.crypto.signing import (
    private_key_from_pem,
    private_key_to_pem,
    public_key_from_text,
    public_key_to_text,
)

KEY_FILE = "worker_key.pem"
IDENTITY_FILE = "identity.json"
FORMAT_VERSION = 1


class IdentityError(Exception):
    """The state directory is unusable (wrong owner, loose permissions, corrupt files)."""


@dataclass(frozen=True)
class Identity:
    """Who this worker is to one edge."""

    worker_id: str
    edge_url: str
    edge_public_key: Ed25519PublicKey
    private_key: Ed25519PrivateKey
    heartbeat_seconds: int
    lease_seconds: int

    def __repr__(self) -> str:
        # The default repr would be harmless (key objects print no material) but say so loudly.
        return f"Identity(worker_id={self.worker_id!r}, edge_url={self.edge_url!r})"


def normalize_edge_url(url: str) -> str:
    """The edge URL in the one form identities are compared by: no trailing slash."""
    return url.rstrip("/")


def prepare_state_dir(state_dir: Path) -> Path:
    """Create ``state_dir`` (0700) or check an existing one; return its resolved path.

    Raises IdentityError when it is not a directory, belongs to another user, or is readable
    by others: a key in a directory other users can list or replace cannot be trusted.
    """
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = state_dir.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise IdentityError("the worker state path is not a directory")
    if info.st_uid != os.getuid():
        raise IdentityError("the worker state directory belongs to another user")
    if info.st_mode & 0o077:
        state_dir.chmod(0o700)
    return state_dir.resolve()


def load_identity(state_dir: Path, edge_url: str) -> Identity | None:
    """Return the saved identity for ``edge_url``, or None when there is none for that edge."""
    record_path, key_path = state_dir / IDENTITY_FILE, state_dir / KEY_FILE
    if not record_path.exists() or not key_path.exists():
        return None
    record = _read_record(record_path)
    if record.get("edge_url") != normalize_edge_url(edge_url):
        return None
    _check_private_file(key_path)
    try:
        key = private_key_from_pem(key_path.read_bytes())
        return Identity(
            worker_id=str(record["worker_id"]),
            edge_url=str(record["edge_url"]),
            edge_public_key=public_key_from_text(str(record["edge_public_key"])),
            private_key=key,
            heartbeat_seconds=int(record["heartbeat_seconds"]),
            lease_seconds=int(record["lease_seconds"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise IdentityError("the saved worker identity is corrupt; enroll again") from exc


def save_identity(state_dir: Path, identity: Identity) -> None:
    """Write the key and the identity record (0600 each, atomically; key first)."""
    _write_private(state_dir / KEY_FILE, private_key_to_pem(identity.private_key))
    record = {
        "format": FORMAT_VERSION,
        "worker_id": identity.worker_id,
        "edge_url": normalize_edge_url(identity.edge_url),
        "edge_public_key": public_key_to_text(identity.edge_public_key),
        "heartbeat_seconds": identity.heartbeat_seconds,
        "lease_seconds": identity.lease_seconds,
    }
    _write_private(state_dir / IDENTITY_FILE, json.dumps(record, indent=2).encode() + b"\n")


def _read_record(path: Path) -> dict[str, Any]:
    _check_private_file(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, json.JSONDecodeError) as exc:
        raise IdentityError("the saved worker identity is unreadable") from exc
    if not isinstance(record, dict):
        raise IdentityError("the saved worker identity is corrupt; enroll again")
    return record


def _check_private_file(path: Path) -> None:
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
        raise IdentityError(f"{path.name} in the worker state directory is not a private file")
    if info.st_mode & 0o077:
        raise IdentityError(f"{path.name} in the worker state directory is readable by others")


def _write_private(path: Path, data: bytes) -> None:
    # mkstemp creates the file 0600 in the same directory, so os.replace is atomic and the
    # content is never visible with wider permissions or half-written.
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temp_name).replace(path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
