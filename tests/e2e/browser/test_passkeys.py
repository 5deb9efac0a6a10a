"""Passkeys in a real browser: Chromium's virtual authenticator (DevTools WebAuthn domain) stands
in for a phone or security key; the page's own script (passkeys.js) and the server's real
verifier (py_webauthn) do the rest. Register on the security page, sign out, sign in with the
passkey alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser.conftest import Account, RunningServer
from tests.e2e.browser.console_session import ConsoleSession, at

pytestmark = pytest.mark.xdist_group("browser")
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture
def console_by_name(
    browser: Browser, console_server: RunningServer, screenshots: Path
) -> Iterator[ConsoleSession]:
    """The console at https://localhost:PORT: WebAuthn refuses an IP address as the relying
    party's id ("This is an invalid domain"), so passkeys need a host name."""
    url = console_server.url.replace("://127.0.0.1:", "://localhost:")
    session = ConsoleSession.open(browser, url, screenshots)
    yield session
    session.close()
    problems = "\n".join(session.watch.problems())
    assert not problems, f"CSP violations, script errors or server errors:\n{problems}"


def test_register_a_passkey_then_sign_in_with_it_alone(
    console_by_name: ConsoleSession, make_account: Callable[[], Account]
) -> None:
    account, console = make_account(), console_by_name
    devtools = console.context.new_cdp_session(console.page)
    devtools.send("WebAuthn.enable")
    added = devtools.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})

    console.sign_in(account)
    page = console.visit("security")
    page.get_by_label("Name for a new passkey").fill("virtual key")
    page.get_by_role("button", name="Add a passkey", exact=True).click()
    expect(page.locator("#passkey-status")).to_have_text("Passkey added.")
    expect(page.locator("#passkey-recovery-codes li")).to_have_count(10)
    console.screenshot("passkey-added")
    page.reload()
    expect(page.get_by_role("cell", name="virtual key")).to_be_visible()

    console.sign_out()
    console.page.get_by_role("button", name="Sign in with a passkey", exact=True).click()
    expect(console.page).to_have_url(at("dashboard"))
    stored = devtools.send("WebAuthn.getCredentials", {"authenticatorId": added["authenticatorId"]})
    assert len(stored["credentials"]) == 1
    assert stored["credentials"][0]["signCount"] >= 1  # the sign-in used this key
