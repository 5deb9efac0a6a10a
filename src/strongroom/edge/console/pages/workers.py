"""Worker join tokens and the worker list.

Workers are shared by the whole installation: a worker leases every organization's jobs and reads
their sources. So beyond the permission table's WORKER_ENROLL (owners and admins), this page is
for operators (staff) only: an organization admin of a shared installation must not be able to
enroll a machine that would then receive other tenants' media.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from strongroom.edge.accounts.permissions import Action
from strongroom.edge.console.access import console_view
from strongroom.edge.console.forms import JoinTokenForm
from strongroom.edge.jobs.services.workers import create_join_token, list_workers


@require_http_methods(["GET", "POST"])
@console_view(Action.WORKER_ENROLL)
def worker_tokens(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied
    form = JoinTokenForm(request.POST or None)
    token = ""
    if request.method == "POST" and form.is_valid():
        token = create_join_token(form.cleaned_data["labels"])
        form = JoinTokenForm()
    context = {"form": form, "token": token, "workers": list_workers()}
    response = render(request, "console/workers.html", context, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"  # a fresh join token is shown once
    return response
