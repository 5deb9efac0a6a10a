"""Two browsers signed in as one person; a password change in one signs the other out: its next
click lands on the sign-in page."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import Account
from tests.e2e.browser.console_session import ConsoleSession, at

pytestmark = pytest.mark.xdist_group("browser")


def test_a_password_change_signs_out_the_other_browser(
    new_session: Callable[[], ConsoleSession], make_account: Callable[[], Account]
) -> None:
    account = make_account()
    changer, other = new_session(), new_session()
    changer.sign_in(account)
    other.sign_in(account)
    other.visit("sessions")
    expect(other.page.locator("#sessions tbody tr")).to_have_count(2)
    other.screenshot("sessions")

    changed = dataclasses.replace(account, password="Changed-" + secrets.token_urlsafe(18))
    page = changer.visit("password_change")
    page.get_by_label("New password", exact=True).fill(changed.password)
    page.get_by_label("Repeat the new password", exact=True).fill(changed.password)
    changer.screenshot("change-password")
    page.get_by_role("button", name="Change password", exact=True).click()
    expect(page).to_have_url(at("sessions"))
    expect(page.get_by_text("Every other session was signed out.")).to_be_visible()
    expect(page.locator("#sessions tbody tr")).to_have_count(1)  # only this browser is left

    other.page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(other.page).to_have_url(at("login"))
    expect(other.page.get_by_role("heading", name="Sign in to Strongroom")).to_be_visible()

    changer.visit("dashboard")  # the browser that changed it stays signed in
    expect(changer.page.get_by_role("heading", name="Dashboard")).to_be_visible()
    _old_password_is_refused(other, account)
    other.sign_in(changed)


def _old_password_is_refused(console: ConsoleSession, account: Account) -> None:
    page = console.visit("login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Wrong email or password.")).to_be_visible()
