"""API keys: list, create (scopes, expiry; the key is shown once), regenerate with grace, revoke."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from strongroom.edge.accounts import apikeys
from strongroom.edge.accounts.models import ApiKey
from strongroom.edge.accounts.permissions import Action
from strongroom.edge.console import scoping
from strongroom.edge.console.access import console_view
from strongroom.edge.console.forms import ApiKeyForm, RegenerateKeyForm


@require_GET
@console_view(Action.APIKEY_READ)
def key_list(request: HttpRequest) -> HttpResponse:
    return _page(request, ApiKeyForm(projects=scoping.projects(request)))


@require_POST
@console_view(Action.APIKEY_MANAGE)
def key_create(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST, projects=scoping.projects(request))
    if not form.is_valid():
        return _page(request, form, status=400)
    data = form.cleaned_data
    days = data.get("expires_in_days")
    text = apikeys.create_api_key(
        data["project"],
        name=data["name"],
        scopes=data["scopes"],
        expires_at=timezone.now() + timedelta(days=days) if days else None,
        created_by=request.user,
        actor=scoping.actor(request),
    )
    return _shown_once(request, text, data["name"])


@require_POST
@console_view(Action.APIKEY_MANAGE)
def key_regenerate(request: HttpRequest, key_id: int) -> HttpResponse:
    key = scoping.api_key(request, key_id)
    form = RegenerateKeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The grace period must be 0 to 168 hours.")
        return HttpResponseRedirect(reverse("console:keys"))
    try:
        text = apikeys.regenerate_api_key(
            key, grace_seconds=form.cleaned_data["grace_hours"] * 3600, actor=scoping.actor(request)
        )
    except apikeys.ApiKeyNotActive:
        messages.error(request, "Only an active key can be regenerated.")
        return HttpResponseRedirect(reverse("console:keys"))
    return _shown_once(request, text, key.name)


@require_POST
@console_view(Action.APIKEY_MANAGE)
def key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    key = scoping.api_key(request, key_id)
    if apikeys.revoke_api_key(key, actor=scoping.actor(request)):
        messages.success(request, "The key was revoked; its access tokens stopped with it.")
    return HttpResponseRedirect(reverse("console:keys"))


def _page(request: HttpRequest, form: ApiKeyForm, status: int = 200) -> HttpResponse:
    keys = ApiKey.objects.filter(project__organization=scoping.organization(request))
    rows = [
        (key, apikeys.key_state(key))
        for key in keys.select_related("project", "created_by").order_by("project__name", "-pk")
    ]
    context = {"rows": rows, "form": form, "regenerate": RegenerateKeyForm()}
    return render(request, "console/keys.html", context, status=status)


def _shown_once(request: HttpRequest, text: str, name: str) -> HttpResponse:
    # Rendered, not redirected: the secret never goes into a session or a URL.
    response = render(request, "console/key_created.html", {"key_text": text, "name": name})
    response["Cache-Control"] = "no-store"
    return response
