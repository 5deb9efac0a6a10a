"""Django's admin for operators, behind layered checks and with every request audited.

Entry needs, on every request: an active staff user, a verified second factor (TOTP or passkey,
as django-otp's OTPAdminSite asks), and a password or passkey check within the last 10 minutes.
Sign-in happens in the console (lockout, 2FA, passkeys); the admin has no login form of its own.
Model permissions are Django's; the "support (read-only)" group gets every view permission and
nothing else (edge/admin_apps.py). Each admin request, allowed or refused, becomes one
hash-chained audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.urls import reverse

from strongroom.edge.accounts.activity import recently_authenticated
from strongroom.edge.audit.services import record_event


class StrongroomAdminSite(AdminSite):
    site_header = "Strongroom operations"
    site_title = "Strongroom operations"
    index_title = "Operations"
    enable_nav_sidebar = False

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and getattr(user, "is_verified", lambda: False)()
            and recently_authenticated(request)
        )

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:  # noqa: ARG002
        return _console_step(request, request.GET.get("next") or reverse("admin:index"))

    def admin_view(self, view: Callable[..., HttpResponse], cacheable: bool = False) -> Any:
        guarded = super().admin_view(view, cacheable)

        def audited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if self.has_permission(request):
                response = guarded(request, *args, **kwargs)
            else:
                response = _console_step(request, request.get_full_path())
            _audit(request, response)
            return response

        return audited


def _console_step(request: HttpRequest, target: str) -> HttpResponse:
    """Send people to the console step they lack: sign-in, second factor or re-auth."""
    user = request.user
    if user.is_authenticated and not (user.is_active and user.is_staff):
        return HttpResponseForbidden("Operators only.")  # no sign-in step would help
    if not user.is_authenticated:
        step = "console:login"
    elif not getattr(user, "is_verified", lambda: False)():
        step = "console:security"
    else:
        step = "console:reauth"
    return HttpResponseRedirect(f"{reverse(step)}?{urlencode({'next': target})}")


def _audit(request: HttpRequest, response: HttpResponse) -> None:
    user = request.user
    allowed = response.status_code < 400 and not (
        response.status_code == 302 and "/console/" in response.get("Location", "")
    )
    record_event(
        action="admin.request" if allowed else "admin.refused",
        actor_type="user" if user.is_authenticated else "anonymous",
        actor=f"user:{user.pk}"
        if user.is_authenticated
        else str(request.META.get("REMOTE_ADDR", "")),
        target=request.path[:200],  # never the query string
        details={"method": request.method, "status": response.status_code},
    )
