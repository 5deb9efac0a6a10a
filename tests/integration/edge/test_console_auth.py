"""Console sign-in, sessions and sudo mode, through Django's test client over HTTPS.

Each test tries to break one promise: the cookie is sealed and `__Host-`; a forged or tampered
cookie is no session; lockout after repeated failures; TOTP and recovery codes; staff and
organizations that require 2FA; password change and deactivation end other sessions at once;
idle and absolute timeouts; re-authentication for sensitive pages; no open redirect.
"""

from __future__ import annotations

import secrets
import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from strongroom.edge.accounts.activity import REAUTH_AT, SEEN_AT, SIGNED_IN_AT
from strongroom.edge.accounts.models import Organization, Role, UserSession
from strongroom.edge.accounts.second_factor import new_recovery_codes
from strongroom.edge.accounts.services import create_user
from strongroom.edge.accounts.sessions import SessionStore
from strongroom.edge.audit.models import AuditEvent
from strongroom.edge.sealed_session import PURPOSE, sealer

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple 42"
EMAIL = "ada@example.com"
COOKIE = "__Host-strongroom_session"


@pytest.fixture
def user():
    return create_user(EMAIL, PASSWORD, organization="Acme", role=Role.OWNER)


def https_client() -> Client:
    return Client(HTTP_USER_AGENT="pytest-browser/1.0", enforce_csrf_checks=False)


def sign_in(client: Client, password: str = PASSWORD, **extra: str):
    return client.post(
        "/console/login", {"username": EMAIL, "password": password, **extra}, secure=True
    )


def signed_in_client(user) -> Client:
    client = https_client()
    assert sign_in(client).status_code == 302
    return client


def session_of(client: Client) -> SessionStore:
    """The session behind a client's sealed cookie (Client.session expects a bare key)."""
    opened = sealer().open(client.cookies[COOKIE].value, purpose=PURPOSE)
    assert opened is not None
    return SessionStore(opened.decode())


def is_signed_in(client: Client) -> bool:
    answer = client.get("/console/account/sessions", secure=True)
    return answer.status_code == 200


def test_cookie_is_host_prefixed_secure_httponly_and_sealed(user):
    client = https_client()
    answer = sign_in(client)
    assert answer.status_code == 302
    morsel = answer.cookies[COOKIE]
    assert morsel["secure"] and morsel["httponly"]
    assert morsel["samesite"] == "Lax" and morsel["path"] == "/" and not morsel["domain"]
    session_key = UserSession.objects.get().session_key
    assert session_key not in morsel.value and len(morsel.value) > len(session_key)
    assert is_signed_in(client)


@pytest.mark.parametrize("forge", ["flip", "raw_key", "garbage"])
def test_a_forged_or_tampered_cookie_is_no_session(user, forge):
    client = signed_in_client(user)
    sealed = client.cookies[COOKIE].value
    forged = {
        "flip": sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:],
        "raw_key": UserSession.objects.get().session_key,  # the bare id no longer works
        "garbage": "x" * 5000,
    }[forge]
    client.cookies[COOKIE] = forged
    assert not is_signed_in(client)


def test_wrong_password_is_refused_audited_and_locks_out(user):
    client = https_client()
    for _ in range(5):
        answer = sign_in(client, password="wrong password")
        assert COOKIE not in answer.cookies or not answer.cookies[COOKIE].value
    assert AuditEvent.objects.filter(action="auth.sign_in_failed", actor=EMAIL).count() >= 5
    locked = sign_in(client)  # even the right password is refused while locked
    assert locked.status_code in (403, 429)
    assert not is_signed_in(client)
    assert not AuditEvent.objects.filter(details__icontains="wrong password").exists()


def test_totp_then_recovery_code(user):
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    codes = new_recovery_codes(user)
    client = https_client()
    answer = sign_in(client)
    assert answer.status_code == 302 and answer.url.startswith("/console/login/verify")
    assert not is_signed_in(client)  # the password alone signs nobody in
    bad = client.post("/console/login/verify", {"code": "000000"}, secure=True)
    assert bad.status_code == 200 and not is_signed_in(client)
    # django-otp throttles a device after a failure (1 s, then doubling); this test doesn't wait.
    TOTPDevice.objects.get(pk=device.pk).throttle_reset()
    good = client.post(
        "/console/login/verify", {"code": f"{totp(device.bin_key):06d}"}, secure=True
    )
    assert good.status_code == 302 and is_signed_in(client)

    other = https_client()
    sign_in(other)
    assert other.post("/console/login/verify", {"code": codes[0]}, secure=True).status_code == 302
    assert is_signed_in(other)
    again = https_client()
    sign_in(again)
    again.post("/console/login/verify", {"code": codes[0]}, secure=True)  # used once already
    assert not is_signed_in(again)


def test_five_wrong_codes_need_the_password_again(user):
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    client = https_client()
    sign_in(client)
    for _ in range(5):
        client.post("/console/login/verify", {"code": "123456"}, secure=True)
    answer = client.get("/console/login/verify", secure=True)
    assert answer.status_code == 302 and answer.url.startswith("/console/login?")


@pytest.mark.parametrize("why", ["staff", "organization"])
def test_required_second_factor_sends_to_enrollment(user, why):
    if why == "staff":
        get_user_model().objects.filter(pk=user.pk).update(is_staff=True)
    else:
        Organization.objects.filter(name="Acme").update(require_2fa=True)
    client = signed_in_client(user)
    answer = client.get("/console/account/sessions", secure=True)
    assert answer.status_code == 302 and answer.url.startswith("/console/account/security")


def test_enrolling_totp_shows_recovery_codes_once(user):
    client = signed_in_client(user)
    page = client.get("/console/account/security", secure=True)
    assert page.status_code == 200 and b"data:image/svg+xml" in page.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    code = f"{totp(device.bin_key):06d}"
    done = client.post("/console/account/security", {"code": code}, secure=True)
    assert done.status_code == 200 and b"recovery-codes" in done.content
    assert TOTPDevice.objects.get(user=user).confirmed


def test_password_change_signs_out_every_other_session(user):
    first, second = signed_in_client(user), signed_in_client(user)
    answer = first.post(
        "/console/account/password",
        {
            "new_password1": "a whole new passphrase 77",
            "new_password2": "a whole new passphrase 77",
        },
        secure=True,
    )
    assert answer.status_code == 302
    assert is_signed_in(first)
    assert not is_signed_in(second)
    assert UserSession.objects.filter(user=user).count() == 1


def test_weak_new_password_is_refused(user):
    client = signed_in_client(user)
    for weak in ("short", "password1234", "ada@example.com1"):
        answer = client.post(
            "/console/account/password",
            {"new_password1": weak, "new_password2": weak},
            secure=True,
        )
        assert answer.status_code == 200  # the form again, with the reason
    assert get_user_model().objects.get(pk=user.pk).check_password(PASSWORD)


def test_deactivation_deletes_every_session_at_once(user):
    first, second = signed_in_client(user), signed_in_client(user)
    user.is_active = False
    user.save()
    assert UserSession.objects.filter(user=user).count() == 0
    assert not is_signed_in(first) and not is_signed_in(second)


def test_sessions_page_lists_without_keys_and_ends_others(user):
    mine, other = signed_in_client(user), signed_in_client(user)
    page = mine.get("/console/account/sessions", secure=True)
    for row in UserSession.objects.all():
        assert row.session_key.encode() not in page.content
    assert page.content.count(b"pytest-browser/1.0") == 2
    mine.post("/console/account/sessions/end-others", secure=True)
    assert is_signed_in(mine) and not is_signed_in(other)


@pytest.mark.parametrize("clock", [SEEN_AT, SIGNED_IN_AT])
def test_idle_and_absolute_timeouts(user, clock):
    client = signed_in_client(user)
    session = session_of(client)
    session[clock] = time.time() - 13 * 3600
    session.save()
    assert not is_signed_in(client)


def test_sensitive_pages_need_a_recent_password(user):
    client = signed_in_client(user)
    session = session_of(client)
    session[REAUTH_AT] = time.time() - 11 * 60
    session.save()
    answer = client.get("/console/account/password", secure=True)
    assert answer.status_code == 302 and answer.url.startswith("/console/reauth")
    wrong = client.post("/console/reauth", {"password": "nope"}, secure=True)
    assert wrong.status_code == 200
    client.post("/console/reauth", {"password": PASSWORD}, secure=True)
    assert client.get("/console/account/password", secure=True).status_code == 200


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "/\\evil"]
)
def test_next_never_leaves_the_site(user, target):
    answer = sign_in(https_client(), next=target)
    assert answer.status_code == 302 and answer.url.startswith("/console")


def test_sign_out_is_post_only_and_ends_the_row(user):
    client = signed_in_client(user)
    assert client.get("/console/logout", secure=True).status_code == 405
    client.post("/console/logout", secure=True)
    assert UserSession.objects.filter(user=user).count() == 0


def test_login_page_without_csrf_token_is_refused(user):
    strict = Client(enforce_csrf_checks=True)
    answer = strict.post("/console/login", {"username": EMAIL, "password": PASSWORD}, secure=True)
    assert answer.status_code == 403


def test_a_signed_in_person_has_a_rate_limit_of_their_own(user, settings):
    # A rate no other test uses: limits keeps one counter per rate string.
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "user": f"3/{secrets.randbelow(900) + 100} seconds",
    }
    client = signed_in_client(user)  # the sign-in POST itself is anonymous: not counted
    answers = [client.get("/console/account/sessions", secure=True) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert answers[3].status_code == 429 and answers[3]["Retry-After"] == "60"
