"""Every console page a member's menu leads to, plus their account pages, opened in a real
browser: no Content-Security-Policy violation, script error or server error (the `new_session`
fixture fails the test otherwise), and a screenshot of each."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import Account
from tests.e2e.browser.console_session import ConsoleSession, url_of

pytestmark = pytest.mark.xdist_group("browser")

# Pages an owner's menu must offer; the walk also covers any the menu gains later.
EXPECTED_IN_MENU = ("dashboard", "job_new", "projects", "keys", "webhooks", "team", "security")
ACCOUNT_PAGES = ("sessions", "password_change")


def test_every_page_in_the_menu_loads_without_a_csp_violation(
    new_session: Callable[[], ConsoleSession], make_account: Callable[[], Account]
) -> None:
    account, console = make_account(), new_session()
    console.sign_in(account)
    menu: list[str] = console.page.locator("header nav a").evaluate_all(
        "links => links.map(a => new URL(a.href).pathname)"
    )
    assert {url_of(name) for name in EXPECTED_IN_MENU} <= set(menu), menu
    for path in dict.fromkeys([*menu, *(url_of(name) for name in ACCOUNT_PAGES)]):
        response = console.page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        console.page.wait_for_load_state("networkidle")  # every script ran, every style loaded
        has_nonce = console.page.locator("script[nonce]").count() > 0
        assert has_nonce, f"{path}: scripts are expected to carry the CSP nonce"
        console.screenshot("page" + path.rstrip("/").replace("/", "-"))
    assert console.watch.problems() == []


def test_the_watch_sees_a_violation(new_session: Callable[[], ConsoleSession]) -> None:
    """A watcher that hears nothing proves nothing: break the policy on purpose once."""
    console = new_session()
    page = console.visit("login")
    page.evaluate(
        "() => { const s = document.createElement('style');"
        " s.textContent = 'body { color: red }'; document.head.append(s); }"
    )
    expect(page.locator("body")).not_to_have_css("color", "rgb(255, 0, 0)")  # blocked...
    console.watch.expect_violation(page, "style-src", url_of("login"))  # ...and reported
