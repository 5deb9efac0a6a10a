"""JSON endpoints behind static/console/passkeys.js: register a passkey, sign in with one (after
the password, or alone), and re-authenticate with one. Each challenge is single-use and kept in
the server-side session; CSRF applies as on every console POST (the script sends the token)."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from strongroom.edge.accounts import passkeys
from strongroom.edge.accounts.activity import mark_reauthenticated
from strongroom.edge.accounts.permissions import Action
from strongroom.edge.accounts.second_factor import new_recovery_codes
from strongroom.edge.console.access import console_view
from strongroom.edge.console.auth_views import complete_sign_in, next_url, pending_user

REGISTER_CHALLENGE = "_sr_webauthn_register"
SIGN_IN_CHALLENGE = "_sr_webauthn_sign_in"
REAUTH_CHALLENGE = "_sr_webauthn_reauth"


@require_POST
@console_view(Action.ACCOUNT_CREDENTIALS)
def register_options(request: HttpRequest) -> HttpResponse:
    options, challenge = passkeys.registration_options(request.user, _rp(request))
    _keep(request, REGISTER_CHALLENGE, challenge)
    return _options(options)


@require_POST
@console_view(Action.ACCOUNT_CREDENTIALS)
def register(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    challenge = _take(request, REGISTER_CHALLENGE)
    if body is None or challenge is None:
        return _refused("Start again: the request expired or was malformed.")
    had_codes = request.user.staticdevice_set.exists()  # type: ignore[union-attr]
    try:
        passkey = passkeys.register(
            request.user, _rp(request), challenge, body["credential"], str(body.get("name", ""))
        )
    except passkeys.PasskeyRefused as exc:
        return _refused(str(exc))
    otp_login(request, passkey)
    codes = [] if had_codes else new_recovery_codes(request.user)
    return JsonResponse({"ok": True, "recovery_codes": codes})


@require_POST
def sign_in_options(request: HttpRequest) -> HttpResponse:
    """After the password: that user's passkeys. On the sign-in page: any discoverable passkey."""
    options, challenge = passkeys.authentication_options(_rp(request), pending_user(request))
    _keep(request, SIGN_IN_CHALLENGE, challenge)
    return _options(options)


@require_POST
def sign_in(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    challenge = _take(request, SIGN_IN_CHALLENGE)
    if body is None or challenge is None:
        return _refused("Start again: the request expired or was malformed.")
    try:
        passkey = passkeys.authenticate(
            _rp(request), challenge, body["credential"], user=pending_user(request)
        )
    except passkeys.PasskeyRefused as exc:
        return _refused(str(exc))
    complete_sign_in(request, passkey.user, device=passkey)
    return JsonResponse({"ok": True, "redirect": next_url(request)})


@require_POST
@console_view(Action.ACCOUNT_SELF)
def reauth_options(request: HttpRequest) -> HttpResponse:
    options, challenge = passkeys.authentication_options(_rp(request), request.user)
    _keep(request, REAUTH_CHALLENGE, challenge)
    return _options(options)


@require_POST
@console_view(Action.ACCOUNT_SELF)
def reauth(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    challenge = _take(request, REAUTH_CHALLENGE)
    if body is None or challenge is None:
        return _refused("Start again: the request expired or was malformed.")
    try:
        passkeys.authenticate(_rp(request), challenge, body["credential"], user=request.user)
    except passkeys.PasskeyRefused as exc:
        return _refused(str(exc))
    mark_reauthenticated(request)
    return JsonResponse({"ok": True, "redirect": next_url(request)})


def _rp(request: HttpRequest) -> passkeys.RelyingParty:
    return passkeys.relying_party(request.get_host(), settings.PUBLIC_URL)


def _options(options_json: str) -> HttpResponse:
    return HttpResponse(options_json, content_type="application/json")


def _keep(request: HttpRequest, key: str, challenge: bytes) -> None:
    request.session[key] = base64.b64encode(challenge).decode("ascii")


def _take(request: HttpRequest, key: str) -> bytes | None:
    value = request.session.pop(key, None)  # single use, even when verification fails
    return base64.b64decode(value) if isinstance(value, str) else None


def _body(request: HttpRequest) -> dict[str, Any] | None:
    if request.content_type != "application/json":
        return None
    try:
        body = json.loads(request.body)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("credential"), str):
        return None
    return body


def _refused(message: str) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message}, status=400)
