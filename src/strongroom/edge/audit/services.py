"""Recording and verifying the audit chain: entry_hash = SHA-256(prev_hash ‖ canonical JSON)."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from strongroom.edge.audit.models import AuditEvent, VulnerabilityReport
from strongroom.edge.audit.request_metrics import REFUSALS

GENESIS = "0" * 64
logger = logging.getLogger(__name__)


def record_event(
    *,
    action: str,
    actor_type: str,
    actor: str,
    target: str = "",
    details: dict[str, Any] | None = None,
    organization_id: int | None = None,
) -> AuditEvent:
    with transaction.atomic():
        last = AuditEvent.objects.select_for_update().order_by("-seq").first()
        prev_hash = last.entry_hash if last else GENESIS
        fields = {
            "created_at": timezone.now(),
            "action": action,
            "actor_type": actor_type,
            "actor": actor,
            "target": target,
            "details": details or {},
            "organization_id": organization_id,
        }
        return AuditEvent.objects.create(
            prev_hash=prev_hash, entry_hash=entry_hash(prev_hash, fields), **fields
        )


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    # A null organization is left out, so events written before the column existed still verify.
    hashed = {k: v for k, v in fields.items() if not (k == "organization_id" and v is None)}
    canonical = json.dumps(hashed, sort_keys=True, separators=(",", ":"), default=_iso)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def first_broken_event() -> int | None:
    """The seq of the first event whose hash or link does not check out, or None."""
    prev = GENESIS
    for event in AuditEvent.objects.order_by("seq").iterator():
        fields = {
            "created_at": event.created_at,
            "action": event.action,
            "actor_type": event.actor_type,
            "actor": event.actor,
            "target": event.target,
            "details": event.details,
            "organization_id": event.organization_id,
        }
        if event.prev_hash != prev or event.entry_hash != entry_hash(prev, fields):
            return event.seq
        prev = event.entry_hash
    return None


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def file_vulnerability_report(*, contact: str, summary: str, details: str) -> str:
    """Store a report, tell the operators (log + audit event), return its reference number."""
    reference = f"SR-{timezone.now():%Y%m%d}-{secrets.token_hex(4).upper()}"
    VulnerabilityReport.objects.create(
        reference=reference, contact=contact[:320], summary=summary[:200], details=details
    )
    record_event(
        action="security.report_received",
        actor_type="anonymous",
        actor="report-form",
        target=f"report:{reference}",
    )
    logger.warning("vulnerability report %s received: operators, please triage", reference)
    return reference


def record_refusal_once_a_minute(*, action: str, actor: str, target: str, reason: str) -> None:
    """Audit a refused request, at most once a minute per (action, actor, reason).

    Refusals come from the network; one audit row per refused packet would let anyone grow the
    table at will, so repeats within a minute are only counted in the log.
    """
    REFUSALS.labels(action=action[:80], reason=reason[:80]).inc()  # every one, not once a minute
    since = timezone.now() - timedelta(minutes=1)
    recent = AuditEvent.objects.filter(
        action=action, actor=actor, created_at__gte=since, details__reason=reason
    )
    if recent.exists():
        logger.info("%s by %s (%s) again within a minute: not audited again", action, actor, reason)
        return
    record_event(
        action=action, actor_type="network", actor=actor, target=target, details={"reason": reason}
    )
