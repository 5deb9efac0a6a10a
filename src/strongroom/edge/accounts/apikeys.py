"""API keys and the Qencode access tokens issued from them: create, authenticate, regenerate,
revoke, list. The API, the console and the CLI all call these.

A key is refused when it is malformed (checked before any database lookup), unknown, revoked,
expired, replaced with its grace period over, or when the person who created it has been
deactivated (read on every request, so deactivation is immediate). An access token is refused
by the same rules applied to its key: it dies with it.

A regenerated key's grace period is kept as its `expires_at` (the earlier of its own expiry and
the grace end), so "replaced and grace over" is the same check as "expired" and needs no field.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from strongroom.crypto.apikeys import api_key_digest, generate_api_key, parse_api_key
from strongroom.edge.accounts.models import ALL_SCOPES, AccessToken, ApiKey, Project
from strongroom.edge.accounts.permissions import TABLE, Action, Credential, allows
from strongroom.edge.audit.models import ActorKind
from strongroom.edge.audit.requestlog import set_actor
from strongroom.edge.audit.services import record_event

# last_used_at/last_used_ip are for people reading the key list, not an audit trail: one write
# per key per minute at most keeps a busy key from writing on every request.
LAST_USED_EVERY = timedelta(minutes=1)


class ActorType(StrEnum):
    USER = "user"  # a person in the console
    CLI = "cli"  # an operator at the server's shell


@dataclass(frozen=True)
class Actor:
    """Who asked for a key change, as the audit log records it."""

    type: ActorType
    name: str

    @classmethod
    def user(cls, user: Any) -> Actor:
        return cls(ActorType.USER, f"user:{user.pk}")

    @classmethod
    def cli(cls, login: str) -> Actor:
        return cls(ActorType.CLI, f"cli:{login}")


class KeyState(StrEnum):
    ACTIVE = "active"
    REPLACED = "replaced"  # regenerated; works until its grace period ends
    EXPIRED = "expired"
    REVOKED = "revoked"
    CREATOR_INACTIVE = "creator inactive"


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


class InvalidScopes(ValueError):
    """Scopes that are unknown, or none at all (a key that may do nothing is a mistake)."""


class InvalidExpiry(ValueError):
    """An expiry time that is not in the future, or a negative grace period."""


class UnknownApiKey(Exception):
    """No key with that public id."""


class ApiKeyNotActive(Exception):
    """The key is revoked, expired, already replaced or its creator is deactivated."""


class ScopeMissing(Exception):
    """The key (or the key behind an access token or task) lacks the scope an action needs."""

    def __init__(self, action: Action) -> None:
        scope = TABLE[action].scope if action in TABLE else None
        super().__init__(
            f"This API key lacks the '{scope}' scope" if scope else "API keys may not do this"
        )


# ------------------------------------------------------------------------ scopes


def key_allows(key: ApiKey, action: Action) -> bool:
    return allows(action, Credential.API_KEY, scopes=key.scopes)


def require_scope(key: ApiKey | None, action: Action) -> None:
    """Raise ScopeMissing unless `key` may do `action`; no key (console, CLI) is not limited."""
    if key is not None and not key_allows(key, action):
        raise ScopeMissing(action)


def clean_scopes(scopes: Iterable[str] | None) -> list[str]:
    """Known scopes, deduplicated, in the table's order; None means every scope."""
    if scopes is None:
        return [str(scope) for scope in ALL_SCOPES]
    wanted = {str(scope).strip() for scope in scopes}
    known = {str(scope) for scope in ALL_SCOPES}
    if not wanted or not wanted <= known:
        raise InvalidScopes(
            f"scopes must be one or more of {', '.join(sorted(known))}; got {sorted(wanted)}"
        )
    return [str(scope) for scope in ALL_SCOPES if str(scope) in wanted]


# ------------------------------------------------------------------------ life cycle


def create_api_key(
    project: Project,
    *,
    name: str,
    scopes: Iterable[str] | None = None,
    expires_at: datetime | None = None,
    created_by: Any = None,
    actor: Actor,
) -> str:
    """Create a key and return it: the only time its secret exists in clear."""
    cleaned = clean_scopes(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidExpiry("the expiry time must be in the future")
    with transaction.atomic():
        text, key = _store_new_key(project, name, cleaned, expires_at, created_by)
        _audit(
            "apikey.create",
            actor,
            key,
            {"project": project.pk, "name": name, "scopes": cleaned, "expires_at": expires_at},
        )
    return text


def regenerate_api_key(key: ApiKey, *, grace_seconds: int = 0, actor: Actor) -> str:
    """A new key with the old one's project, name, scopes, creator and lifetime; return its text.

    Without grace the old key and its access tokens stop at once; with grace they work until then.
    """
    if grace_seconds < 0:
        raise InvalidExpiry("the grace period can't be negative")
    now = timezone.now()
    with transaction.atomic():
        old = ApiKey.objects.select_for_update().filter(pk=key.pk).first()
        if old is None or key_state(old, now) is not KeyState.ACTIVE:
            raise ApiKeyNotActive(key.public_id)
        text, new = _store_new_key(
            old.project, old.name, list(old.scopes), _same_lifetime(old, now), old.created_by
        )
        ApiKey.objects.filter(pk=old.pk).update(
            replaced_by=new, **_retirement(old, now, grace_seconds)
        )
        if not grace_seconds:
            AccessToken.objects.filter(api_key_id=old.pk).delete()
        _audit(
            "apikey.regenerate",
            actor,
            old,
            {"new_key": new.public_id, "grace_seconds": grace_seconds},
        )
    return text


def revoke_api_key(key: ApiKey, *, actor: Actor) -> bool:
    """Stop the key and its access tokens now; False when it was already revoked."""
    with transaction.atomic():
        revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        AccessToken.objects.filter(api_key_id=key.pk).delete()
        if revoked:
            _audit("apikey.revoke", actor, key, {})
    return bool(revoked)


def find_api_key(public_id: str) -> ApiKey:
    key = ApiKey.objects.select_related("project").filter(public_id=public_id).first()
    if key is None:
        raise UnknownApiKey(public_id)
    return key


def list_api_keys(project: Project) -> list[ApiKey]:
    return list(
        ApiKey.objects.filter(project=project)
        .select_related("created_by", "replaced_by")
        .order_by("created_at", "pk")
    )


def key_state(key: ApiKey, now: datetime | None = None) -> KeyState:
    """What authenticate_api_key would make of this key now (revocation first: it is final)."""
    now = now or timezone.now()
    if key.revoked_at is not None:
        return KeyState.REVOKED
    if key.created_by is not None and not key.created_by.is_active:
        return KeyState.CREATOR_INACTIVE
    if key.expires_at is not None and key.expires_at <= now:
        return KeyState.EXPIRED
    return KeyState.REPLACED if key.replaced_by_id is not None else KeyState.ACTIVE


# ------------------------------------------------------------------------ authentication


def authenticate_api_key(text: str, *, address: str | None = None) -> ApiKey | None:
    """The live key for `text`, or None. Malformed keys are refused before any database lookup."""
    parsed = parse_api_key(text.strip()) if isinstance(text, str) else None
    if parsed is None:
        return None
    now = timezone.now()
    key = (
        ApiKey.objects.select_related("project")
        .filter(_live_key_filter(now), public_id=parsed.public_id)
        .first()
    )
    if key is None:
        return None
    expected = api_key_digest(settings.API_KEY_PEPPER, parsed.secret)
    if not hmac.compare_digest(key.digest.encode(), expected.encode()):
        return None
    _touch(key, address, now)
    _name_in_request_log(key)
    return key


def issue_access_token(api_key: ApiKey) -> IssuedToken:
    token = secrets.token_hex(16)  # Qencode's token shape: 32 hex characters
    expires_at = timezone.now() + timedelta(seconds=settings.ACCESS_TOKEN_SECONDS)
    if api_key.expires_at is not None:  # a token never outlives its key: say so in `expire`
        expires_at = min(expires_at, api_key.expires_at)
    AccessToken.objects.create(api_key=api_key, digest=_token_digest(token), expires_at=expires_at)
    return IssuedToken(token=token, expires_at=expires_at)


def key_for_access_token(token: str) -> ApiKey | None:
    """The live key (with its project) behind a live access token; its scopes govern the token."""
    now = timezone.now()
    found = (
        AccessToken.objects.select_related("api_key__project")
        .filter(
            _live_key_filter(now, via="api_key__"), digest=_token_digest(token), expires_at__gt=now
        )
        .first()
    )
    if found is None:
        return None
    _name_in_request_log(found.api_key)
    return found.api_key


# ------------------------------------------------------------------------ internals


def _live_key_filter(now: datetime, via: str = "") -> Q:
    """Not revoked, not expired (nor past a replacement's grace), creator absent or active."""
    return (
        Q(**{f"{via}revoked_at__isnull": True})
        & (Q(**{f"{via}expires_at__isnull": True}) | Q(**{f"{via}expires_at__gt": now}))
        & (Q(**{f"{via}created_by__isnull": True}) | Q(**{f"{via}created_by__is_active": True}))
    )


def _store_new_key(
    project: Project, name: str, scopes: list[str], expires_at: datetime | None, created_by: Any
) -> tuple[str, ApiKey]:
    text = generate_api_key()
    parsed = parse_api_key(text)
    assert parsed is not None  # noqa: S101  (our own generator's output always parses)
    key = ApiKey.objects.create(
        project=project,
        public_id=parsed.public_id,
        name=name,
        digest=api_key_digest(settings.API_KEY_PEPPER, parsed.secret),
        scopes=scopes,
        expires_at=expires_at,
        created_by=created_by,
    )
    return text, key


def _same_lifetime(old: ApiKey, now: datetime) -> datetime | None:
    # The expiry policy is the old key's lifetime, counted again from the regeneration.
    return None if old.expires_at is None else now + (old.expires_at - old.created_at)


def _retirement(old: ApiKey, now: datetime, grace_seconds: int) -> dict[str, datetime]:
    if not grace_seconds:
        return {"revoked_at": now}
    grace_end = now + timedelta(seconds=grace_seconds)
    return {"expires_at": min(old.expires_at, grace_end) if old.expires_at else grace_end}


def _audit(action: str, actor: Actor, key: ApiKey, details: dict[str, Any]) -> None:
    # The public id names the key; the secret and its digest never reach the audit log.
    plain = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in details.items()}
    record_event(
        action=action,
        actor_type=str(actor.type),
        actor=actor.name,
        target=f"apikey:{key.public_id}",
        details=plain,
        organization_id=key.project.organization_id,
    )


def _touch(key: ApiKey, address: str | None, now: datetime) -> None:
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_EVERY:
        return
    ip = _valid_ip(address)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip)
    key.last_used_at, key.last_used_ip = now, ip


def _valid_ip(address: str | None) -> str | None:
    # REMOTE_ADDR can be empty or a socket path under some servers; the column takes IPs only.
    try:
        return str(ipaddress.ip_address(address or ""))
    except ValueError:
        return None


def _name_in_request_log(key: ApiKey) -> None:
    set_actor(ActorKind.API_KEY, key.public_id, organization_id=key.project.organization_id)


def _token_digest(token: str) -> str:
    # Access tokens are 128-bit random values: a plain SHA-256 is the right hash (ASVS 6.5.2).
    return hashlib.sha256(token.encode()).hexdigest()
