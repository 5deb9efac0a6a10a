"""Cross-site request forgery and the role matrix: the console refuses what a role may not do,
and a state change without the CSRF token or from a foreign origin."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.urls import reverse

from strongroom.edge.accounts.models import ApiKey, Organization, Project, Role
from tests.integration.console.conftest import (
    HOST,
    ConsoleClient,
    Tenant,
    api_key_of,
    completed_task,
    sign_in,
    started_task,
)

pytestmark = pytest.mark.django_db
ClientAs = Callable[[Role], ConsoleClient]


def form_token(client: ConsoleClient, url: str) -> str:
    match = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(url).content.decode()
    )
    assert match
    return match[1]


@pytest.fixture
def strict(acme: Tenant) -> ConsoleClient:
    return sign_in(acme.email(Role.OWNER), enforce_csrf=True)


def create_project(client: ConsoleClient, token: str = "", origin: str = HOST) -> int:
    data = {"name": "New", **({"csrfmiddlewaretoken": token} if token else {})}
    return client.post(reverse("console:project_create"), data, HTTP_ORIGIN=origin).status_code


def test_csrf_positive_control(strict: ConsoleClient) -> None:
    token = form_token(strict, reverse("console:projects"))
    status = create_project(strict, token)
    assert status == 302 and Project.objects.filter(name="New").exists()


def test_no_csrf_token_is_403(strict: ConsoleClient) -> None:
    assert create_project(strict) == 403
    assert not Project.objects.filter(name="New").exists()


def test_a_foreign_origin_is_403_even_with_a_token(strict: ConsoleClient) -> None:
    token = form_token(strict, reverse("console:projects"))
    for origin in ("https://evil.example", "null", "http://testserver"):
        assert create_project(strict, token, origin) == 403
    assert not Project.objects.filter(name="New").exists()


def test_htmx_style_header_token_is_accepted_and_a_wrong_one_refused(
    strict: ConsoleClient, acme: Tenant
) -> None:
    token = form_token(strict, reverse("console:projects"))
    url = reverse("console:job_upload_task")
    data = {"project": str(acme.project.pk)}
    assert strict.post(url, data, HTTP_X_CSRFTOKEN="x" * 64, HTTP_ORIGIN=HOST).status_code == 403
    assert strict.post(url, data, HTTP_X_CSRFTOKEN=token, HTTP_ORIGIN=HOST).status_code == 200


def test_a_key_revoke_forged_from_another_site_is_refused(
    strict: ConsoleClient, acme: Tenant
) -> None:
    key = api_key_of(acme.project)
    answer = strict.post(
        reverse("console:key_revoke", args=[key.pk]), HTTP_ORIGIN="https://evil.example"
    )
    assert answer.status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None


# ------------------------------------------------------------------ roles


def matrix(acme: Tenant) -> list[tuple[Role, str, str, list[object], dict[str, object], int]]:
    task = completed_task(acme.project)
    running = started_task(acme.project)
    key = api_key_of(acme.project)
    viewer = acme.membership(Role.VIEWER)
    project = {"project": acme.project.pk}
    new_key = {**project, "name": "k", "scopes": ["tasks:read"]}
    return [
        (Role.VIEWER, "post", "key_create", [], new_key, 403),
        (Role.VIEWER, "get", "keys", [], {}, 403),
        (Role.VIEWER, "post", "key_revoke", [key.pk], {}, 403),
        (Role.VIEWER, "get", "job_new", [], {}, 403),
        (Role.VIEWER, "post", "job_upload_task", [], project, 403),
        (Role.VIEWER, "post", "job_cancel", [running.pk], {}, 403),
        (Role.VIEWER, "get", "job_detail", [task.pk], {}, 200),
        (Role.VIEWER, "get", "team", [], {}, 200),
        (Role.VIEWER, "post", "team_invite", [], {"email": "a@b.example", "role": "viewer"}, 403),
        (Role.BILLING, "get", "job_detail", [task.pk], {}, 403),
        (Role.BILLING, "get", "live_tasks", [], {}, 403),
        (Role.BILLING, "get", "job_player", [task.pk, 0], {}, 403),
        (Role.BILLING, "get", "dashboard", [], {}, 200),
        (Role.DEVELOPER, "get", "keys", [], {}, 200),
        (Role.DEVELOPER, "post", "team_role", [viewer.pk], {"role": "admin"}, 403),
        (Role.DEVELOPER, "post", "project_create", [], {"name": "x"}, 403),
        (Role.DEVELOPER, "get", "workers", [], {}, 403),
        (Role.ADMIN, "post", "team_security", [], {"required": "on"}, 403),
        (Role.ADMIN, "get", "workers", [], {}, 403),  # not staff: workers serve every tenant
        (Role.OWNER, "post", "team_security", [], {"required": "on"}, 302),
    ]


def test_role_matrix(acme: Tenant, client_as: ClientAs) -> None:
    clients: dict[Role, ConsoleClient] = {}
    for role, method, name, args, data, expected in matrix(acme):
        client = clients.setdefault(role, client_as(role))
        answer = getattr(client, method)(reverse(f"console:{name}", args=args), data)
        assert answer.status_code == expected, (role, name)
    assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 0
    assert Organization.objects.get(pk=acme.organization.pk).require_2fa  # only the owner's change


def test_the_menu_follows_the_role(acme: Tenant, client_as: ClientAs) -> None:
    text = client_as(Role.BILLING).get(reverse("console:dashboard")).content.decode()
    assert reverse("console:keys") not in text and reverse("console:job_new") not in text
    assert "no access to jobs" in text
    text = client_as(Role.DEVELOPER).get(reverse("console:dashboard")).content.decode()
    assert reverse("console:keys") in text and reverse("console:workers") not in text
