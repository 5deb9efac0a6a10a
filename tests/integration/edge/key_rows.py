"""Shared by the API-key tests: finding a key's row, moving its times, reading the audit log,
and the ways a key stops being live."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from strongroom.crypto.apikeys import parse_api_key
from strongroom.edge.accounts.apikeys import Actor, regenerate_api_key
from strongroom.edge.accounts.models import ApiKey
from strongroom.edge.audit.models import AuditEvent

OPERATOR = Actor.cli("alice")
HOUR = timedelta(hours=1)


def key_row(text: str) -> ApiKey:
    parsed = parse_api_key(text)
    assert parsed is not None
    return ApiKey.objects.get(public_id=parsed.public_id)


def age(text: str, **fields: Any) -> None:
    """Set a key's row fields directly: how the tests move a key past its expiry or grace."""
    ApiKey.objects.filter(pk=key_row(text).pk).update(**fields)


def audit_rows(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def assert_no_secret_in_audit(*texts: str) -> None:
    dumped = json.dumps(list(AuditEvent.objects.values("actor", "target", "details")), default=str)
    for text in texts:
        parsed = parse_api_key(text)
        assert parsed is not None
        assert text not in dumped and parsed.secret not in dumped
        assert key_row(text).digest not in dumped


def revoke(text: str, _person: Any) -> None:
    age(text, revoked_at=timezone.now())


def expire(text: str, _person: Any) -> None:
    age(text, expires_at=timezone.now() - timedelta(seconds=1))


def expire_now(text: str, _person: Any) -> None:
    age(text, expires_at=timezone.now())  # "expires at" is already too late


def replace_and_end_grace(text: str, _person: Any) -> None:
    regenerate_api_key(key_row(text), grace_seconds=60, actor=OPERATOR)
    expire(text, _person)


def replace_without_grace(text: str, _person: Any) -> None:
    regenerate_api_key(key_row(text), actor=OPERATOR)


def deactivate_creator(_text: str, person: Any) -> None:
    person.is_active = False
    person.save()


RefusalSetup = Callable[[str, Any], None]
REFUSALS: dict[str, RefusalSetup] = {
    "revoked": revoke,
    "expired": expire,
    "expiring now": expire_now,
    "replaced, grace over": replace_and_end_grace,
    "replaced without grace": replace_without_grace,
    "creator deactivated": deactivate_creator,
}
