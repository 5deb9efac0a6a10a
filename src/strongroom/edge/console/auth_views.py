"""Signing in and out: password (django-axes counts failures), then a second factor if enrolled,
and the password check that opens "sudo mode" for sensitive actions."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from strongroom.edge.accounts.activity import mark_reauthenticated, mark_signed_in
from strongroom.edge.accounts.permissions import Action
from strongroom.edge.accounts.second_factor import has_second_factor, verify_second_factor
from strongroom.edge.accounts.sessions import CLIENT_AGENT, CLIENT_IP
from strongroom.edge.console.access import console_view

PENDING_USER = "_sr_pending_user"
PENDING_AT = "_sr_pending_at"
PENDING_FAILURES = "_sr_pending_failures"
PENDING_SECONDS = 300  # time allowed between the password and the second factor
MAX_CODE_FAILURES = 5  # then the password must be entered again (and axes counts it)
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class SignInForm(forms.Form):
    username = forms.CharField(max_length=150, label="Email")
    password = forms.CharField(max_length=1024, widget=forms.PasswordInput)


class CodeForm(forms.Form):
    code = forms.CharField(max_length=32, label="Code from your app, or a recovery code")


class PasswordForm(forms.Form):
    password = forms.CharField(max_length=1024, widget=forms.PasswordInput)


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, **form.cleaned_data)
        if user is not None:
            return _after_password(request, user)
        form.add_error(None, "Wrong email or password.")
    return render(request, "console/auth/login.html", {"form": form, "next": next_url(request)})


def _after_password(request: HttpRequest, user: Any) -> HttpResponse:
    if has_second_factor(user):
        request.session.cycle_key()
        request.session[PENDING_USER] = user.pk
        request.session[PENDING_AT] = time.time()
        request.session[PENDING_FAILURES] = 0
        return _redirect_keeping_next(request, "console:login_verify")
    complete_sign_in(request, user, device=None)
    return HttpResponseRedirect(next_url(request))


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_verify(request: HttpRequest) -> HttpResponse:
    user = pending_user(request)
    if user is None:
        return _redirect_keeping_next(request, "console:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = verify_second_factor(user, form.cleaned_data["code"])
        if device is not None:
            complete_sign_in(request, user, device=device)
            return HttpResponseRedirect(next_url(request))
        request.session[PENDING_FAILURES] = request.session.get(PENDING_FAILURES, 0) + 1
        if request.session[PENDING_FAILURES] >= MAX_CODE_FAILURES:
            request.session.flush()
            return _redirect_keeping_next(request, "console:login")
        form.add_error("code", "That code is not valid.")
    return render(request, "console/auth/verify.html", {"form": form, "next": next_url(request)})


def pending_user(request: HttpRequest) -> Any | None:
    user_id, started = request.session.get(PENDING_USER), request.session.get(PENDING_AT)
    if user_id is None or not isinstance(started, float):
        return None
    if time.time() - started > PENDING_SECONDS:
        request.session.flush()
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


def complete_sign_in(request: HttpRequest, user: Any, *, device: Any | None) -> None:
    for key in (PENDING_USER, PENDING_AT, PENDING_FAILURES):
        request.session.pop(key, None)
    # Recorded before login() so the session row is created with them (accounts.sessions).
    request.session[CLIENT_IP] = request.META.get("REMOTE_ADDR") or None
    request.session[CLIENT_AGENT] = request.headers.get("User-Agent", "")[:300]
    login(request, user, backend=MODEL_BACKEND)  # a new session key at sign-in (ASVS 7.2.4)
    if device is not None:
        otp_login(request, device)
    mark_signed_in(request)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect(reverse("console:login"))


@never_cache
@require_http_methods(["GET", "POST"])
@console_view(Action.ACCOUNT_SELF)
def reauthenticate(request: HttpRequest) -> HttpResponse:
    """Confirm the password again; opens sensitive actions for ten minutes."""
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = request.user.get_username()
        # authenticate() so django-axes counts failures here too.
        if authenticate(request, username=username, password=form.cleaned_data["password"]):
            mark_reauthenticated(request)
            return HttpResponseRedirect(next_url(request))
        form.add_error("password", "Wrong password.")
    return render(request, "console/auth/reauth.html", {"form": form, "next": next_url(request)})


def next_url(request: HttpRequest) -> str:
    """Where to go after signing in: only a path on this site, else the dashboard."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if safe and target.startswith("/") and not target.startswith("//"):
        return target
    return reverse("console:dashboard")


def _redirect_keeping_next(request: HttpRequest, name: str) -> HttpResponse:
    return HttpResponseRedirect(f"{reverse(name)}?{urlencode({'next': next_url(request)})}")
