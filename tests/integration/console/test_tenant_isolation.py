"""Every console route with an object id, tried across tenants (see tenancy.py for what each
subclass inherits)."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.edge.accounts.models import Role
from tests.integration.console.conftest import Tenant, api_key_of, completed_task, started_task
from tests.integration.console.tenancy import CrossTenantRoute

pytestmark = pytest.mark.django_db


class TestJobDetail(CrossTenantRoute):
    route = "job_detail"

    def target(self, tenant: Tenant) -> list[Any]:
        return [completed_task(tenant.project).pk]


class TestJobProgress(TestJobDetail):
    route = "job_progress"


class TestJobCancel(CrossTenantRoute):
    route, method = "job_cancel", "post"

    def target(self, tenant: Tenant) -> list[Any]:
        return [started_task(tenant.project).pk]


class TestJobPreview(CrossTenantRoute):
    route = "job_preview"

    def target(self, tenant: Tenant) -> list[Any]:
        return [completed_task(tenant.project).pk, 0]


class TestJobPlayer(TestJobPreview):
    route = "job_player"


class TestKeyRegenerate(CrossTenantRoute):
    route, method, data = "key_regenerate", "post", {"grace_hours": "0"}

    def target(self, tenant: Tenant) -> list[Any]:
        return [api_key_of(tenant.project).pk]


class TestKeyRevoke(TestKeyRegenerate):
    route, method, data = "key_revoke", "post", {}


class TestWebhookRotate(CrossTenantRoute):
    route, method = "webhook_rotate", "post"

    def target(self, tenant: Tenant) -> list[Any]:
        return [tenant.project.pk]


class TestProjectDelete(TestWebhookRotate):
    # Without the matching name the own-project request is refused with a message (302), so the
    # positive control deletes nothing; the other tenant's project must still be a 404.
    route, method, data = "project_delete", "post", {"confirm": "not the name"}


class TestWebhookTest(TestWebhookRotate):
    # A loopback receiver is refused by the SSRF guard: the own-object request stays on this host.
    route, method, data = "webhook_test", "post", {"url": "https://127.0.0.1:9/hook"}


class TestTeamRole(CrossTenantRoute):
    route, method, data = "team_role", "post", {"role": "viewer"}

    def target(self, tenant: Tenant) -> list[Any]:
        role = Role.VIEWER if Role.VIEWER in tenant.people else Role.OWNER
        return [tenant.membership(role).pk]


class TestTeamRemove(TestTeamRole):
    route, method, data = "team_remove", "post", {}
