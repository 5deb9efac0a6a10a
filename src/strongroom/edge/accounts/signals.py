"""Account events that must take effect at once, and the audit trail of sign-ins.

- Deactivating a user deletes every session row of theirs (Django only hides them: the rows
  stay until expiry, ASVS 7.4.2). Their API keys stop too: key checks read the creator's
  `is_active` on every request (accounts/apikeys.py).
- A password change by anyone (the user, a reset, an operator) deletes every session; the
  console's own change view then signs the current browser in again (ASVS 7.4.3).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from strongroom.edge.accounts.sessions import end_sessions
from strongroom.edge.audit.services import record_event

MAX_ACTOR = 150  # a username field may hold anything a client typed; never store it whole


@receiver(pre_save, sender=get_user_model())
def end_sessions_on_credential_change(sender: Any, instance: Any, **_: Any) -> None:  # noqa: ARG001
    if instance.pk is None:
        return
    before = type(instance).objects.filter(pk=instance.pk).values("is_active", "password").first()
    if before is None:
        return
    deactivated = before["is_active"] and not instance.is_active
    new_password = before["password"] != instance.password
    if deactivated or new_password:
        # In the same transaction as the change: both happen or neither does.
        _end_all(instance.pk, "deactivated" if deactivated else "password changed")


def _end_all(user_id: int, reason: str) -> None:
    ended = end_sessions(user_id)
    record_event(
        action="session.end_all",
        actor_type="system",
        actor="accounts",
        target=f"user:{user_id}",
        details={"reason": reason, "sessions": ended},
    )


@receiver(user_logged_in)
def audit_sign_in(sender: Any, request: HttpRequest | None, user: Any, **_: Any) -> None:  # noqa: ARG001
    record_event(
        action="auth.sign_in",
        actor_type="user",
        actor=f"user:{user.pk}",
        details={"address": _address(request)},
    )


@receiver(user_logged_out)
def audit_sign_out(sender: Any, request: HttpRequest | None, user: Any, **_: Any) -> None:  # noqa: ARG001
    if user is not None:
        record_event(action="auth.sign_out", actor_type="user", actor=f"user:{user.pk}")


@receiver(user_login_failed)
def audit_sign_in_failure(
    sender: Any,  # noqa: ARG001
    credentials: dict[str, Any],
    request: HttpRequest | None = None,
    **_: Any,
) -> None:
    # `credentials` has the password already masked by Django; keep only the username.
    username = str(credentials.get("username", ""))[:MAX_ACTOR]
    record_event(
        action="auth.sign_in_failed",
        actor_type="anonymous",
        actor=username,
        details={"address": _address(request)},
    )


def _address(request: HttpRequest | None) -> str:
    return str(request.META.get("REMOTE_ADDR", "")) if request is not None else ""
