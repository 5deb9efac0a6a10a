"""Home: recent tasks with live progress (an htmx poll of a partial), and switching organization."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from strongroom.edge.accounts.permissions import Action, Credential, allows
from strongroom.edge.console import scoping
from strongroom.edge.console.access import console_view, current_membership, switch_organization
from strongroom.edge.jobs.states import TERMINAL

RECENT_TASKS = 25


@require_GET
@console_view(Action.ACCOUNT_SELF)
def dashboard(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    may_read = membership is not None and allows(
        Action.TASK_READ, Credential.SESSION, role=membership.role
    )
    context = {"may_read_tasks": may_read, **(_recent(request) if may_read else {})}
    return render(request, "console/dashboard.html", context)


@require_GET
@console_view(Action.TASK_READ)
def live_tasks(request: HttpRequest) -> HttpResponse:
    return render(request, "console/partials/task_rows.html", _recent(request))


@require_POST
@console_view(Action.ACCOUNT_SELF)
def switch_org(request: HttpRequest) -> HttpResponse:
    chosen = request.POST.get("organization", "")
    if not chosen.isdigit() or not switch_organization(request, int(chosen)):
        messages.error(request, "You are not a member of that organization.")
    return HttpResponseRedirect(reverse("console:dashboard"))


def _recent(request: HttpRequest) -> dict[str, object]:
    tasks = list(scoping.tasks(request).order_by("-created_at", "-pk")[:RECENT_TASKS])
    return {"tasks": tasks, "live": any(t.status not in TERMINAL for t in tasks)}
