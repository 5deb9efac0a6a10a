"""Passkeys through the console's endpoints and py_webauthn's real verifier, with a software
authenticator producing real WebAuthn bytes. Each test breaks one thing and expects a refusal."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from strongroom.edge.accounts.activity import REAUTH_AT
from strongroom.edge.accounts.models import Passkey, Role, UserSession
from strongroom.edge.accounts.services import create_user
from strongroom.edge.audit.models import AuditEvent
from tests.integration.edge.soft_authenticator import SoftAuthenticator
from tests.integration.edge.test_console_auth import (
    PASSWORD,
    https_client,
    is_signed_in,
    session_of,
    sign_in,
    signed_in_client,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return create_user("ada@example.com", PASSWORD, organization="Acme", role=Role.OWNER)


def post_json(client: Client, url: str, body: dict | None = None):
    return client.post(url, json.dumps(body or {}), content_type="application/json", secure=True)


def options(client: Client, url: str) -> dict:
    answer = post_json(client, url)
    assert answer.status_code == 200, answer.content
    return answer.json()


def register(client: Client, authenticator: SoftAuthenticator):
    created = options(client, "/console/account/passkeys/options")
    credential = authenticator.create(created)
    return post_json(
        client, "/console/account/passkeys", {"credential": credential, "name": "laptop"}
    )


@pytest.fixture
def enrolled(user):
    authenticator = SoftAuthenticator()
    answer = register(signed_in_client(user), authenticator)
    assert answer.status_code == 200 and answer.json()["ok"], answer.content
    return authenticator


def test_registration_stores_the_key_and_gives_recovery_codes(user):
    client = signed_in_client(user)
    answer = register(client, SoftAuthenticator())
    assert answer.status_code == 200
    assert len(answer.json()["recovery_codes"]) == 10
    passkey = Passkey.objects.get(user=user)
    assert passkey.name == "laptop" and passkey.confirmed
    assert AuditEvent.objects.filter(action="auth.passkey_added").exists()


def test_registration_needs_a_recent_password(user):
    client = signed_in_client(user)
    session = session_of(client)
    session[REAUTH_AT] = time.time() - 3600
    session.save()
    assert post_json(client, "/console/account/passkeys/options").status_code == 302


def test_passkey_alone_signs_in(user, enrolled):
    client = https_client()
    request = options(client, "/console/login/passkey/options")
    assert "allowCredentials" not in request or not request["allowCredentials"]
    assert request["userVerification"] == "required"
    answer = post_json(client, "/console/login/passkey", {"credential": enrolled.get(request)})
    assert answer.status_code == 200 and answer.json()["redirect"].startswith("/console")
    assert is_signed_in(client)


def test_passkey_alone_without_user_verification_is_refused(user, enrolled):
    enrolled.user_verification = False
    client = https_client()
    request = options(client, "/console/login/passkey/options")
    answer = post_json(client, "/console/login/passkey", {"credential": enrolled.get(request)})
    assert answer.status_code == 400 and not is_signed_in(client)


def test_passkey_as_second_factor_after_the_password(user, enrolled):
    client = https_client()
    assert sign_in(client).url.startswith("/console/login/verify")
    enrolled.user_verification = False  # the password was the first factor
    request = options(client, "/console/login/passkey/options")
    assert [c["id"] for c in request["allowCredentials"]] == [Passkey.objects.get().credential_id]
    answer = post_json(client, "/console/login/passkey", {"credential": enrolled.get(request)})
    assert answer.status_code == 200 and is_signed_in(client)


def test_a_replayed_answer_is_refused(user, enrolled):
    client = https_client()
    request = options(client, "/console/login/passkey/options")
    credential = enrolled.get(request)
    assert (
        post_json(client, "/console/login/passkey", {"credential": credential}).status_code == 200
    )
    other = https_client()
    options(other, "/console/login/passkey/options")  # a fresh challenge, not the one signed
    assert post_json(other, "/console/login/passkey", {"credential": credential}).status_code == 400
    assert not is_signed_in(other)


@pytest.mark.parametrize("breakage", ["origin", "rp_id", "signature", "counter", "unknown"])
def test_broken_assertions_are_refused(user, enrolled, breakage):
    client = https_client()
    request = options(client, "/console/login/passkey/options")
    if breakage == "origin":
        enrolled.origin = "https://evil.example"
    if breakage == "counter":
        enrolled.sign_count = -1  # goes backwards: a cloned authenticator
        Passkey.objects.update(sign_count=5)
    if breakage == "unknown":
        enrolled.credential_id = b"not-registered-here"
    credential = enrolled.get(request, rp_id="evil.example" if breakage == "rp_id" else None)
    if breakage == "signature":
        parsed = json.loads(credential)
        parsed["response"]["signature"] = parsed["response"]["signature"][:-4] + "AAAA"
        credential = json.dumps(parsed)
    answer = post_json(client, "/console/login/passkey", {"credential": credential})
    assert answer.status_code == 400 and answer.json()["ok"] is False
    assert not is_signed_in(client)


def test_a_deactivated_users_passkey_is_refused(user, enrolled):
    user.is_active = False
    user.save()
    client = https_client()
    request = options(client, "/console/login/passkey/options")
    answer = post_json(client, "/console/login/passkey", {"credential": enrolled.get(request)})
    assert answer.status_code == 400 and not is_signed_in(client)


def test_someone_elses_passkey_does_not_complete_my_sign_in(user, enrolled):
    eve = create_user("eve@example.com", PASSWORD, organization="Acme", role=Role.VIEWER)
    TOTPDevice.objects.create(user=eve, name="app", confirmed=True)
    client = https_client()
    form = {"username": "eve@example.com", "password": PASSWORD}
    assert client.post("/console/login", form, secure=True).url.startswith("/console/login/verify")
    request = options(
        client, "/console/login/passkey/options"
    )  # eve's step: ada's key is not eve's
    answer = post_json(client, "/console/login/passkey", {"credential": enrolled.get(request)})
    assert answer.status_code == 400 and not is_signed_in(client)
    assert UserSession.objects.filter(user__isnull=False).count() == 1  # only ada's own session


def test_reauthentication_with_a_passkey(user, enrolled):
    client = https_client()
    sign_in_request = options(client, "/console/login/passkey/options")
    post_json(client, "/console/login/passkey", {"credential": enrolled.get(sign_in_request)})
    session = session_of(client)
    session[REAUTH_AT] = time.time() - 3600
    session.save()
    assert client.get("/console/account/password", secure=True).status_code == 302
    request = options(client, "/console/reauth/passkey/options")
    answer = post_json(client, "/console/reauth/passkey", {"credential": enrolled.get(request)})
    assert answer.status_code == 200
    assert client.get("/console/account/password", secure=True).status_code == 200


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"credential": 5}', json.dumps({"credential": "x" * 70000}).encode()],
)
def test_malformed_answers_get_a_clean_refusal(user, enrolled, body):
    client = https_client()
    options(client, "/console/login/passkey/options")
    answer = client.post(
        "/console/login/passkey", body, content_type="application/json", secure=True
    )
    assert answer.status_code == 400 and answer.json()["ok"] is False
