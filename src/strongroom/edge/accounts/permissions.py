"""The one permission table: which role and which credential kind may do what.

Every surface (console, API, CLI on behalf of a user, worker gate) asks `allows()`. An action
missing from the table, a role missing from a rule, or a credential kind the rule does not name
is refused: the default is deny. Sensitive actions also need a recent re-authentication
("sudo mode"); `needs_recent_auth()` says which.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from strongroom.edge.accounts.models import Role, Scope


class Credential(StrEnum):
    SESSION = "session"  # a person in the console
    API_KEY = "api_key"  # a program with a scoped project key (or its Qencode access token)
    WORKER_GRANT = "worker_grant"  # a worker holding one job's grant


class Action(StrEnum):
    TASK_CREATE = "task.create"
    TASK_READ = "task.read"
    TASK_CANCEL = "task.cancel"
    UPLOAD = "upload"
    JOB_SOURCE_READ = "job.source_read"
    JOB_OUTPUT_WRITE = "job.output_write"
    JOB_PROGRESS = "job.progress"
    APIKEY_READ = "apikey.read"
    APIKEY_MANAGE = "apikey.manage"  # create, regenerate, revoke
    WEBHOOK_MANAGE = "webhook.manage"
    PROJECT_CREATE = "project.create"
    PROJECT_DELETE = "project.delete"
    MEMBER_READ = "member.read"
    MEMBER_MANAGE = "member.manage"  # invite, change role, remove
    ORG_SECURITY = "org.security"  # require 2FA for the organization
    AUDIT_READ = "audit.read"
    WORKER_ENROLL = "worker.enroll"  # join tokens
    BILLING_MANAGE = "billing.manage"
    ACCOUNT_SELF = "account.self"  # own profile and sessions
    ACCOUNT_CREDENTIALS = "account.credentials"  # own password, email, 2FA


OWNER, ADMIN, DEVELOPER, VIEWER, BILLING = (
    Role.OWNER,
    Role.ADMIN,
    Role.DEVELOPER,
    Role.VIEWER,
    Role.BILLING,
)
EVERYONE = frozenset(Role)
BUILDERS = frozenset({OWNER, ADMIN, DEVELOPER})
MANAGERS = frozenset({OWNER, ADMIN})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role] = frozenset()  # console roles allowed; empty: no console access
    scope: Scope | None = None  # the API-key scope that allows it; None: keys may not
    worker: bool = False  # a worker grant may do it (for its own job only)
    recent_auth: bool = False  # console: needs a password/passkey check in the last 10 min


TABLE: dict[Action, Rule] = {
    Action.TASK_CREATE: Rule(BUILDERS, scope=Scope.TASKS_WRITE),
    Action.TASK_READ: Rule(EVERYONE - {BILLING}, scope=Scope.TASKS_READ),
    Action.TASK_CANCEL: Rule(BUILDERS, scope=Scope.TASKS_WRITE),
    Action.UPLOAD: Rule(BUILDERS, scope=Scope.UPLOADS),
    Action.JOB_SOURCE_READ: Rule(worker=True),
    Action.JOB_OUTPUT_WRITE: Rule(worker=True),
    Action.JOB_PROGRESS: Rule(worker=True),
    Action.APIKEY_READ: Rule(BUILDERS),
    Action.APIKEY_MANAGE: Rule(BUILDERS, recent_auth=True),
    Action.WEBHOOK_MANAGE: Rule(BUILDERS),
    Action.PROJECT_CREATE: Rule(MANAGERS),
    Action.PROJECT_DELETE: Rule(frozenset({OWNER}), recent_auth=True),
    Action.MEMBER_READ: Rule(EVERYONE),
    Action.MEMBER_MANAGE: Rule(MANAGERS, recent_auth=True),
    Action.ORG_SECURITY: Rule(frozenset({OWNER}), recent_auth=True),
    Action.AUDIT_READ: Rule(MANAGERS, recent_auth=True),
    Action.WORKER_ENROLL: Rule(MANAGERS),
    Action.BILLING_MANAGE: Rule(frozenset({OWNER, BILLING})),
    Action.ACCOUNT_SELF: Rule(EVERYONE),
    Action.ACCOUNT_CREDENTIALS: Rule(EVERYONE, recent_auth=True),
}

# A person's own account needs no organization: these skip the membership check.
PERSONAL = frozenset({Action.ACCOUNT_SELF, Action.ACCOUNT_CREDENTIALS})


def allows(
    action: Action,
    credential: Credential,
    *,
    role: Role | str | None = None,
    scopes: Iterable[str] = (),
) -> bool:
    """True only when the table names this credential kind (and its role or scope) for `action`."""
    rule = TABLE.get(action)
    if rule is None:
        return False
    if credential is Credential.SESSION:
        return role is not None and role in rule.roles
    if credential is Credential.API_KEY:
        return rule.scope is not None and str(rule.scope) in set(scopes)
    if credential is Credential.WORKER_GRANT:
        return rule.worker
    return False


def needs_recent_auth(action: Action) -> bool:
    rule = TABLE.get(action)
    return rule is None or rule.recent_auth
