"""The console's pages doing their jobs: new jobs through the API's own validation, live progress,
API keys shown once, webhooks, the team rules, worker join tokens."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import Settings

from strongroom.edge.accounts import apikeys
from strongroom.edge.accounts.models import ApiKey, Invitation, Membership, Project, Role
from strongroom.edge.accounts.services import create_user
from strongroom.edge.accounts.team import invitation_digest
from strongroom.edge.audit.models import RequestLog
from strongroom.edge.jobs.models import JoinToken, Task, Upload
from strongroom.edge.jobs.states import TaskStatus
from tests.integration.console.conftest import (
    PASSWORD,
    ConsoleClient,
    Tenant,
    api_key_of,
    completed_task,
    sign_in,
    started_task,
)
from tests.integration.edge.qencode_api import EXTERNAL_SOURCE, MP4_FORMAT
from tests.integration.edge.test_callbacks import Receiver, expected_signature

pytestmark = pytest.mark.django_db
ClientAs = Callable[[Role], ConsoleClient]


def new_job(client: ConsoleClient, tenant: Tenant, **fields: object) -> object:
    return client.post(reverse("console:job_new"), {"project": tenant.project.pk, **fields})


# ------------------------------------------------------------------ jobs


def test_a_preset_job_from_a_url_is_queued(acme: Tenant, owner: ConsoleClient) -> None:
    answer = new_job(owner, acme, source_url=EXTERNAL_SOURCE, preset="mp4", payload="p1")
    task = Task.objects.get()
    assert answer.status_code == 302 and answer.url == reverse("console:job_detail", args=[task.pk])
    assert task.status == TaskStatus.QUEUED and task.payload == "p1"
    assert task.spec["source"] == EXTERNAL_SOURCE and task.project == acme.project


def test_a_custom_query_goes_through_the_apis_validation(
    acme: Tenant, owner: ConsoleClient
) -> None:
    query = json.dumps({"query": {"source": EXTERNAL_SOURCE, "format": [MP4_FORMAT]}})
    assert new_job(owner, acme, query=query).status_code == 302
    bad = {"query": {"source": EXTERNAL_SOURCE, "format": [{"output": "mp4", "bogus": 1}]}}
    refused = new_job(owner, acme, query=json.dumps(bad))
    assert refused.status_code == 400 and b"bogus" in refused.content
    assert new_job(owner, acme, query="{not json").status_code == 400
    assert Task.objects.filter(status=TaskStatus.QUEUED).count() == 1


def test_a_job_needs_a_source_and_outputs(acme: Tenant, owner: ConsoleClient) -> None:
    assert new_job(owner, acme, preset="mp4").status_code == 400
    assert new_job(owner, acme, source_url=EXTERNAL_SOURCE).status_code == 400
    assert new_job(owner, acme, source_url="javascript:alert(1)", preset="mp4").status_code == 400
    assert not Task.objects.exists()


def test_another_tenants_project_is_not_a_choice(
    acme: Tenant, globex: Tenant, owner: ConsoleClient
) -> None:
    answer = new_job(owner, globex, source_url=EXTERNAL_SOURCE, preset="mp4")
    assert answer.status_code == 400 and not Task.objects.exists()
    upload = owner.post(reverse("console:job_upload_task"), {"project": globex.project.pk})
    assert upload.status_code == 404 and not Task.objects.exists()


def test_a_browser_upload_becomes_the_jobs_source(acme: Tenant, owner: ConsoleClient) -> None:
    made = owner.post(reverse("console:job_upload_task"), {"project": acme.project.pk}).json()
    task = Task.objects.get(token=made["task_token"])
    assert made["upload_url"] == f"/v1/upload_file/{task.token}"
    # What the tus endpoint leaves after a complete upload (the tus server has its own tests).
    upload = Upload.objects.create(task=task, uuid="ab" * 16, length=3, offset=3, sha256="0" * 64)
    fields = {"upload_task": task.token, "upload_id": upload.uuid, "preset": "mp4"}
    assert new_job(owner, acme, **fields).status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.QUEUED and task.spec["source"] == f"tus:{upload.uuid}"
    again = new_job(owner, acme, **fields)  # a task token starts once
    assert again.status_code == 404


def test_another_tenants_upload_task_cant_be_started(
    acme: Tenant, globex: Tenant, owner: ConsoleClient
) -> None:
    foreign = Task.objects.create(project=globex.project, token="cd" * 16)
    fields = {"upload_task": foreign.token, "upload_id": "ef" * 16, "preset": "mp4"}
    assert new_job(owner, acme, **fields).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == TaskStatus.CREATED


def test_progress_is_polled_until_the_task_ends(acme: Tenant, owner: ConsoleClient) -> None:
    task = started_task(acme.project)
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.ENCODING, percent=42.4)
    live = owner.get(reverse("console:live_tasks")).content.decode()
    assert "42%" in live and 'hx-trigger="every 2s"' in live
    progress = owner.get(reverse("console:job_progress", args=[task.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in progress and "Outputs" not in progress
    completed_task_from(task)
    done = owner.get(reverse("console:job_progress", args=[task.pk])).content.decode()
    assert "hx-trigger" not in done and "Outputs" in done  # the last poll brings the outputs in
    assert "hx-trigger" not in owner.get(reverse("console:live_tasks")).content.decode()


def completed_task_from(task: Task) -> None:
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.COMPLETED, percent=100)
    task.outputs.update(
        main_file="v.mp4",
        files=[{"path": "v.mp4", "size": 1, "sha256": "0" * 64}],
        report={"prefix": f"tasks/{task.token}/a1/out0/"},
    )


def test_cancel_stops_a_running_job(acme: Tenant, owner: ConsoleClient) -> None:
    task = started_task(acme.project)
    assert owner.post(reverse("console:job_cancel", args=[task.pk])).status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED


def test_job_detail_links_signed_downloads_and_a_preview(
    acme: Tenant, owner: ConsoleClient
) -> None:
    task = completed_task(acme.project)
    text = owner.get(reverse("console:job_detail", args=[task.pk])).content.decode()
    assert re.search(r'href="https://testserver/media/[^"/]+/video\.mp4"', text)
    assert reverse("console:job_preview", args=[task.pk, 0]) in text


# ------------------------------------------------------------------ API keys


def test_a_key_is_shown_once_with_its_scopes_and_expiry(acme: Tenant, owner: ConsoleClient) -> None:
    answer = owner.post(
        reverse("console:key_create"),
        {"project": acme.project.pk, "name": "ci", "scopes": ["tasks:read"], "expires_in_days": 7},
    )
    assert answer.status_code == 200 and answer["Cache-Control"] == "no-store"
    text = re.search(r'id="new-key" class="secret">([^<]+)<', answer.content.decode())
    assert text
    key = apikeys.authenticate_api_key(text[1])
    assert key is not None and key.scopes == ["tasks:read"] and key.expires_at is not None
    assert key.created_by == acme.people[Role.OWNER]
    assert text[1] not in owner.get(reverse("console:keys")).content.decode()


def test_key_needs_a_known_scope(acme: Tenant, owner: ConsoleClient) -> None:
    for scopes in ([], ["admin"]):
        answer = owner.post(
            reverse("console:key_create"),
            {"project": acme.project.pk, "name": "ci", "scopes": scopes},
        )
        assert answer.status_code == 400
    assert not ApiKey.objects.exists()


def test_regenerate_with_grace_then_revoke(acme: Tenant, owner: ConsoleClient) -> None:
    old = api_key_of(acme.project)
    answer = owner.post(reverse("console:key_regenerate", args=[old.pk]), {"grace_hours": "2"})
    assert answer.status_code == 200 and b'id="new-key"' in answer.content
    old.refresh_from_db()
    assert old.replaced_by is not None and old.revoked_at is None and old.expires_at is not None
    assert owner.post(reverse("console:key_revoke", args=[old.pk])).status_code == 302
    old.refresh_from_db()
    assert old.revoked_at is not None
    refused = owner.post(reverse("console:key_regenerate", args=[old.pk]), {"grace_hours": "0"})
    assert refused.status_code == 302 and ApiKey.objects.count() == 2


# ------------------------------------------------------------------ webhooks


def test_rotating_the_secret_changes_it(acme: Tenant, owner: ConsoleClient) -> None:
    before = acme.project.webhook_secret
    assert owner.post(reverse("console:webhook_rotate", args=[acme.project.pk])).status_code == 302
    after = Project.objects.get(pk=acme.project.pk).webhook_secret
    assert after != before and after.startswith("whsec_")
    page = owner.get(reverse("console:webhooks"))
    assert after in page.content.decode() and page["Cache-Control"] == "no-store"


def test_a_test_delivery_to_a_private_address_is_refused(
    acme: Tenant, owner: ConsoleClient
) -> None:
    url = reverse("console:webhook_test", args=[acme.project.pk])
    answer = owner.post(url, {"url": "http://169.254.169.254/latest/meta-data"}, follow=True)
    assert b"Error sending callback to 169.254.169.254" in answer.content


def test_a_test_delivery_is_signed_like_a_callback(
    acme: Tenant, owner: ConsoleClient, settings: Settings
) -> None:
    receiver = Receiver(204)
    try:
        settings.CALLBACK_ALLOW_NETWORKS = ("127.0.0.0/8",)
        settings.CALLBACK_ALLOW_PORTS = (receiver.httpd.server_address[1],)
        url = reverse("console:webhook_test", args=[acme.project.pk])
        answer = owner.post(url, {"url": receiver.url}, follow=True)
        assert b"Test delivered" in answer.content
        ((headers, body),) = receiver.requests
        secret = Project.objects.get(pk=acme.project.pk).webhook_secret
        assert headers["webhook-signature"] == expected_signature(secret, headers, body)
        assert b"event=test" in body
    finally:
        receiver.httpd.shutdown()
        receiver.httpd.server_close()


# ------------------------------------------------------------------ team


def test_invite_shows_the_token_once_and_keeps_a_digest(acme: Tenant, owner: ConsoleClient) -> None:
    answer = owner.post(
        reverse("console:team_invite"), {"email": "new@x.example", "role": "developer"}
    )
    token = re.search(r'id="invitation-token" class="secret">([^<]+)<', answer.content.decode())
    assert token and answer["Cache-Control"] == "no-store"
    invitation = Invitation.objects.get()
    assert invitation.token_digest == invitation_digest(token[1]) and token[1] not in str(
        list(Invitation.objects.values())
    )


def test_only_the_invited_address_can_accept_once(
    acme: Tenant, globex: Tenant, owner: ConsoleClient
) -> None:
    create_user("new@x.example", PASSWORD)
    create_user("other@x.example", PASSWORD)
    answer = owner.post(
        reverse("console:team_invite"), {"email": "new@x.example", "role": "viewer"}
    )
    code = re.search(r'id="invitation-token" class="secret">([^<]+)<', answer.content.decode())
    assert code
    accept = reverse("console:invitation_accept")
    stranger = sign_in("other@x.example")
    assert stranger.post(accept, {"code": code[1]}).status_code == 400
    invited = sign_in("new@x.example")
    assert invited.post(accept, {"code": "sri_" + "A" * 32}).status_code == 400
    assert invited.post(accept, {"code": code[1]}).status_code == 302
    joined = Membership.objects.get(user__email="new@x.example")
    assert joined.organization == acme.organization and joined.role == Role.VIEWER
    assert invited.post(accept, {"code": code[1]}).status_code == 400  # once
    assert not Membership.objects.filter(user__email="other@x.example").exists()
    assert "Films" in invited.get(reverse("console:projects")).content.decode()


def test_only_an_owner_makes_owners_and_one_owner_always_stays(
    acme: Tenant, owner: ConsoleClient, client_as: ClientAs
) -> None:
    admin = client_as(Role.ADMIN)
    viewer = acme.membership(Role.VIEWER)
    admin.post(reverse("console:team_role", args=[viewer.pk]), {"role": "owner"})
    admin.post(reverse("console:team_remove", args=[acme.membership(Role.OWNER).pk]))
    assert Membership.objects.filter(organization=acme.organization, role=Role.OWNER).count() == 1
    me = acme.membership(Role.OWNER)
    owner.post(reverse("console:team_role", args=[me.pk]), {"role": "viewer"})
    owner.post(reverse("console:team_remove", args=[me.pk]))
    me.refresh_from_db()
    assert me.role == Role.OWNER
    assert (
        owner.post(reverse("console:team_role", args=[viewer.pk]), {"role": "owner"}).status_code
        == 302
    )
    viewer.refresh_from_db()
    assert viewer.role == Role.OWNER


# ------------------------------------------------------------------ workers


def test_staff_get_a_one_time_join_token(acme: Tenant) -> None:
    staff = acme.people[Role.ADMIN]
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client = sign_in_with_totp(acme.email(Role.ADMIN), staff)
    answer = client.post(reverse("console:workers"), {"labels": "gpu, eu-west"})
    assert answer.status_code == 200 and answer["Cache-Control"] == "no-store"
    assert JoinToken.objects.get().labels == ["eu-west", "gpu"]
    assert re.search(r'id="join-token" class="secret">srj_', answer.content.decode())
    assert client.post(reverse("console:workers"), {"labels": "Bad Label!"}).status_code == 400
    assert JoinToken.objects.count() == 1


def sign_in_with_totp(email: str, user: object) -> ConsoleClient:
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    client = ConsoleClient()
    answer = client.post("/console/login", {"username": email, "password": PASSWORD})
    assert answer.status_code == 302
    code = f"{totp(device.bin_key):06d}"
    assert client.post("/console/login/verify", {"code": code}).status_code == 302
    return client


# ------------------------------------------------------------------ request log


def log_row(organization_id: int, path: str) -> RequestLog:
    return RequestLog.objects.create(
        started_at=timezone.now(),
        request_id="r" * 16,
        method="GET",
        route="/v1/status",
        path=path,
        status=200,
        duration_ms=1.0,
        organization_id=organization_id,
    )


def test_the_request_log_shows_only_this_organization(
    acme: Tenant, globex: Tenant, owner: ConsoleClient, client_as: ClientAs
) -> None:
    log_row(acme.organization.pk, "/acme-path")
    log_row(globex.organization.pk, "/globex-path")
    text = owner.get(reverse("console:logs")).content.decode()
    assert "/acme-path" in text and "/globex-path" not in text
    text = owner.get(reverse("console:logs"), {"text": "path"}).content.decode()
    assert "/acme-path" in text and "/globex-path" not in text
    assert owner.get(reverse("console:logs"), {"status": "nope"}).status_code == 400
    assert client_as(Role.DEVELOPER).get(reverse("console:logs")).status_code == 403
