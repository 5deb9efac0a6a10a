"""The organization's audit events (owners and admins, after a fresh password check): sign-ins
are personal, but key, team, project and webhook changes are recorded with their organization.
Operators see every event in the admin and with `strongroom audit`."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from strongroom.edge.accounts.permissions import Action
from strongroom.edge.audit.models import AuditEvent
from strongroom.edge.console import scoping
from strongroom.edge.console.access import console_view

PAGE_SIZE = 50


@require_GET
@console_view(Action.AUDIT_READ)
def audit_log(request: HttpRequest) -> HttpResponse:
    # The organization comes from the session, never from the query string.
    events = AuditEvent.objects.filter(organization_id=scoping.organization(request).pk)
    action = request.GET.get("action", "")[:80]
    if action:
        events = events.filter(action__startswith=action)
    page = Paginator(events.order_by("-seq"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "console/audit.html", {"page": page, "action": action})
