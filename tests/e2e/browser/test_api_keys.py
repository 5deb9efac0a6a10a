"""API keys page: a new key is shown once; regenerating it (no grace) stops the old key at once,
checked against the live API with httpx."""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import Account
from tests.e2e.browser.console_session import ConsoleSession, at
from tests.e2e.conftest import RunningServer

pytestmark = pytest.mark.xdist_group("browser")

KEY_NAME = "browser test key"


def test_regenerating_a_key_stops_the_old_one_and_its_tokens(
    new_session: Callable[[], ConsoleSession],
    make_account: Callable[[], Account],
    console_server: RunningServer,
) -> None:
    account, console = make_account(), new_session()
    console.sign_in(account)
    old_key = _create_key(console)
    old_token = _access_token(console_server, old_key)
    assert old_token["error"] == 0 and old_token["token"]

    new_key = _regenerate(console)
    assert new_key != old_key

    refused = _access_token(console_server, old_key)
    assert refused["error"] != 0 and "token" not in refused, refused
    task = _call(console_server, "create_task", token=old_token["token"])
    assert task["error"] != 0 and "task_token" not in task, task  # its access tokens died with it
    issued = _access_token(console_server, new_key)
    assert issued["error"] == 0 and issued["token"], issued


def _create_key(console: ConsoleSession) -> str:
    page = console.visit("keys")
    expect(page.get_by_text("No keys yet.")).to_be_visible()
    form = page.locator("form", has=page.get_by_role("button", name="Create key", exact=True))
    form.get_by_label("Name").fill(KEY_NAME)
    for scope in form.get_by_role("checkbox").all():
        scope.check()
    console.screenshot("api-keys")
    form.get_by_role("button", name="Create key", exact=True).click()
    expect(page).to_have_url(at("key_create"))
    console.screenshot("api-key-shown-once")
    return page.locator("#new-key").inner_text().strip()


def _regenerate(console: ConsoleSession) -> str:
    page = console.visit("keys")
    row = page.get_by_role("row").filter(has_text=KEY_NAME)
    expect(row).to_have_count(1)
    expect(row.get_by_label("Grace (h)")).to_have_value("0")
    row.get_by_role("button", name="Regenerate", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Your new API key"))).to_be_visible()
    new_key = page.locator("#new-key").inner_text().strip()
    page = console.visit("keys")
    states = page.get_by_role("row").filter(has_text=KEY_NAME).locator("td:nth-child(5)")
    expect(states).to_have_text(["active", "revoked"])  # newest first; no grace: revoked at once
    return new_key


def _access_token(server: RunningServer, api_key: str) -> dict[str, Any]:
    return _call(server, "access_token", api_key=api_key)


def _call(server: RunningServer, endpoint: str, **fields: str) -> dict[str, Any]:
    trust = ssl.create_default_context(cafile=str(server.ca))
    with httpx.Client(base_url=server.url, verify=trust, timeout=30) as client:
        response = client.post(f"/v1/{endpoint}", data=fields)
    body: dict[str, Any] = response.json()  # the Qencode envelope, also for refusals
    return body
