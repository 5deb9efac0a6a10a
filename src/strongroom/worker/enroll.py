"""Enrollment: turn a one-time join token into a saved worker identity.

A join token works once, so an identity already saved for the same edge is always reused; a
new key is generated and enrolled only when there is none.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom import __version__
from strongroom.crypto.signing import (
    SignatureError,
    generate_private_key,
    public_key_from_text,
    public_key_to_text,
)
from strongroom.worker.client import (
    AuthRefused,
    EdgeClient,
    EdgeRejected,
    EdgeUnavailable,
    RetryPolicy,
)
from strongroom.worker.identity import Identity, load_identity, prepare_state_dir, save_identity

logger = logging.getLogger(__name__)

ENROLL_PATH = "/internal/worker/enroll"
ENROLL_KEY_ID = "enroll"
_WORKER_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class EnrollmentFailed(Exception):
    """Enrollment could not complete; the message is meant for the operator, verbatim."""


def ensure_identity(
    *,
    state_dir: Path,
    edge_url: str,
    join_token: str | None,
    ca_file: Path | None,
    name: str,
    labels: Sequence[str],
    transport: httpx.BaseTransport | None = None,
) -> Identity:
    """Return the saved identity for ``edge_url``, enrolling with ``join_token`` if needed.

    Raises EnrollmentFailed with an operator-facing message (never the token itself).
    """
    existing = load_identity(prepare_state_dir(state_dir), edge_url)
    if existing is not None:
        logger.info("reusing the enrolled identity %s", existing.worker_id)
        return existing
    if not join_token:
        raise EnrollmentFailed(
            "this worker is not enrolled with the edge yet: start it once with a join token"
        )
    identity = enroll(
        edge_url=edge_url,
        join_token=join_token,
        ca_file=ca_file,
        name=name,
        labels=labels,
        transport=transport,
    )
    save_identity(state_dir, identity)
    logger.info("enrolled as %s", identity.worker_id)
    return identity


def enroll(
    *,
    edge_url: str,
    join_token: str,
    ca_file: Path | None,
    name: str,
    labels: Sequence[str],
    transport: httpx.BaseTransport | None = None,
) -> Identity:
    """Generate a key, register it with the edge, and return the resulting identity."""
    key = generate_private_key()
    try:
        client = EdgeClient(
            edge_url,
            key=key,
            key_id=ENROLL_KEY_ID,
            edge_public_key=None,
            ca_file=ca_file,
            retry=RetryPolicy(attempts=3),
            transport=transport,
        )
    except (ValueError, OSError) as exc:
        raise EnrollmentFailed(f"cannot set up the connection to the edge: {exc}") from None
    payload = {
        "join_token": join_token,
        "public_key": public_key_to_text(key.public_key()),
        "name": name,
        "labels": list(labels),
        "version": __version__,
    }
    with closing(client):
        data = _post_enrollment(client, payload)
    return _identity_from_reply(data, client.edge_url, key)


def _post_enrollment(client: EdgeClient, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        reply = client.post_json(client.endpoint(ENROLL_PATH), payload, expected=frozenset({201}))
    except AuthRefused:
        raise EnrollmentFailed(
            "the edge refused the join token (used, expired or unknown)"
        ) from None
    except EdgeUnavailable as exc:
        raise EnrollmentFailed(f"the edge could not be reached: {exc}") from None
    except EdgeRejected as exc:
        raise EnrollmentFailed(f"the edge rejected the enrollment: {exc}") from None
    return reply.data or {}


def _identity_from_reply(data: dict[str, Any], edge_url: str, key: Ed25519PrivateKey) -> Identity:
    try:
        worker_id = data["worker_id"]
        if not isinstance(worker_id, str) or not _WORKER_ID.match(worker_id):
            raise ValueError("worker_id")
        return Identity(
            worker_id=worker_id,
            edge_url=edge_url,
            edge_public_key=public_key_from_text(str(data["edge_public_key"])),
            private_key=key,
            heartbeat_seconds=_positive(data["heartbeat_seconds"]),
            lease_seconds=_positive(data["lease_seconds"]),
        )
    except (KeyError, TypeError, ValueError, SignatureError):
        raise EnrollmentFailed("the edge's enrollment answer is malformed") from None


def _positive(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("expected a positive integer")
    return value
