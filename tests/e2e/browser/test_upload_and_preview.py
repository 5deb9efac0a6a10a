"""New job from a browser upload (tus-js-client), watched to completion by htmx polling, then the
preview: the <video> plays inside an iframe sandboxed away from the console."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Frame, Page, expect

from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip
from tests.e2e.browser.conftest import Account
from tests.e2e.browser.console_session import ConsoleSession, at

pytestmark = pytest.mark.xdist_group("browser")

TRANSCODE_TIMEOUT_MS = 240_000  # one local worker on a shared two-core machine
PLAYER = "document.getElementById('player')"
# What a hostile media file's script could try from inside the player.
READ_PARENT = (
    "() => { try { return 'read ' + parent.document.cookie; } catch (e) { return e.name } }"
)
READ_OWN_COOKIE = "() => { try { return 'read ' + document.cookie; } catch (e) { return e.name } }"


def test_browser_upload_runs_to_completion_and_the_preview_plays_sandboxed(
    new_session: Callable[[], ConsoleSession],
    make_account: Callable[[], Account],
    tmp_path: Path,
) -> None:
    # Long enough (720p, 12 s) that the job is still running when its page first loads.
    clip = make_sample_clip(Runner(find_ffmpeg()), tmp_path / "clip.mp4", seconds=12.0)
    account, console = make_account(), new_session()
    console.sign_in(account)
    _upload_and_start(console, clip)
    _watch_until_completed(console)

    page = console.page
    console.screenshot("job-detail")
    page.get_by_role("link", name="Preview", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/preview$"))
    frame = _player_frame(page)
    _plays(frame)
    console.screenshot("preview")
    assert frame.evaluate("() => origin") == "null"  # an opaque origin, not the console's
    assert frame.evaluate(READ_PARENT) == "SecurityError"
    assert frame.evaluate(READ_OWN_COOKIE) == "SecurityError"
    _violations_in_the_player_are_seen(console, frame)

    console.visit("dashboard")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=re.compile(r"^#\d+$")))
    expect(row.locator(".status")).to_have_text("Completed")
    console.screenshot("dashboard")


def _upload_and_start(console: ConsoleSession, clip: Path) -> None:
    page = console.visit("job_new")
    page.get_by_label("Upload a file from this computer").set_input_files(clip)
    expect(page.locator("#upload-status")).to_contain_text(f"Uploaded {clip.name}", timeout=60_000)
    expect(page.locator("#upload-progress")).to_have_js_property("value", 100)
    page.get_by_label("Preset").select_option("mp4")
    console.screenshot("new-job")
    page.get_by_role("button", name="Start job", exact=True).click()
    expect(page).to_have_url(at("job_detail", _job_id(page)))


def _job_id(page: Page) -> int:
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def _watch_until_completed(console: ConsoleSession) -> None:
    """No reloads: only htmx's polling of the progress partial can bring the new status in."""
    page = console.page
    loads: list[str] = []
    polls: list[int] = []
    page.on("load", lambda _: loads.append(page.url))
    page.on("response", lambda r: polls.append(r.status) if r.url.endswith("/progress") else None)
    status = page.locator("#job-progress .status")
    first = status.get_attribute("class") or ""
    assert "status-completed" not in first, "finished before its page loaded: nothing to watch"
    expect(status).to_have_class(re.compile(r"\bstatus-completed\b"), timeout=TRANSCODE_TIMEOUT_MS)
    assert loads == [], loads
    assert polls and set(polls) == {200}, polls
    expect(page.get_by_role("heading", name="Outputs")).to_be_visible()


def _player_frame(page: Page) -> Frame:
    iframe = page.locator("iframe.preview")
    # Exactly allow-scripts: never allow-same-origin, which would hand the player the console.
    expect(iframe).to_have_attribute("sandbox", "allow-scripts")
    handle = iframe.element_handle()
    frame = handle.content_frame() if handle else None
    assert frame is not None
    return frame


def _violations_in_the_player_are_seen(console: ConsoleSession, frame: Frame) -> None:
    """The zero-violation check covers the sandboxed frame too: break its policy once on purpose."""
    frame.evaluate("() => { const s = new Image(); s.src = 'https://example.invalid/x.png'; }")
    console.watch.expect_violation(console.page, "img-src", "/player")


def _plays(frame: Frame) -> None:
    frame.wait_for_function(f"() => {PLAYER} && {PLAYER}.readyState >= 2", timeout=30_000)
    frame.evaluate(f"() => {{ {PLAYER}.muted = true; return {PLAYER}.play(); }}")
    frame.wait_for_function(f"() => {PLAYER}.currentTime > 0.5", timeout=30_000)
