"""Signed, expiring capabilities: grant URLs for workers and media URLs for clients."""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings

from strongroom.crypto.tokens import TokenError, issue_token, read_token
from strongroom.edge.accounts.permissions import Action, Credential, allows


class GrantPurpose(StrEnum):
    SOURCE = "source"
    OUTPUT = "output"
    HEARTBEAT = "heartbeat"
    COMPLETE = "complete"
    FAIL = "fail"


# What each grant URL lets a worker do, in the permission table's terms: the table, not this
# module, decides whether a worker grant may do it.
GRANT_ACTIONS = {
    GrantPurpose.SOURCE: Action.JOB_SOURCE_READ,
    GrantPurpose.OUTPUT: Action.JOB_OUTPUT_WRITE,
    GrantPurpose.HEARTBEAT: Action.JOB_PROGRESS,
    GrantPurpose.COMPLETE: Action.JOB_PROGRESS,
    GrantPurpose.FAIL: Action.JOB_PROGRESS,
}


class GrantRefused(Exception):
    """The capability is invalid, expired, or for another lease or purpose."""


def grant_token(lease_id: str, purpose: GrantPurpose) -> str:
    return issue_token(
        settings.URL_TOKEN_KEY,
        {"k": "grant", "l": lease_id, "p": purpose.value},
        ttl=settings.GRANT_URL_SECONDS,
    )


def check_grant(token: str, lease_id: str, purpose: GrantPurpose) -> None:
    action = GRANT_ACTIONS.get(purpose)
    if action is None or not allows(action, Credential.WORKER_GRANT):
        raise GrantRefused("worker grants may not do that")
    claims = _read(token)
    if (
        claims.get("k") != "grant"
        or claims.get("l") != lease_id
        or claims.get("p") != purpose.value
    ):
        raise GrantRefused("grant is for another lease or purpose")


def media_token(prefix: str) -> str:
    """A token that lets its holder read every object under `prefix` until it expires."""
    return issue_token(
        settings.URL_TOKEN_KEY, {"k": "media", "p": prefix}, ttl=settings.MEDIA_URL_SECONDS
    )


def media_prefix(token: str) -> str:
    claims = _read(token)
    prefix = claims.get("p")
    if claims.get("k") != "media" or not isinstance(prefix, str):
        raise GrantRefused("not a media token")
    return prefix


def _read(token: str) -> dict[str, str | int]:
    try:
        return read_token(settings.URL_TOKEN_KEY, token)
    except TokenError as exc:
        raise GrantRefused(exc.code) from None
