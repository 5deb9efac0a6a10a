"""Deleting a project from the console: owners only, after a fresh password check, with the
name typed to confirm; its stored media is shredded and the action is audited."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from strongroom.edge.accounts.activity import REAUTH_AT
from strongroom.edge.accounts.models import Project, Role
from strongroom.edge.accounts.sessions import SessionStore
from strongroom.edge.audit.models import AuditEvent
from strongroom.edge.sealed_session import PURPOSE, sealer
from tests.integration.console.conftest import ConsoleClient, Tenant, completed_task

COOKIE = "__Host-strongroom_session"


def age_reauth(client: ConsoleClient) -> None:
    key = sealer().open(client.cookies[COOKIE].value, purpose=PURPOSE)
    assert key is not None
    session = SessionStore(key.decode())
    session[REAUTH_AT] = time.time() - 3600
    session.save()


def test_owner_deletes_with_the_name_and_media_is_shredded(acme: Tenant, owner: ConsoleClient):
    completed_task(acme.project)
    url = reverse("console:project_delete", args=[acme.project.pk])
    assert owner.post(url, {"confirm": "Films"}).status_code == 302
    assert not Project.objects.filter(pk=acme.project.pk).exists()
    assert AuditEvent.objects.filter(action="project.deleted", actor_type="user").exists()
    assert AuditEvent.objects.filter(action="project.shredded").exists()


def test_wrong_confirmation_deletes_nothing(acme: Tenant, owner: ConsoleClient):
    url = reverse("console:project_delete", args=[acme.project.pk])
    owner.post(url, {"confirm": "films"})
    assert Project.objects.filter(pk=acme.project.pk).exists()


def test_a_stale_password_check_sends_to_reauth(acme: Tenant, owner: ConsoleClient):
    age_reauth(owner)
    url = reverse("console:project_delete", args=[acme.project.pk])
    answer = owner.post(url, {"confirm": "Films"})
    assert answer.status_code == 302 and answer.url.startswith("/console/reauth")
    assert Project.objects.filter(pk=acme.project.pk).exists()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DEVELOPER, Role.VIEWER, Role.BILLING])
def test_only_owners_may_delete(acme: Tenant, client_as, role):
    url = reverse("console:project_delete", args=[acme.project.pk])
    assert client_as(role).post(url, {"confirm": "Films"}).status_code == 403
    assert Project.objects.filter(pk=acme.project.pk).exists()
