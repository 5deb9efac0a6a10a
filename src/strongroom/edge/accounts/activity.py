"""Idle and absolute session timeouts, and "last seen" for the sessions page (ASVS 7.3.1, 7.3.2).

Django's session expiry is only absolute (SESSION_COOKIE_AGE). This middleware also ends a session
that has been idle too long, and writes last-seen at most once a minute so an active console is
not a database write per click.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from strongroom.edge.accounts.models import UserSession
from strongroom.edge.accounts.sessions import SIGNED_IN_AT

SEEN_AT = "_sr_seen_at"
REAUTH_AT = "_sr_reauth_at"
SEEN_WRITE_INTERVAL = 60


def mark_signed_in(request: HttpRequest) -> None:
    """Call right after `login()`: starts both clocks and counts as a fresh authentication."""
    now = time.time()
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now
    request.session[REAUTH_AT] = now


def mark_reauthenticated(request: HttpRequest) -> None:
    request.session[REAUTH_AT] = time.time()


def recently_authenticated(request: HttpRequest) -> bool:
    at = request.session.get(REAUTH_AT)
    return isinstance(at, float) and time.time() - at < settings.SESSION_REAUTH_SECONDS


def session_expired(session: SessionBase, now: float) -> bool:
    signed_in, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if not isinstance(signed_in, float) or not isinstance(seen, float):
        return True  # a signed-in session without our clocks was not made by our sign-in
    return (
        now - signed_in > settings.SESSION_COOKIE_AGE or now - seen > settings.SESSION_IDLE_SECONDS
    )


class SessionActivityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            if session_expired(request.session, now):
                logout(request)  # flushes the row: the session is gone, not just hidden
            elif now - float(request.session[SEEN_AT]) > SEEN_WRITE_INTERVAL:
                request.session[SEEN_AT] = now
                UserSession.objects.filter(session_key=request.session.session_key).update(
                    last_seen=timezone.now()
                )
        return self.get_response(request)
