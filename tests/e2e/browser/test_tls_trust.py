"""The browser trusts the edge through key pins taken from CA-verified handshakes, not through a
blanket "ignore certificate errors" (see edge_trust.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Error, Playwright

from tests.e2e.browser.conftest import CHROMIUM_ARGS
from tests.e2e.browser.console_session import url_of
from tests.e2e.browser.edge_trust import served_key_pins
from tests.e2e.conftest import RunningServer

pytestmark = pytest.mark.xdist_group("browser")


def test_the_edge_serves_two_keys_that_chain_to_the_local_ca(console_server: RunningServer) -> None:
    # served_key_pins raises SSLCertVerificationError for a chain or name the CA doesn't vouch for
    pins = served_key_pins(console_server)
    assert len(pins) == 2  # the ECDSA and the RSA certificate


def test_the_pinned_browser_loads_the_console(
    browser: Browser, console_server: RunningServer
) -> None:
    context = browser.new_context(ignore_https_errors=False)
    try:
        response = context.new_page().goto(console_server.url + url_of("login"))
        assert response is not None and response.status == 200
        assert response.url.startswith("https://")
    finally:
        context.close()


def test_without_the_pins_chromium_refuses_the_edge(
    chromium: str, playwright: Playwright, console_server: RunningServer
) -> None:
    unpinned = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    try:
        page = unpinned.new_page(ignore_https_errors=False)
        with pytest.raises(Error, match="ERR_CERT_AUTHORITY_INVALID"):
            page.goto(console_server.url + url_of("login"))
    finally:
        unpinned.close()
