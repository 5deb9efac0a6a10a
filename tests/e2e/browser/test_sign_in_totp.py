"""Sign in, turn on TOTP (secret read from the set-up page), see the recovery codes, sign out,
and sign in again with the password and a code."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import Account
from tests.e2e.browser.console_session import ConsoleSession, at, url_of
from tests.e2e.browser.totp_codes import TotpCodes

pytestmark = pytest.mark.xdist_group("browser")

RECOVERY_CODE = re.compile(r"^[a-z2-7]{10}$")
# django-otp refuses every code for 1 s after a wrong one (OTP_TOTP_THROTTLE_FACTOR, doubling with
# each further failure); a person retyping takes longer than that, a test has to wait it out.
THROTTLE_SECONDS = 2.0


def test_totp_enrollment_then_sign_in_with_a_code(
    new_session: Callable[[], ConsoleSession], make_account: Callable[[], Account]
) -> None:
    account, console = make_account(), new_session()
    console.visit("login")
    console.screenshot("sign-in")
    console.sign_in(account)
    codes = _turn_on_totp(console)
    console.visit("dashboard")
    console.sign_out()

    _password_alone_does_not_sign_in(console, account)
    _a_wrong_code_is_refused(console, codes)
    console.page.get_by_label("Code").fill(codes.next_code())
    console.page.get_by_role("button", name="Verify", exact=True).click()
    expect(console.page).to_have_url(at("dashboard"))
    expect(console.page.get_by_role("heading", name="Dashboard")).to_be_visible()
    console.visit("security")
    expect(console.page.get_by_text("An authenticator app protects your account.")).to_be_visible()


def _turn_on_totp(console: ConsoleSession) -> TotpCodes:
    page = console.visit("security")
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    console.screenshot("two-factor-set-up")
    codes = TotpCodes(page.locator("#totp-secret").inner_text())
    page.get_by_label("Code").fill(codes.next_code())
    page.get_by_role("button", name="Turn on", exact=True).click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    shown = page.locator("#recovery-codes li").all_inner_texts()
    assert all(RECOVERY_CODE.match(code.strip()) for code in shown), shown
    console.screenshot("recovery-codes")
    return codes


def _password_alone_does_not_sign_in(console: ConsoleSession, account: Account) -> None:
    page = console.visit("login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(at("login_verify"))
    page.goto(url_of("dashboard"))  # skipping the second step
    expect(page).to_have_url(at("login"))
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(at("login_verify"))


def _a_wrong_code_is_refused(console: ConsoleSession, codes: TotpCodes) -> None:
    page = console.page
    page.get_by_label("Code").fill(codes.code_far_from_now())
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.get_by_text("That code is not valid.")).to_be_visible()
    expect(page).to_have_url(at("login_verify"))
    time.sleep(THROTTLE_SECONDS)
