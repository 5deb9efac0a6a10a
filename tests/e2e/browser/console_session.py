"""One browser context (its own cookie jar) on the console, and the steps tests share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.urls import reverse
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.browser.page_watch import PageWatch
from tests.e2e.browser.totp_codes import TotpCodes

if TYPE_CHECKING:
    from tests.e2e.browser.conftest import Account


def url_of(name: str, *args: object) -> str:
    """A console path by its URL name (the test process has the same URLconf as the server)."""
    return reverse(f"console:{name}", args=args)


def at(name: str, *args: object) -> re.Pattern[str]:
    """Matches the page URL of a console page, with or without a query string."""
    return re.compile(re.escape(url_of(name, *args)) + r"(\?.*)?$")


@dataclass
class ConsoleSession:
    context: BrowserContext
    page: Page
    watch: PageWatch
    screenshots: Path

    @classmethod
    def open(cls, browser: Browser, base_url: str, screenshots: Path) -> ConsoleSession:
        # ignore_https_errors stays False: the browser trusts the edge through edge_trust.py.
        context = browser.new_context(base_url=base_url, ignore_https_errors=False)
        context.set_default_timeout(15_000)
        watch = PageWatch.attach(context)
        return cls(context, context.new_page(), watch, screenshots)

    def visit(self, name: str, *args: object) -> Page:
        response = self.page.goto(url_of(name, *args))
        assert response is not None and response.status < 400, (name, response and response.status)
        return self.page

    def sign_in(self, account: Account, codes: TotpCodes | None = None) -> None:
        self.visit("login")
        self.page.get_by_label("Email").fill(account.email)
        self.page.get_by_label("Password").fill(account.password)
        self.page.get_by_role("button", name="Sign in", exact=True).click()
        if codes is not None:
            expect(self.page).to_have_url(at("login_verify"))
            self.page.get_by_label("Code").fill(codes.next_code())
            self.page.get_by_role("button", name="Verify", exact=True).click()
        expect(self.page).to_have_url(at("dashboard"))

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out", exact=True).click()
        expect(self.page).to_have_url(at("login"))

    def screenshot(self, name: str) -> None:
        self.page.screenshot(path=self.screenshots / f"{name}.png", full_page=True)

    def close(self) -> None:
        self.context.close()
