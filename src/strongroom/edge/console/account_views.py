"""A person's own account: password, sessions (see and end them), second factor."""

from __future__ import annotations

import base64
import hashlib

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import SetPasswordForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from strongroom.edge.accounts import passkeys
from strongroom.edge.accounts.activity import mark_signed_in
from strongroom.edge.accounts.models import Passkey, UserSession
from strongroom.edge.accounts.permissions import Action
from strongroom.edge.accounts.second_factor import (
    confirm_totp,
    disable_second_factor,
    has_second_factor,
    new_recovery_codes,
    pending_totp,
    second_factor_required,
    start_totp_enrollment,
    totp_qr_data_uri,
)
from strongroom.edge.accounts.sessions import end_sessions
from strongroom.edge.audit.services import record_event
from strongroom.edge.console.access import console_view
from strongroom.edge.console.auth_views import CodeForm


@never_cache
@require_http_methods(["GET", "POST"])
@console_view(Action.ACCOUNT_CREDENTIALS)
def password_change(request: HttpRequest) -> HttpResponse:
    form = SetPasswordForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()  # every session of the user ends (accounts.signals)...
        update_session_auth_hash(request, user)  # ...and this browser gets a fresh one
        mark_signed_in(request)
        record_event(action="auth.password_changed", actor_type="user", actor=f"user:{user.pk}")
        messages.success(request, "Password changed. Every other session was signed out.")
        return HttpResponseRedirect(reverse("console:sessions"))
    return render(request, "console/auth/password_change.html", {"form": form})


def session_handle(session_key: str) -> str:
    """A public name for a session: the key itself is a bearer secret and never goes in a page."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:20]


@never_cache
@console_view(Action.ACCOUNT_SELF)
def sessions(request: HttpRequest) -> HttpResponse:
    current = request.session.session_key
    rows = [
        {
            "handle": session_handle(row.session_key),
            "current": row.session_key == current,
            "address": row.ip_address or "",
            "device": row.user_agent,
            "created_at": row.created_at,
            "last_seen": row.last_seen,
        }
        for row in UserSession.objects.filter(user=request.user).order_by("-last_seen")
    ]
    return render(request, "console/auth/sessions.html", {"sessions": rows})


@require_POST
@console_view(Action.ACCOUNT_SELF)
def session_end(request: HttpRequest, handle: str) -> HttpResponse:
    for row in UserSession.objects.filter(user=request.user).only("session_key"):
        if session_handle(row.session_key) == handle:
            row.delete()
            record_event(action="session.end", actor_type="user", actor=f"user:{request.user.pk}")
            return HttpResponseRedirect(reverse("console:sessions"))
    raise Http404


@require_POST
@console_view(Action.ACCOUNT_SELF)
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    ended = end_sessions(request.user.pk, keep=request.session.session_key)
    record_event(
        action="session.end_others",
        actor_type="user",
        actor=f"user:{request.user.pk}",
        details={"sessions": ended},
    )
    messages.success(request, f"Signed out {ended} other session(s).")
    return HttpResponseRedirect(reverse("console:sessions"))


@never_cache
@require_http_methods(["GET", "POST"])
@console_view(Action.ACCOUNT_CREDENTIALS)
def security(request: HttpRequest) -> HttpResponse:
    """Second factors: an authenticator app (QR code, then a code from it) and passkeys."""
    user = request.user
    totp_enrolled = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    form = CodeForm(request.POST or None)
    context: dict[str, object] = {
        "totp_enrolled": totp_enrolled,
        "enrolled": has_second_factor(user),
        "required": second_factor_required(user),
        "passkeys": Passkey.objects.filter(user=user, confirmed=True).order_by("created_at"),
        "form": form,
    }
    if not totp_enrolled:
        device = pending_totp(user) or start_totp_enrollment(user)
        if request.method == "POST" and form.is_valid():
            codes = confirm_totp(user, device, form.cleaned_data["code"])
            if codes is not None:
                otp_login(request, device)
                return render(request, "console/auth/recovery_codes.html", {"codes": codes})
            form.add_error("code", "That code is not valid. Check the time on your phone.")
        context["qr_data_uri"] = totp_qr_data_uri(device)
        # For typing into an app by hand: the same secret the QR code carries.
        context["secret"] = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(request, "console/auth/security.html", context)


@require_POST
@console_view(Action.ACCOUNT_CREDENTIALS)
def passkey_remove(request: HttpRequest, passkey_id: int) -> HttpResponse:
    if not passkeys.remove(request.user, passkey_id):
        raise Http404
    messages.success(request, "Passkey removed.")
    return HttpResponseRedirect(reverse("console:security"))


@require_POST
@console_view(Action.ACCOUNT_CREDENTIALS)
def recovery_codes_new(request: HttpRequest) -> HttpResponse:
    if not has_second_factor(request.user):
        return HttpResponseRedirect(reverse("console:security"))
    codes = new_recovery_codes(request.user)
    record_event(
        action="auth.recovery_codes_replaced", actor_type="user", actor=f"user:{request.user.pk}"
    )
    return render(request, "console/auth/recovery_codes.html", {"codes": codes})


@require_POST
@console_view(Action.ACCOUNT_CREDENTIALS)
def second_factor_disable(request: HttpRequest) -> HttpResponse:
    if second_factor_required(request.user):
        messages.error(request, "Your organization requires two-factor authentication.")
    else:
        disable_second_factor(request.user)
        messages.success(request, "Two-factor authentication is off.")
    return HttpResponseRedirect(reverse("console:security"))
