"""Walks the URL resolver: every console route is guarded, and every route with an object id has
cross-tenant tests (tenancy.CrossTenantRoute) or a stated reason in EXEMPT."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.integration.console import test_tenant_isolation  # noqa: F401  (fills COVERED)
from tests.integration.console.conftest import ConsoleClient, Tenant
from tests.integration.console.tenancy import COVERED

# Routes with an id that are not organization objects, and why they need no cross-tenant test.
EXEMPT = {
    "session_end": "a person's own session handle, not an organization's object",
    "passkey_remove": "a person's own passkey, not an organization's object",
}
# Routes anyone may open: signing in can't require being signed in.
OPEN = {
    "login",
    "login_verify",
    "logout",
    "passkey_sign_in",
    "passkey_sign_in_options",
    "signup",  # anonymous by design: the invitation code is the credential
}


def console_routes() -> Iterator[tuple[str, URLPattern]]:
    (console,) = [
        r
        for r in get_resolver().url_patterns
        if isinstance(r, URLResolver) and r.namespace == "console"
    ]
    yield from _walk(console)


def _walk(resolver: URLResolver) -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry)
        elif entry.name:
            yield entry.name, entry


def has_object_id(pattern: URLPattern) -> bool:
    return bool(pattern.pattern.converters)  # type: ignore[attr-defined]


ROUTES = dict(console_routes())


def test_the_walk_finds_the_console() -> None:
    assert {"dashboard", "job_detail", "keys", "login"} <= set(ROUTES)


@pytest.mark.parametrize("name", sorted(n for n, p in ROUTES.items() if has_object_id(p)))
def test_every_route_with_an_id_has_cross_tenant_tests(name: str) -> None:
    assert name in COVERED or name in EXEMPT, (
        f"console:{name} takes an object id: add a CrossTenantRoute subclass in "
        "test_tenant_isolation.py (or a reason in EXEMPT)"
    )


@pytest.mark.parametrize("name", sorted(set(ROUTES) - OPEN))
def test_every_route_is_guarded_by_console_view(name: str) -> None:
    view: Any = ROUTES[name].callback
    assert hasattr(view, "console_action"), f"console:{name} is not wrapped by console_view"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", sorted(n for n, p in ROUTES.items() if not has_object_id(p) and n not in OPEN)
)
def test_anonymous_requests_are_sent_to_sign_in(name: str, acme: Tenant) -> None:
    client = ConsoleClient()
    for method in ("get", "post"):
        answer = getattr(client, method)(reverse(f"console:{name}"))
        if answer.status_code == 405:
            continue  # the other method is the route's own
        assert answer.status_code == 302, (name, method)
        assert answer.url.startswith("/console/login?next=")
