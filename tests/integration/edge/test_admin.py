"""The operators' admin: staff + verified second factor + recent re-auth on every request, model
permissions enforced, a read-only support group, and one audit event per admin request."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from strongroom.edge.accounts.activity import REAUTH_AT
from strongroom.edge.accounts.models import Organization, Role
from strongroom.edge.accounts.services import create_user
from strongroom.edge.admin_apps import SUPPORT_GROUP
from strongroom.edge.audit.models import AuditEvent
from tests.integration.edge.test_console_auth import PASSWORD, https_client, session_of

pytestmark = pytest.mark.django_db
ADMIN = "/" + settings.ADMIN_PATH


def operator(email: str, *, superuser: bool = False, totp_device: bool = True):
    user = create_user(email, PASSWORD, organization="Ops", role=Role.OWNER)
    get_user_model().objects.filter(pk=user.pk).update(is_staff=True, is_superuser=superuser)
    if totp_device:
        TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    return user


def signed_in(email: str, user) -> Client:
    client = https_client()
    client.post("/console/login", {"username": email, "password": PASSWORD}, secure=True)
    device = TOTPDevice.objects.filter(user=user).first()
    if device is not None:
        code = f"{totp(device.bin_key):06d}"
        assert client.post("/console/login/verify", {"code": code}, secure=True).status_code == 302
    return client


def test_anonymous_is_sent_to_the_console_sign_in_and_audited():
    answer = https_client().get(ADMIN, secure=True)
    assert answer.status_code == 302 and answer.url.startswith("/console/login")
    assert AuditEvent.objects.filter(action="admin.refused", target=ADMIN).exists()


def test_a_signed_in_non_operator_is_refused():
    create_user("dev@example.com", PASSWORD, organization="Acme", role=Role.OWNER)
    client = https_client()
    client.post(
        "/console/login", {"username": "dev@example.com", "password": PASSWORD}, secure=True
    )
    assert client.get(ADMIN, secure=True).status_code == 403


def test_staff_without_a_second_factor_must_enroll_first():
    user = operator("ops@example.com", totp_device=False)
    client = signed_in("ops@example.com", user)
    answer = client.get(ADMIN, secure=True)
    assert answer.status_code == 302 and "/console/account/security" in answer.url


def test_staff_with_2fa_needs_a_recent_password():
    user = operator("ops@example.com", superuser=True)
    client = signed_in("ops@example.com", user)
    assert client.get(ADMIN, secure=True).status_code == 200
    session = session_of(client)
    session[REAUTH_AT] = time.time() - 11 * 60
    session.save()
    answer = client.get(ADMIN, secure=True)
    assert answer.status_code == 302 and answer.url.startswith("/console/reauth")


def test_every_admin_request_is_audited_without_query_strings():
    user = operator("ops@example.com", superuser=True)
    client = signed_in("ops@example.com", user)
    before = AuditEvent.objects.filter(action="admin.request").count()
    client.get(f"{ADMIN}accounts/organization/?q=secret-search", secure=True)
    event = AuditEvent.objects.filter(action="admin.request").order_by("-seq").first()
    assert AuditEvent.objects.filter(action="admin.request").count() == before + 1
    assert event.target == f"{ADMIN}accounts/organization/"
    assert "secret-search" not in str(event.details)
    assert event.actor == f"user:{user.pk}"


def test_support_group_can_look_but_not_change():
    user = operator("support@example.com")
    user.groups.add(Group.objects.get(name=SUPPORT_GROUP))
    org = Organization.objects.create(name="Globex")
    client = signed_in("support@example.com", user)
    url = f"{ADMIN}accounts/organization/{org.pk}/change/"
    assert client.get(f"{ADMIN}accounts/organization/", secure=True).status_code == 200
    answer = client.post(url, {"name": "Renamed", "require_2fa": "on"}, secure=True)
    assert answer.status_code == 403
    assert Organization.objects.get(pk=org.pk).name == "Globex"


def test_audit_events_and_secrets_are_never_editable_even_for_superusers():
    user = operator("root@example.com", superuser=True)
    client = signed_in("root@example.com", user)
    event = AuditEvent.objects.order_by("seq").first()
    change = client.post(
        f"{ADMIN}audit/auditevent/{event.seq}/change/", {"action": "forged"}, secure=True
    )
    assert change.status_code in (403, 200)
    assert AuditEvent.objects.get(seq=event.seq).action != "forged"
    delete = client.post(
        f"{ADMIN}audit/auditevent/{event.seq}/delete/", {"post": "yes"}, secure=True
    )
    assert delete.status_code == 403
    page = client.get(f"{ADMIN}accounts/project/add/", secure=True)
    assert b"webhook_secret" not in page.content
