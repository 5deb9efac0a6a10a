"""What the browser is told: CSP with a per-response nonce, no inline script or style anywhere,
clickjacking headers, the sandboxed preview, and user data rendered inert (stored XSS)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.urls import reverse

from strongroom.edge.accounts.models import Organization, Project, Role
from strongroom.edge.jobs.models import Task
from strongroom.edge.jobs.services.callbacks import DELIVERY_ERROR
from tests.integration.console.conftest import (
    ConsoleClient,
    Tenant,
    api_key_of,
    completed_task,
    sign_in,
    started_task,
)

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
PAYLOADS = (SCRIPT, ATTRIBUTE)


class Page(HTMLParser):
    """The tags of a page, to check them one by one (not with a regex over the text)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_script = False
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:  # noqa: ARG002  (any end tag closes the script)
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script = True

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def csp(answer: Any) -> dict[str, str]:
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in answer["Content-Security-Policy"].split(";")
        if part.strip()
    }


def pages_of(tenant: Tenant) -> list[str]:
    task = completed_task(tenant.project)
    return [
        reverse("console:dashboard"),
        reverse("console:live_tasks"),
        reverse("console:job_new"),
        reverse("console:job_detail", args=[task.pk]),
        reverse("console:job_progress", args=[task.pk]),
        reverse("console:job_preview", args=[task.pk, 0]),
        reverse("console:projects"),
        reverse("console:keys"),
        reverse("console:webhooks"),
        reverse("console:team"),
    ]


def test_every_page_has_a_nonce_csp_and_no_inline_script_or_style(
    acme: Tenant, owner: ConsoleClient
) -> None:
    for url in pages_of(acme):
        answer = owner.get(url)
        assert answer.status_code == 200, url
        policy = csp(answer)
        # Partials load no script, so their policy may carry no nonce at all: stricter still.
        nonce = re.fullmatch(r"'self'(?: 'nonce-([A-Za-z0-9+/=]+)')?", policy["script-src"])
        assert nonce, (url, policy["script-src"])
        assert policy["frame-ancestors"] == "'none'" and policy["default-src"] == "'none'"
        assert "'unsafe-inline'" not in answer["Content-Security-Policy"]
        assert answer["X-Frame-Options"] == "DENY"
        assert answer["X-Content-Type-Options"] == "nosniff"
        assert answer["Cross-Origin-Opener-Policy"] == "same-origin"
        page = Page(answer.content.decode())
        assert not page.inline_script, url
        assert page.all("style") == [], url
        for script in page.all("script"):
            assert script.get("src") and nonce[1] and script.get("nonce") == nonce[1], url
        for _, attrs in page.tags:
            assert "style" not in attrs, url
            assert not [name for name in attrs if name.startswith("on")], url


def test_a_nonce_is_used_once(acme: Tenant, owner: ConsoleClient) -> None:
    first, second = (csp(owner.get("/console/"))["script-src"] for _ in range(2))
    assert first != second


def test_htmx_requests_carry_the_csrf_token_and_htmx_may_not_eval(
    acme: Tenant, owner: ConsoleClient
) -> None:
    page = Page(owner.get("/console/").content.decode())
    (body,) = page.all("body")
    assert re.fullmatch(r'\{"X-CSRFToken": "[A-Za-z0-9]{64}"\}', body["hx-headers"] or "")
    (config,) = [m for m in page.all("meta") if m.get("name") == "htmx-config"]
    assert '"allowEval": false' in (config["content"] or "")
    assert '"includeIndicatorStyles": false' in (config["content"] or "")


def test_the_preview_player_is_sandboxed_twice(acme: Tenant, owner: ConsoleClient) -> None:
    task = completed_task(acme.project)
    framing = Page(owner.get(reverse("console:job_preview", args=[task.pk, 0])).content.decode())
    (iframe,) = framing.all("iframe")
    assert iframe["sandbox"] == "allow-scripts"  # and so no allow-same-origin
    player = owner.get(iframe["src"] or "")
    assert player.status_code == 200
    policy = csp(player)
    assert policy["sandbox"] == "allow-scripts"
    assert "allow-same-origin" not in player["Content-Security-Policy"]
    assert policy["frame-ancestors"] == "'self'" and player["X-Frame-Options"] == "SAMEORIGIN"
    (video,) = Page(player.content.decode()).all("video")
    assert (video["data-src"] or "").startswith("https://testserver/media/")
    assert player["Cache-Control"] == "no-store"


def test_only_the_player_may_be_framed(acme: Tenant, owner: ConsoleClient) -> None:
    task = completed_task(acme.project)
    preview = owner.get(reverse("console:job_preview", args=[task.pk, 0]))
    assert preview["X-Frame-Options"] == "DENY"


def test_a_task_without_a_stored_output_has_no_preview(acme: Tenant, owner: ConsoleClient) -> None:
    task = started_task(acme.project)
    assert owner.get(reverse("console:job_player", args=[task.pk, 0])).status_code == 404


# ------------------------------------------------------------------ stored XSS


def plant(tenant: Tenant, text: str) -> None:
    """The payload in every field a user controls that the console shows."""
    Organization.objects.filter(pk=tenant.organization.pk).update(name=f"Org {text}")
    Project.objects.filter(pk=tenant.project.pk).update(name=f"P {text}")
    tenant.project.refresh_from_db()
    api_key_of(tenant.project, name=f"K {text}")
    task = completed_task(tenant.project, user_tag=f"T {text}")
    warning = {
        "message": DELIVERY_ERROR,
        "details": f"Error sending callback to {text}",
        "tag": None,
    }
    Task.objects.filter(pk=task.pk).update(payload=f"Pay {text}", warnings=[warning])
    owner = tenant.people[Role.OWNER]
    owner.email = f"x{text}@example.com"
    owner.save(update_fields=["email"])


@pytest.mark.parametrize("payload", PAYLOADS)
def test_stored_payloads_render_inert(acme: Tenant, payload: str) -> None:
    email = acme.email(Role.OWNER)
    client = sign_in(email)
    plant(acme, payload)
    task = Task.objects.get(payload__startswith="Pay")
    urls = [*pages_of(acme), reverse("console:job_detail", args=[task.pk])]
    seen = 0
    for url in urls:
        text = client.get(url).content.decode()
        assert payload not in text, url
        assert "<img src=x" not in text and "<script>alert" not in text, url
        seen += text.count("alert(1)")
    assert seen > 8  # the payloads were on the pages, escaped


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_typed_into_forms_come_back_escaped(
    acme: Tenant, owner: ConsoleClient, payload: str
) -> None:
    answers = [
        owner.post(reverse("console:project_create"), {"name": payload}),
        owner.post(
            reverse("console:key_create"),
            {"project": acme.project.pk, "name": payload, "scopes": ["tasks:read"]},
        ),
        owner.post(reverse("console:job_new"), {"project": acme.project.pk, "query": payload}),
        owner.post(reverse("console:team_invite"), {"email": payload, "role": "viewer"}),
    ]
    for answer in answers:
        text = answer.content.decode() if answer.status_code != 302 else ""
        if answer.status_code == 302:
            text = owner.get(answer.url).content.decode()
        assert payload not in text
        assert "<img src=x" not in text and "<script>alert" not in text
