"""API keys (accounts/apikeys.py): creation, every way a key or its access token is refused,
and last-used bookkeeping. Times are set explicitly on the rows (a key "expires" because its
expires_at is moved into the past), so nothing here sleeps or depends on the clock's speed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from strongroom.crypto.apikeys import generate_api_key, parse_api_key
from strongroom.edge.accounts.apikeys import (
    Actor,
    InvalidExpiry,
    InvalidScopes,
    authenticate_api_key,
    create_api_key,
    key_for_access_token,
)
from strongroom.edge.accounts.models import AccessToken, ApiKey, Project
from strongroom.edge.audit.models import AuditEvent
from tests.integration.edge.key_rows import (
    HOUR,
    OPERATOR,
    REFUSALS,
    age,
    assert_no_secret_in_audit,
    audit_rows,
    key_row,
)
from tests.integration.edge.qencode_api import QencodeApi, refused

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


# ------------------------------------------------------------------------ create


def test_it_creates_a_key_with_every_scope_and_audits_it(project: Project) -> None:
    text = create_api_key(project, name="ci", actor=OPERATOR)

    key = key_row(text)
    assert (key.project, key.name, key.scopes) == (
        project,
        "ci",
        ["tasks:write", "tasks:read", "uploads"],
    )
    assert key.expires_at is None and key.created_by is None
    parsed = parse_api_key(text)
    assert parsed is not None and parsed.secret not in key.digest
    [event] = audit_rows("apikey.create")
    assert (event.actor_type, event.actor, event.target) == (
        "cli",
        "cli:alice",
        f"apikey:{key.public_id}",
    )
    assert event.details["scopes"] == key.scopes
    assert_no_secret_in_audit(text)


def test_it_keeps_scopes_in_the_tables_order_without_repeats(project: Project) -> None:
    text = create_api_key(
        project, name="", scopes=["uploads", "tasks:read", "uploads"], actor=OPERATOR
    )

    assert key_row(text).scopes == ["tasks:read", "uploads"]


@pytest.mark.parametrize("scopes", [[], ["admin"], ["tasks:write", "tasks:*"], ["TASKS:READ"]])
def test_it_refuses_unknown_or_no_scopes(project: Project, scopes: list[str]) -> None:
    with pytest.raises(InvalidScopes):
        create_api_key(project, name="", scopes=scopes, actor=OPERATOR)

    assert not ApiKey.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize("offset", [timedelta(0), -HOUR])
def test_it_refuses_an_expiry_that_is_not_in_the_future(
    project: Project, offset: timedelta
) -> None:
    with pytest.raises(InvalidExpiry):
        create_api_key(project, name="", expires_at=timezone.now() + offset, actor=OPERATOR)

    assert not ApiKey.objects.exists()


def test_a_user_made_key_records_its_creator_and_actor(project: Project, person: Any) -> None:
    text = create_api_key(project, name="", created_by=person, actor=Actor.user(person))

    assert key_row(text).created_by == person
    [event] = audit_rows("apikey.create")
    assert (event.actor_type, event.actor) == ("user", f"user:{person.pk}")


# ------------------------------------------------------------------------ authenticate


def mangled(api_key: str) -> list[str]:
    flipped = api_key[:-1] + ("a" if api_key[-1] != "a" else "b")
    return ["", "not-a-key", api_key[:-1], api_key + "0", flipped, api_key.upper(), "x" * 200]


def test_malformed_keys_never_reach_the_database(
    api_key: str, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    for text in mangled(api_key):
        with django_assert_num_queries(0):
            assert authenticate_api_key(text, address="203.0.113.7") is None


def test_it_accepts_a_live_key(api_key: str, project: Project) -> None:
    key = authenticate_api_key(api_key)

    assert key is not None and key.project == project


@pytest.mark.parametrize("reason", list(REFUSALS))
def test_it_refuses_a_key_that_is_no_longer_live(
    v1: QencodeApi, persons_key: str, person: Any, reason: str
) -> None:
    REFUSALS[reason](persons_key, person)

    assert authenticate_api_key(persons_key) is None
    refused(v1, "access_token", 3, api_key=persons_key)


@pytest.mark.parametrize("reason", list(REFUSALS))
def test_an_access_token_dies_with_its_key(
    v1: QencodeApi, persons_key: str, person: Any, reason: str
) -> None:
    token = v1.session_token(persons_key)
    assert key_for_access_token(token) is not None

    REFUSALS[reason](persons_key, person)

    assert key_for_access_token(token) is None
    assert refused(v1, "create_task", 5, token=token) == "Token not found"


def test_a_deactivated_creators_key_works_again_once_reactivated(
    persons_key: str, person: Any
) -> None:
    person.is_active = False
    person.save()
    assert authenticate_api_key(persons_key) is None

    person.is_active = True
    person.save()
    assert authenticate_api_key(persons_key) is not None


def test_a_key_whose_creator_was_deleted_keeps_working(persons_key: str, person: Any) -> None:
    # The creator link is SET_NULL: deleting the account leaves a CLI-like key, which is what an
    # operator who deletes (rather than deactivates) a person chose. Deactivation is the stop.
    person.delete()
    assert authenticate_api_key(persons_key) is not None


def test_an_access_token_never_outlives_its_key(v1: QencodeApi, project: Project) -> None:
    key_expires = timezone.now() + timedelta(minutes=5)
    text = create_api_key(project, name="", expires_at=key_expires, actor=OPERATOR)

    v1.session_token(text)

    assert AccessToken.objects.get().expires_at == key_expires


# ------------------------------------------------------------------------ last used


def test_it_records_when_and_from_where_a_key_was_last_used(api_key: str) -> None:
    before = timezone.now()
    authenticate_api_key(api_key, address="203.0.113.7")

    key = key_row(api_key)
    assert key.last_used_ip == "203.0.113.7"
    assert key.last_used_at is not None and key.last_used_at >= before


def test_it_writes_last_used_at_most_once_a_minute(
    api_key: str, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    recently = timezone.now() - timedelta(seconds=50)
    age(api_key, last_used_at=recently, last_used_ip="203.0.113.7")

    with django_assert_num_queries(1):  # the lookup only: no write within the minute
        assert authenticate_api_key(api_key, address="198.51.100.9") is not None
    key = key_row(api_key)
    assert (key.last_used_at, key.last_used_ip) == (recently, "203.0.113.7")

    age(api_key, last_used_at=timezone.now() - timedelta(seconds=61))
    authenticate_api_key(api_key, address="198.51.100.9")
    assert key_row(api_key).last_used_ip == "198.51.100.9"


@pytest.mark.parametrize("address", [None, "", "unix:/run/edge.sock", "300.1.1.1"])
def test_an_address_that_is_not_an_ip_is_stored_as_unknown(
    api_key: str, address: str | None
) -> None:
    assert authenticate_api_key(api_key, address=address) is not None

    key = key_row(api_key)
    assert key.last_used_at is not None and key.last_used_ip is None


def test_an_unknown_but_well_formed_key_is_refused(api_key: str) -> None:
    assert authenticate_api_key(generate_api_key()) is None
    assert authenticate_api_key(api_key) is not None
