"""Account actions shared by the API, the console and the CLI."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from strongroom.crypto.apikeys import (
    api_key_digest,
    generate_api_key,
    parse_api_key,
)
from strongroom.edge.accounts.models import (
    AccessToken,
    ApiKey,
    Membership,
    Organization,
    Project,
    Role,
)


class UnknownProject(Exception):
    """No project with that name."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def ensure_project(organization: str, project: str) -> Project:
    org, _ = Organization.objects.get_or_create(name=organization)
    found, _ = Project.objects.get_or_create(organization=org, name=project)
    return found


def find_project(name: str, organization: str | None = None) -> Project:
    projects = Project.objects.filter(name=name)
    if organization:
        projects = projects.filter(organization__name=organization)
    found = list(projects[:2])
    if len(found) != 1:
        raise UnknownProject(name)
    return found[0]


def create_api_key(project: Project, name: str = "") -> str:
    """Create a key for `project` and return it: the only time the secret exists in clear."""
    text = generate_api_key()
    parsed = parse_api_key(text)
    assert parsed is not None  # noqa: S101  (our own generator's output always parses)
    ApiKey.objects.create(
        project=project,
        public_id=parsed.public_id,
        name=name,
        digest=api_key_digest(settings.API_KEY_PEPPER, parsed.secret),
    )
    return text


def authenticate_api_key(text: str) -> ApiKey | None:
    """The live key for `text`, or None. Malformed keys are refused before any database lookup."""
    parsed = parse_api_key(text.strip())
    if parsed is None:
        return None
    key = (
        ApiKey.objects.select_related("project")
        .filter(public_id=parsed.public_id, revoked_at__isnull=True)
        .first()
    )
    if key is None:
        return None
    expected = api_key_digest(settings.API_KEY_PEPPER, parsed.secret)
    if not _constant_time_equal(key.digest, expected):
        return None
    _touch(key)
    return key


def issue_access_token(api_key: ApiKey) -> IssuedToken:
    token = secrets.token_hex(16)  # Qencode's token shape: 32 hex characters
    expires_at = timezone.now() + timedelta(seconds=settings.ACCESS_TOKEN_SECONDS)
    AccessToken.objects.create(api_key=api_key, digest=_token_digest(token), expires_at=expires_at)
    return IssuedToken(token=token, expires_at=expires_at)


def project_for_access_token(token: str) -> Project | None:
    """The project a live session token acts for; revoked keys take their tokens with them."""
    found = (
        AccessToken.objects.select_related("api_key__project")
        .filter(
            digest=_token_digest(token),
            expires_at__gt=timezone.now(),
            api_key__revoked_at__isnull=True,
        )
        .first()
    )
    return found.api_key.project if found else None


def revoke_api_key(api_key: ApiKey) -> None:
    with transaction.atomic():
        ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())
        AccessToken.objects.filter(api_key=api_key).delete()


def create_user(
    email: str,
    password: str,
    *,
    organization: str | None = None,
    role: Role = Role.OWNER,
    staff: bool = False,
) -> object:
    users = get_user_model()
    with transaction.atomic():
        user = users.objects.create_user(
            username=email, email=email, password=password, is_staff=staff, is_superuser=staff
        )
        if organization:
            org, _ = Organization.objects.get_or_create(name=organization)
            Membership.objects.create(organization=org, user=user, role=role)
    return user


def _token_digest(token: str) -> str:
    # Session tokens are 128-bit random values: a plain SHA-256 is the right hash (ASVS 6.5.2).
    return hashlib.sha256(token.encode()).hexdigest()


def _constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _touch(key: ApiKey) -> None:
    # One write per key per minute at most: last-used is for humans, not an audit trail.
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
