"""The security front door: RFC 9116 security.txt, the disclosure policy, and a report form.

The form needs no account and no script; it sets no cookie, so there is no session for a
cross-site request to ride on. Submissions are rate-limited (the edge's strict class).
"""

from __future__ import annotations

from datetime import timedelta
from importlib.resources import files

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from strongroom.edge.audit.services import file_vulnerability_report
from strongroom.edge.public_url import base_url

EXPIRES_AFTER = timedelta(days=180)  # RFC 9116 asks for less than a year ahead
PAGE_CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
LIMITS = {"summary": (5, 200), "details": (20, 20000), "contact": (0, 320)}


@require_GET
def security_txt(request: HttpRequest) -> HttpResponse:
    base = base_url(request)
    expires = (timezone.now() + EXPIRES_AFTER).replace(microsecond=0).isoformat()
    lines = [f"Contact: {base}/security/report"]
    lines += [f"Contact: {contact}" for contact in settings.SECURITY_CONTACTS]
    lines += [
        f"Expires: {expires.replace('+00:00', 'Z')}",
        f"Policy: {base}/security/policy",
        f"Canonical: {base}/.well-known/security.txt",
        "Preferred-Languages: en",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@require_GET
def policy(request: HttpRequest) -> HttpResponse:  # noqa: ARG001
    text = files("strongroom.edge.console").joinpath("security_policy.txt").read_text("utf-8")
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


@csrf_exempt  # anonymous and cookieless: there is no ambient credential to forge a request with
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = dict.fromkeys(LIMITS, "")
    status = 200
    if request.method == "POST":
        fields = {name: request.POST.get(name, "").strip() for name in LIMITS}
        problems = _problems(fields)
        if problems:
            context, status = {**fields, "problems": problems}, 400
        else:
            context["reference"] = file_vulnerability_report(**fields)
    response = render(request, "console/security_report.html", context, status=status)
    response["Content-Security-Policy"] = PAGE_CSP
    response["Cache-Control"] = "no-store"
    return response


def _problems(fields: dict[str, str]) -> list[str]:
    return [
        f"{name.capitalize()} must be {low} to {high} characters."
        for name, (low, high) in LIMITS.items()
        if not low <= len(fields[name]) <= high
    ]
