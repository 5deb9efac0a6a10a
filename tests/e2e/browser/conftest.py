"""Playwright driving Debian's Chromium against a live `strongroom serve` over real TLS.

One server (with one local worker) for the whole folder: every module here is in the xdist group
"browser", so all of them run in the same pytest process and share it. Playwright's own browser
downloads are never used; without a `chromium` on PATH these tests skip (the test setup,
`scripts/system-deps.sh test`, installs it where root and apt allow).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.e2e.browser.console_session import ConsoleSession
from tests.e2e.browser.edge_trust import served_key_pins
from tests.e2e.conftest import RunningServer, _postgres, _wait_for

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVE_ARGS = ("--port", "0", "--workers", "1")  # one local worker runs the upload test's job
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",  # the test process may run as root, where Chromium's own sandbox can't start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The preview test starts the <video> from a script, not a click.
    "--autoplay-policy=no-user-gesture-required",
]


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    organization: str
    project: str


@pytest.fixture(scope="package")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("Debian's chromium is not installed (make test installs it as root with apt)")
    return found


@pytest.fixture(scope="package")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """`strongroom serve` with one local worker, shared by every browser test.

    tests/e2e's `server` fixture, at package scope instead of module scope: one server for all
    the browser modules (they share an xdist group, so one pytest process runs them all).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # Every test signs in (often twice) from the same loopback address; the production rate of
    # 30 sign-in requests a minute per address is tested in the rate-limit tests, not here.
    env["STRONGROOM_RATE_LIMIT_AUTH"] = "1000/minute"
    database = _own_database(env)
    data_dir = tmp_path_factory.mktemp("console-edge")
    with (data_dir.parent / "console-serve.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "strongroom", "serve", "--data-dir", str(data_dir), *SERVE_ARGS],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            details = _wait_for(data_dir / "run" / "server.json", process)
            yield RunningServer(details["url"], Path(details["ca"]), data_dir, env, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if database:
                _postgres(os.environ["DATABASE_URL"], f'DROP DATABASE "{database}" WITH (FORCE)')


def _own_database(env: dict[str, str]) -> str | None:
    """With DATABASE_URL set, a fresh PostgreSQL database for this server (as tests/e2e does)."""
    base = env.get("DATABASE_URL")
    if not base:
        return None
    name = "strongroom_browser_" + secrets.token_hex(4)
    _postgres(base, f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = urlunsplit(urlsplit(base)._replace(path="/" + name))
    return name


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(
    chromium: str, playwright: Playwright, console_server: RunningServer
) -> Iterator[Browser]:
    """Chromium that trusts exactly the edge's certificates (see edge_trust.py for why this way).

    Playwright's launch() gives every run a fresh temporary profile (its own --user-data-dir).
    """
    pins = served_key_pins(console_server)
    launched = playwright.chromium.launch(
        executable_path=chromium,
        args=[*CHROMIUM_ARGS, "--ignore-certificate-errors-spki-list=" + ",".join(pins)],
    )
    yield launched
    launched.close()


@pytest.fixture
def screenshots() -> Path:
    folder = Path(
        os.environ.get("STRONGROOM_SCREENSHOTS") or REPO_ROOT / "test-artifacts" / "screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def new_session(
    browser: Browser, console_server: RunningServer, screenshots: Path
) -> Iterator[Callable[[], ConsoleSession]]:
    """Open browser contexts (separate cookie jars); each must end with nothing in its watch."""
    opened: list[ConsoleSession] = []

    def open_session() -> ConsoleSession:
        session = ConsoleSession.open(browser, console_server.url, screenshots)
        opened.append(session)
        return session

    yield open_session
    for session in opened:
        session.close()
    problems = "\n".join(line for session in opened for line in session.watch.problems())
    assert not problems, f"CSP violations, script errors or server errors:\n{problems}"


@pytest.fixture
def make_account(console_server: RunningServer) -> Callable[[], Account]:
    """A new console user, owner of a new organization with one project."""

    def create() -> Account:
        tag = secrets.token_hex(4)
        account = Account(
            email=f"person-{tag}@example.com",
            password="Console-" + secrets.token_urlsafe(18),
            organization=f"org-{tag}",
            project=f"project-{tag}",
        )
        cli = dataclasses.replace(
            console_server,
            env={**console_server.env, "STRONGROOM_NEW_USER_PASSWORD": account.password},
        )
        org = account.organization
        cli.cli("createuser", "--email", account.email, "--organization", org)
        # `webhooks secret` creates the named project if missing, without making an API key.
        cli.cli("webhooks", "secret", "--project", account.project, "--organization", org)
        return account

    return create
