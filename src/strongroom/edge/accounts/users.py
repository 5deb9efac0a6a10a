"""Operator actions on people: deactivate, reactivate, end every session, reset the second factor.

Each is audited. Deactivation ends sessions through the pre-save receiver in accounts/signals.py
and stops the person's API keys (key checks read the creator's `is_active` each time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from strongroom.edge.accounts.models import UserSession
from strongroom.edge.accounts.second_factor import disable_second_factor, has_second_factor
from strongroom.edge.accounts.sessions import end_sessions
from strongroom.edge.audit.services import record_event


class UnknownUser(Exception):
    """No user with that email."""


@dataclass(frozen=True)
class UserSummary:
    email: str
    active: bool
    staff: bool
    second_factor: bool
    sessions: int
    last_login: datetime | None


def find_user(email: str) -> Any:
    user = get_user_model().objects.filter(username=email).first()
    if user is None:
        raise UnknownUser(email)
    return user


def list_users() -> list[UserSummary]:
    return [
        UserSummary(
            email=user.username,
            active=user.is_active,
            staff=user.is_staff,
            second_factor=has_second_factor(user),
            sessions=UserSession.objects.filter(user=user).count(),
            last_login=user.last_login,
        )
        for user in get_user_model().objects.order_by("username")
    ]


def set_active(email: str, active: bool, *, actor: str) -> None:
    user = find_user(email)
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        record_event(
            action="user.activate" if active else "user.deactivate",
            actor_type="operator",
            actor=actor,
            target=f"user:{user.pk}",
        )


def end_all_sessions(email: str, *, actor: str) -> int:
    user = find_user(email)
    ended = end_sessions(user.pk)
    record_event(
        action="session.end_all",
        actor_type="operator",
        actor=actor,
        target=f"user:{user.pk}",
        details={"sessions": ended},
    )
    return ended


def reset_second_factor(email: str, *, actor: str) -> None:
    """For a person who lost their phone and their recovery codes; also signs them out."""
    user = find_user(email)
    disable_second_factor(user)
    end_all_sessions(email, actor=actor)
