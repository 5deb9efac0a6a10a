"""The one permission table (accounts/permissions.py): default deny, and the promises the rest of
the system relies on, stated once so a change to the table has to change a test too."""

from __future__ import annotations

import pytest

from strongroom.edge.accounts.models import ALL_SCOPES, Role
from strongroom.edge.accounts.permissions import (
    TABLE,
    Action,
    Credential,
    allows,
    needs_recent_auth,
)
from strongroom.edge.jobs.services import grants

ALL = [str(s) for s in ALL_SCOPES]
WORKER_ACTIONS = {Action.JOB_SOURCE_READ, Action.JOB_OUTPUT_WRITE, Action.JOB_PROGRESS}


def test_every_action_has_a_rule():
    assert set(TABLE) == set(Action)


def test_default_deny_for_anything_not_in_the_table():
    assert not allows("nonexistent.action", Credential.SESSION, role=Role.OWNER)  # type: ignore[arg-type]
    assert not allows(Action.TASK_READ, Credential.SESSION, role=None)
    assert not allows(Action.TASK_READ, Credential.SESSION, role="superuser")
    assert not allows(Action.TASK_READ, Credential.API_KEY, scopes=[])
    assert needs_recent_auth("nonexistent.action")  # type: ignore[arg-type]


@pytest.mark.parametrize("action", list(Action))
def test_keys_with_every_scope_reach_only_scoped_actions(action):
    assert allows(action, Credential.API_KEY, scopes=ALL) == (TABLE[action].scope is not None)


@pytest.mark.parametrize("action", list(Action))
def test_worker_grants_reach_only_their_job(action):
    assert allows(action, Credential.WORKER_GRANT) == (action in WORKER_ACTIONS)


@pytest.mark.parametrize("action", sorted(WORKER_ACTIONS))
def test_no_person_or_key_acts_as_a_worker(action):
    assert not any(allows(action, Credential.SESSION, role=role) for role in Role)
    assert not allows(action, Credential.API_KEY, scopes=ALL)


@pytest.mark.parametrize(
    ("action", "roles"),
    [
        (Action.TASK_CREATE, {Role.OWNER, Role.ADMIN, Role.DEVELOPER}),
        (Action.TASK_READ, {Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.VIEWER}),
        (Action.APIKEY_MANAGE, {Role.OWNER, Role.ADMIN, Role.DEVELOPER}),
        (Action.MEMBER_MANAGE, {Role.OWNER, Role.ADMIN}),
        (Action.PROJECT_DELETE, {Role.OWNER}),
        (Action.ORG_SECURITY, {Role.OWNER}),
        (Action.AUDIT_READ, {Role.OWNER, Role.ADMIN}),
        (Action.BILLING_MANAGE, {Role.OWNER, Role.BILLING}),
    ],
)
def test_roles(action, roles):
    assert {role for role in Role if allows(action, Credential.SESSION, role=role)} == roles


@pytest.mark.parametrize(
    "action",
    [
        Action.APIKEY_MANAGE,
        Action.MEMBER_MANAGE,
        Action.PROJECT_DELETE,
        Action.ORG_SECURITY,
        Action.AUDIT_READ,
        Action.ACCOUNT_CREDENTIALS,
    ],
)
def test_sensitive_actions_need_a_recent_password(action):
    assert needs_recent_auth(action)


def test_every_grant_purpose_maps_to_a_worker_action():
    assert set(grants.GRANT_ACTIONS) == set(grants.GrantPurpose)
    assert set(grants.GRANT_ACTIONS.values()) <= WORKER_ACTIONS


def test_a_grant_purpose_the_table_does_not_allow_is_refused(monkeypatch):
    monkeypatch.setitem(grants.GRANT_ACTIONS, grants.GrantPurpose.OUTPUT, Action.APIKEY_MANAGE)
    token = grants.grant_token("lease-1", grants.GrantPurpose.OUTPUT)
    with pytest.raises(grants.GrantRefused, match="may not"):
        grants.check_grant(token, "lease-1", grants.GrantPurpose.OUTPUT)
