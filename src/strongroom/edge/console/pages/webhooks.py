"""Webhooks: each project's signing secret (shown, rotated), a test delivery, failed deliveries."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from strongroom.edge.accounts.permissions import Action
from strongroom.edge.accounts.projects import rotate_webhook_secret
from strongroom.edge.console import scoping
from strongroom.edge.console.access import console_view
from strongroom.edge.console.forms import WebhookTestForm
from strongroom.edge.jobs.services.webhook_test import failed_deliveries, send_test_delivery


@require_GET
@console_view(Action.WEBHOOK_MANAGE)
def webhook_list(request: HttpRequest) -> HttpResponse:
    rows = [(p, failed_deliveries(p, limit=10)) for p in scoping.projects(request)]
    response = render(request, "console/webhooks.html", {"rows": rows, "form": WebhookTestForm()})
    response["Cache-Control"] = "no-store"  # the signing secrets are on the page
    return response


@require_POST
@console_view(Action.WEBHOOK_MANAGE)
def webhook_rotate(request: HttpRequest, project_id: int) -> HttpResponse:
    project = scoping.project(request, project_id)
    rotate_webhook_secret(project, actor=scoping.actor(request))
    messages.success(request, f"New signing secret for {project.name}; update your receiver.")
    return HttpResponseRedirect(reverse("console:webhooks"))


@require_POST
@console_view(Action.WEBHOOK_MANAGE)
def webhook_test(request: HttpRequest, project_id: int) -> HttpResponse:
    project = scoping.project(request, project_id)
    form = WebhookTestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a full http(s) URL for the receiver.")
    else:
        delivery = send_test_delivery(project, form.cleaned_data["url"])
        if delivery.delivered:
            messages.success(request, f"Test delivered: {delivery.detail}.")
        else:
            messages.error(request, delivery.detail)
    return HttpResponseRedirect(reverse("console:webhooks"))
