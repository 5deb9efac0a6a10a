"""Who may open a console page: every view goes through `console_view(action)`.

Order of checks, each on every request (no cached decision, ASVS 8.3.2):
1. signed in, else to the sign-in page;
2. second factor verified where one is required (staff always; members of an organization that
   requires it; anyone who enrolled one), else to 2FA set-up or verification;
3. a membership in the current organization, and the permission table allows the role, else 403;
4. actions marked `recent_auth` need a password check in the last 10 minutes, else to re-auth.

Session keys used here: `_sr_org` (current organization id; see `switch_organization`), plus the
clocks in `strongroom.edge.accounts.activity` (`_sr_signed_in_at`, `_sr_seen_at`, `_sr_reauth_at`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from strongroom.edge.accounts.activity import recently_authenticated
from strongroom.edge.accounts.models import Membership, Organization
from strongroom.edge.accounts.permissions import (
    PERSONAL,
    Action,
    Credential,
    allows,
    needs_recent_auth,
)
from strongroom.edge.accounts.second_factor import has_second_factor, second_factor_required

CURRENT_ORG = "_sr_org"
View = Callable[..., HttpResponse]


def console_view(action: Action) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refusal = _refusal(request, action)
            if refusal is not None:
                return refusal
            return view(request, *args, **kwargs)

        guarded.console_action = action  # type: ignore[attr-defined]  # read by the route-coverage test
        return guarded

    return decorate


def _refusal(request: HttpRequest, action: Action) -> HttpResponse | None:
    user = request.user
    if not user.is_authenticated:
        return _redirect("console:login", request)
    if not user.is_verified():  # type: ignore[union-attr]  # set by django_otp's middleware
        if has_second_factor(user):
            return _redirect("console:login_verify", request)
        if second_factor_required(user):
            return _redirect("console:security", request)
    membership = current_membership(request)
    if action not in PERSONAL and (
        membership is None or not allows(action, Credential.SESSION, role=membership.role)
    ):
        raise PermissionDenied
    if needs_recent_auth(action) and not recently_authenticated(request):
        return _redirect("console:reauth", request)
    return None


def current_membership(request: HttpRequest) -> Membership | None:
    """The signed-in user's membership in the organization they work in (cached per request)."""
    cached = getattr(request, "membership", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    memberships = Membership.objects.select_related("organization").filter(user=request.user)
    chosen = request.session.get(CURRENT_ORG)
    membership = memberships.filter(organization_id=chosen).first() if chosen else None
    membership = membership or memberships.order_by("organization__name").first()
    request.membership = membership  # type: ignore[attr-defined]
    return membership


def current_organization(request: HttpRequest) -> Organization:
    membership = current_membership(request)
    if membership is None:
        raise PermissionDenied
    return membership.organization


def switch_organization(request: HttpRequest, organization_id: int) -> bool:
    """Work in another organization; only one the user belongs to."""
    if not Membership.objects.filter(user=request.user, organization_id=organization_id).exists():
        return False
    request.session[CURRENT_ORG] = organization_id
    request.membership = None  # type: ignore[attr-defined]
    return True


def _redirect(name: str, request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")
