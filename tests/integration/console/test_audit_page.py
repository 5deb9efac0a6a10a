"""The organization's audit log in the console: its own events only, owners and admins only,
after a fresh password check; operators-only events never show."""

from __future__ import annotations

import pytest
from django.urls import reverse

from strongroom.edge.accounts.models import Role
from strongroom.edge.audit.services import record_event
from tests.integration.console.conftest import ConsoleClient, Tenant, api_key_of


def test_owner_sees_own_events_not_another_tenants(
    acme: Tenant, globex: Tenant, owner: ConsoleClient
):
    api_key_of(acme.project, name="acme-key")  # audited with Acme's organization
    api_key_of(globex.project, name="globex-key")
    record_event(action="platform.thing", actor_type="operator", actor="cli:root")
    page = owner.get(reverse("console:audit"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "apikey.create" in body
    assert body.count("apikey.create") == 1  # Globex's key creation is not listed
    assert "platform.thing" not in body


def test_filter_by_action(acme: Tenant, owner: ConsoleClient):
    api_key_of(acme.project)
    page = owner.get(reverse("console:audit"), {"action": "team."})
    assert "apikey.create" not in page.content.decode()


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.VIEWER, Role.BILLING])
def test_other_roles_are_refused(acme: Tenant, client_as, role):
    assert client_as(role).get(reverse("console:audit")).status_code == 403


def test_payloads_in_event_fields_render_inert(acme: Tenant, owner: ConsoleClient):
    record_event(
        action="<script>alert(1)</script>",
        actor_type="user",
        actor='"><img src=x onerror=alert(1)>',
        organization_id=acme.organization.pk,
    )
    body = owner.get(reverse("console:audit")).content.decode()
    assert "<script>alert(1)</script>" not in body and "<img src=x" not in body
    assert "&lt;script&gt;" in body
