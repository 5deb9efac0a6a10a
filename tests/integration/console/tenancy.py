"""The inherited test base for console routes that take an object id.

Subclass `CrossTenantRoute` once per such route: the subclass says which route, which method and
form data, and how to find a target object in a tenant; it inherits three tests:
- another organization's object is a 404, and the refused request changed nothing;
- the same request on an object of one's own organization is not refused (the positive control
  that makes the 404 mean "other tenant", not "broken route");
- an anonymous request is sent to sign in.
`test_routes.py` walks the URL resolver and fails for an id-taking console route that has no
subclass here and no entry in its exemption list.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.urls import reverse

from strongroom.edge.accounts.models import Membership, Project
from tests.integration.console.conftest import ConsoleClient, Tenant
from tests.integration.edge.db_state import snapshot

COVERED: dict[str, type[CrossTenantRoute]] = {}


def everything() -> dict[str, Any]:
    return {
        **snapshot(),
        "projects": list(Project.objects.order_by("pk").values_list("name", "webhook_secret")),
        "members": list(Membership.objects.order_by("pk").values_list("user_id", "role")),
    }


class CrossTenantRoute:
    route: ClassVar[str]  # URL name in the "console" namespace
    method: ClassVar[str] = "get"
    data: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        COVERED[cls.route] = cls

    def target(self, tenant: Tenant) -> list[Any]:
        """The URL arguments naming an object of `tenant` that this route acts on."""
        raise NotImplementedError

    def call(self, client: ConsoleClient, args: list[Any]) -> Any:
        url = reverse(f"console:{self.route}", args=args)
        return getattr(client, self.method)(url, self.data)

    @pytest.mark.usefixtures("acme")
    def test_another_tenants_object_is_404_and_untouched(
        self, globex: Tenant, owner: ConsoleClient
    ) -> None:
        args = self.target(globex)
        before = everything()
        assert self.call(owner, args).status_code == 404
        assert everything() == before

    def test_own_object_is_reachable(self, acme: Tenant, owner: ConsoleClient) -> None:
        assert self.call(owner, self.target(acme)).status_code in (200, 302)

    def test_anonymous_is_sent_to_sign_in(self, acme: Tenant) -> None:
        answer = self.call(ConsoleClient(), self.target(acme))
        assert answer.status_code == 302
        assert answer.url.startswith("/console/login?next=")
