"""Regenerating (with and without grace), revoking and listing API keys; the audit records
each change and never a secret. Grace ends because a test moves the old key's expiry, not
by waiting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from strongroom.edge.accounts.apikeys import (
    ApiKeyNotActive,
    InvalidExpiry,
    KeyState,
    authenticate_api_key,
    create_api_key,
    key_state,
    list_api_keys,
    regenerate_api_key,
    revoke_api_key,
)
from strongroom.edge.accounts.models import AccessToken, ApiKey, Project
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


def test_regenerating_without_grace_stops_the_old_key_and_its_tokens_at_once(
    v1: QencodeApi, project: Project, person: Any
) -> None:
    created = timezone.now()
    old = create_api_key(
        project,
        name="deploy",
        scopes=["tasks:write"],
        expires_at=created + timedelta(days=30),
        created_by=person,
        actor=OPERATOR,
    )
    old_token = v1.session_token(old)

    new = regenerate_api_key(key_row(old), actor=OPERATOR)

    assert authenticate_api_key(old) is None
    assert refused(v1, "create_task", 5, token=old_token) == "Token not found"
    refused(v1, "access_token", 3, api_key=old)
    v1.ok("create_task", token=v1.session_token(new))
    old_row, new_row = key_row(old), key_row(new)
    assert old_row.replaced_by == new_row and old_row.revoked_at is not None
    assert (new_row.project, new_row.name, new_row.scopes, new_row.created_by) == (
        project,
        "deploy",
        ["tasks:write"],
        person,
    )
    assert_same_lifetime(new_row, timedelta(days=30))
    [event] = audit_rows("apikey.regenerate")
    assert event.target == f"apikey:{old_row.public_id}"
    assert event.details == {"new_key": new_row.public_id, "grace_seconds": 0}
    assert_no_secret_in_audit(old, new)


def assert_same_lifetime(key: ApiKey, lifetime: timedelta) -> None:
    assert key.expires_at is not None
    assert key.expires_at - key.created_at == pytest.approx(lifetime, abs=timedelta(seconds=5))


def test_a_key_without_expiry_is_regenerated_without_expiry(api_key: str) -> None:
    new = regenerate_api_key(key_row(api_key), actor=OPERATOR)

    assert key_row(new).expires_at is None


def test_with_grace_the_old_key_and_its_tokens_work_until_the_grace_ends(
    v1: QencodeApi, api_key: str
) -> None:
    old_token = v1.session_token(api_key)
    before = timezone.now()

    new = regenerate_api_key(key_row(api_key), grace_seconds=3600, actor=OPERATOR)

    after = timezone.now()
    old_row = key_row(api_key)
    assert old_row.replaced_by == key_row(new) and old_row.revoked_at is None
    assert old_row.expires_at is not None
    assert before + HOUR <= old_row.expires_at <= after + HOUR
    assert key_state(old_row) is KeyState.REPLACED
    assert authenticate_api_key(api_key) is not None
    v1.ok("create_task", token=old_token)
    v1.ok("create_task", token=v1.session_token(new))

    age(api_key, expires_at=timezone.now() - timedelta(seconds=1))  # the grace period ends

    assert authenticate_api_key(api_key) is None
    assert refused(v1, "create_task", 5, token=old_token) == "Token not found"
    assert authenticate_api_key(new) is not None


def test_grace_never_extends_a_key_past_its_own_expiry(project: Project) -> None:
    soon = timezone.now() + timedelta(minutes=10)
    text = create_api_key(project, name="", expires_at=soon, actor=OPERATOR)

    regenerate_api_key(key_row(text), grace_seconds=86400, actor=OPERATOR)

    assert key_row(text).expires_at == soon


@pytest.mark.parametrize(
    "reason", ["revoked", "expired", "replaced without grace", "creator deactivated"]
)
def test_only_a_live_key_can_be_regenerated(persons_key: str, person: Any, reason: str) -> None:
    REFUSALS[reason](persons_key, person)
    keys_before = ApiKey.objects.count()

    with pytest.raises(ApiKeyNotActive):
        regenerate_api_key(key_row(persons_key), actor=OPERATOR)

    assert ApiKey.objects.count() == keys_before


def test_a_key_in_its_grace_period_cannot_be_regenerated_again(api_key: str) -> None:
    regenerate_api_key(key_row(api_key), grace_seconds=60, actor=OPERATOR)

    with pytest.raises(ApiKeyNotActive):
        regenerate_api_key(key_row(api_key), actor=OPERATOR)


def test_a_negative_grace_is_refused(api_key: str) -> None:
    with pytest.raises(InvalidExpiry):
        regenerate_api_key(key_row(api_key), grace_seconds=-1, actor=OPERATOR)

    assert ApiKey.objects.count() == 1 and key_row(api_key).replaced_by is None


# ------------------------------------------------------------------------ revoke and list


def test_revoking_stops_the_key_and_deletes_its_tokens_and_is_audited_once(
    v1: QencodeApi, api_key: str
) -> None:
    v1.session_token(api_key)

    assert revoke_api_key(key_row(api_key), actor=OPERATOR) is True
    assert revoke_api_key(key_row(api_key), actor=OPERATOR) is False

    assert not AccessToken.objects.exists()
    assert authenticate_api_key(api_key) is None
    [event] = audit_rows("apikey.revoke")
    assert (event.actor, event.target) == ("cli:alice", f"apikey:{key_row(api_key).public_id}")
    assert_no_secret_in_audit(api_key)


def test_revoking_a_key_in_its_grace_period_ends_the_grace(api_key: str) -> None:
    regenerate_api_key(key_row(api_key), grace_seconds=3600, actor=OPERATOR)

    revoke_api_key(key_row(api_key), actor=OPERATOR)

    assert authenticate_api_key(api_key) is None
    assert key_state(key_row(api_key)) is KeyState.REVOKED


def test_it_lists_a_projects_keys_with_their_states(
    project: Project, other_project: Project, person: Any
) -> None:
    texts = [
        create_api_key(project, name=f"k{i}", created_by=person, actor=OPERATOR) for i in range(4)
    ]
    create_api_key(other_project, name="elsewhere", actor=OPERATOR)
    revoke_api_key(key_row(texts[1]), actor=OPERATOR)
    age(texts[2], expires_at=timezone.now() - timedelta(seconds=1))
    regenerate_api_key(key_row(texts[3]), grace_seconds=60, actor=OPERATOR)

    keys = list_api_keys(project)

    states = {key.public_id: key_state(key) for key in keys}
    assert len(keys) == 5  # four made, one by regeneration; not the other project's
    assert [states[key_row(text).public_id] for text in texts] == [
        KeyState.ACTIVE,
        KeyState.REVOKED,
        KeyState.EXPIRED,
        KeyState.REPLACED,
    ]
    person.is_active = False
    person.save()
    assert {key_state(key) for key in list_api_keys(project)} >= {KeyState.CREATOR_INACTIVE}
