"""Session middleware whose cookie value is sealed (AES-256-GCM, rotatable key), not a bare id.

Django's database session engine stores an opaque random key in the cookie; this keeps that engine
(so sessions stay revocable on the server) and seals the key on the way out and opens it on the
way in. A cookie that doesn't open is treated as no cookie. Keys come from the master key by
generation (`STRONGROOM_SESSION_KEY_GENERATION`): bump it to rotate; the previous generation still
opens cookies, so nobody is signed out by a rotation.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse

from strongroom.crypto.sealing import Sealer

PURPOSE = b"strongroom console session cookie v1"


@cache
def _sealer(keys: tuple[bytes, ...]) -> Sealer:
    return Sealer(keys)


def sealer() -> Sealer:
    return _sealer(tuple(settings.SESSION_SEAL_KEYS))


class SealedSessionMiddleware(SessionMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        sealed = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        opened = sealer().open(sealed, purpose=PURPOSE) if sealed else None
        session_key = opened.decode("ascii", "replace") if opened else None
        request.session = self.SessionStore(session_key)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response = super().process_response(request, response)
        cookie = response.cookies.get(settings.SESSION_COOKIE_NAME)
        if cookie is not None and cookie.value:
            # Same attributes Django set (Secure, HttpOnly, SameSite, path, expiry); only the
            # value changes from the session key to its sealed form.
            sealed = sealer().seal(cookie.value.encode("ascii"), purpose=PURPOSE)
            cookie.set(cookie.key, sealed, sealed)  # base64url: nothing to quote
        return response
