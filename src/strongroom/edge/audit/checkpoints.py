"""Signed checkpoints of the audit chain, kept outside the database.

A checkpoint is the newest event's (seq, entry_hash) signed with an Ed25519 key derived from
the master key, which the database never holds. A checkpoint file lets `audit verify` see a
deleted tail (which the chain alone can't) and a rewritten history (the hash at that seq would
differ); copies of the file can be kept off the host (`strongroom audit checkpoint` prints one).
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.utils import timezone

from strongroom.crypto.signing import private_key_from_seed
from strongroom.edge.audit.models import AuditEvent


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    entry_hash: str
    created_at: str
    signature: str = ""

    def signed_bytes(self) -> bytes:
        fields = ("strongroom-audit-checkpoint", str(self.seq), self.entry_hash, self.created_at)
        return "\n".join(fields).encode()


@lru_cache(maxsize=1)
def _key() -> Ed25519PrivateKey:
    return private_key_from_seed(settings.AUDIT_SIGNING_SEED)


def checkpoint_file() -> Path:
    return Path(settings.DATA.root) / "audit" / "checkpoints.jsonl"


def make_checkpoint() -> Checkpoint | None:
    """Sign the newest event and append it to the checkpoint file (None: no events yet)."""
    last = AuditEvent.objects.order_by("-seq").first()
    if last is None:
        return None
    unsigned = Checkpoint(last.seq, last.entry_hash, timezone.now().isoformat())
    signature = base64.b64encode(_key().sign(unsigned.signed_bytes())).decode()
    checkpoint = Checkpoint(unsigned.seq, unsigned.entry_hash, unsigned.created_at, signature)
    path = checkpoint_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(checkpoint)) + "\n")
    path.chmod(0o600)
    return checkpoint


def last_checkpointed_seq() -> int | None:
    path = checkpoint_file()
    if not path.exists():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        return int(json.loads(lines[-1])["seq"]) if lines else None
    except (ValueError, KeyError, TypeError):
        return None


def checkpoint_problems() -> list[str]:
    """Every checkpoint that is forged or no longer matches the chain, as sentences."""
    path = checkpoint_file()
    if not path.exists():
        return []
    problems = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        problem = _check(line)
        if problem:
            problems.append(f"checkpoint {number}: {problem}")
    return problems


def _check(line: str) -> str | None:
    try:
        checkpoint = Checkpoint(**json.loads(line))
        _key().public_key().verify(
            base64.b64decode(checkpoint.signature), checkpoint.signed_bytes()
        )
    except (ValueError, TypeError, InvalidSignature):
        return "the signature does not verify (the checkpoint file was altered)"
    event = AuditEvent.objects.filter(seq=checkpoint.seq).first()
    if event is None:
        return f"event {checkpoint.seq} is gone (the log was cut short)"
    if event.entry_hash != checkpoint.entry_hash:
        return f"event {checkpoint.seq} no longer has the hash that was signed"
    return None
