"""The organization's request log: filters as people type them, newest first, page by page."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from strongroom.edge.accounts.permissions import Action
from strongroom.edge.audit.request_search import (
    InvalidFilter,
    filters_from_strings,
    search_requests,
)
from strongroom.edge.console import scoping
from strongroom.edge.console.access import console_view

FIELDS = ("since", "until", "status", "route", "actor", "address", "request_id", "text")


@require_GET
@console_view(Action.AUDIT_READ)
def request_log(request: HttpRequest) -> HttpResponse:
    typed = {name: request.GET.get(name, "")[:200] for name in FIELDS}
    context: dict[str, object] = {"typed": typed, "records": [], "next_query": ""}
    try:
        filters = filters_from_strings({**typed, "before": request.GET.get("before", "")})
    except InvalidFilter as exc:
        context["problem"] = str(exc)
        return render(request, "console/logs.html", context, status=400)
    # The organization comes from the session, never from the query: no peeking at another's.
    page = search_requests(replace(filters, organization_id=scoping.organization(request).pk))
    context["records"] = page.records
    if page.next_cursor:
        context["next_query"] = urlencode({**typed, "before": page.next_cursor})
    return render(request, "console/logs.html", context)
