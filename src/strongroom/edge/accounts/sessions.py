"""Database sessions that carry their user, device and address (ASVS 7.4.2, 7.4.5, 7.5.2).

Django's documented extension point (a model on `AbstractBaseSession` plus a store that names
it). The store fills in `user`, `ip_address` and `user_agent` from keys the sign-in view puts in
the session, so listing and ending a user's sessions is one indexed query.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DbStore
from django.utils import timezone

from strongroom.edge.accounts.models import UserSession

# Session keys written by the console's middleware; read here when the row is saved.
CLIENT_IP = "_sr_client_ip"
CLIENT_AGENT = "_sr_client_agent"
USER_ID = "_auth_user_id"
SIGNED_IN_AT = "_sr_signed_in_at"  # written by accounts.activity.mark_signed_in


class SessionStore(DbStore):
    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        instance: UserSession = super().create_model_instance(data)
        user_id = data.get(USER_ID)
        instance.user_id = int(user_id) if user_id is not None else None
        instance.ip_address = data.get(CLIENT_IP) or None
        instance.user_agent = str(data.get(CLIENT_AGENT, ""))[:300]
        now = timezone.now()
        signed_in = data.get(SIGNED_IN_AT)
        instance.created_at = (
            datetime.fromtimestamp(signed_in, tz=UTC) if isinstance(signed_in, float) else now
        )
        instance.last_seen = now
        return instance


def end_sessions(user_id: int, *, keep: str | None = None) -> int:
    """Delete every session of `user_id` except the one keyed `keep`; returns how many ended."""
    sessions = UserSession.objects.filter(user_id=user_id)
    if keep:
        sessions = sessions.exclude(session_key=keep)
    deleted, _ = sessions.delete()
    return deleted
