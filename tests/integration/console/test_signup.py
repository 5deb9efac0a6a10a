"""Sign-up exists only through an invitation, for the invited address, with a strong password;
anything else creates nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from strongroom.edge.accounts.apikeys import Actor
from strongroom.edge.accounts.models import Membership, Role
from strongroom.edge.accounts.team import invite_member
from tests.integration.console.conftest import ConsoleClient, Tenant

STRONG = "a long and unusual passphrase 9"


@pytest.fixture
def code(acme: Tenant) -> str:
    owner = acme.membership(Role.OWNER)
    return invite_member(
        acme.organization,
        email="new@example.com",
        role=Role.DEVELOPER,
        by=owner,
        actor=Actor.user(acme.people[Role.OWNER]),
    )


def sign_up(email: str, code: str, password: str = STRONG):
    client = ConsoleClient()
    answer = client.post(
        reverse("console:signup"), {"email": email, "code": code, "password": password}
    )
    return client, answer


def test_invited_person_creates_an_account_and_joins(acme: Tenant, code: str):
    client, answer = sign_up("New@Example.com", code)
    assert answer.status_code == 302 and answer.url == reverse("console:dashboard")
    member = Membership.objects.get(user__username="new@example.com")
    assert member.organization == acme.organization and member.role == Role.DEVELOPER
    assert client.get(reverse("console:dashboard")).status_code == 200


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("other@example.com", STRONG, "code"),  # the code was sent to another address
        ("new@example.com", "password1234", "password"),  # weak
        ("new@example.com", "short", "password"),
    ],
)
def test_refusals_create_nothing(acme: Tenant, code: str, email, password, field):
    users_before = get_user_model().objects.count()
    _, answer = sign_up(email, code, password)
    assert answer.status_code == 400 and field.encode() in answer.content
    assert get_user_model().objects.count() == users_before


def test_a_code_works_once(acme: Tenant, code: str):
    sign_up("new@example.com", code)
    _, again = sign_up("new@example.com", code)
    assert again.status_code == 400


def test_an_existing_address_must_sign_in_instead(acme: Tenant, code: str):
    _, answer = sign_up(acme.email(Role.VIEWER), code)
    assert answer.status_code == 400 and b"sign in" in answer.content


def test_unknown_code(acme: Tenant):
    _, answer = sign_up("new@example.com", "sri_" + "x" * 32)
    assert answer.status_code == 400
    assert not get_user_model().objects.filter(username="new@example.com").exists()
