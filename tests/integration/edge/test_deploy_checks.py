"""The production settings pass Django's deployment checklist with no warnings at all, and the
security headers and cookie settings it implies are the ones we promise."""

from __future__ import annotations

import os
import subprocess  # noqa: TID251  # reason: the deploy check needs the production settings module in a fresh process
import sys
from pathlib import Path

import pytest
from django.conf import settings


def test_check_deploy_reports_no_issues(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "strongroom.edge.settings.base",
        "STRONGROOM_DATA_DIR": str(tmp_path),
        "STRONGROOM_ALLOWED_HOSTS": "transcode.example.com",
    }
    env.pop("DATABASE_URL", None)  # the embedded profile; PostgreSQL settings are checked alike
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


def test_cookie_and_header_settings() -> None:
    assert settings.SESSION_COOKIE_NAME.startswith("__Host-")
    assert settings.CSRF_COOKIE_NAME.startswith("__Host-")
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert settings.SESSION_COOKIE_HTTPONLY and settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.SESSION_ENGINE == "strongroom.edge.accounts.sessions"  # revocable rows
    assert settings.X_FRAME_OPTIONS == "DENY"
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    assert "'unsafe-inline'" not in str(directives) and "'unsafe-eval'" not in str(directives)


@pytest.mark.django_db
def test_api_paths_never_redirect_to_https(client) -> None:
    # ASVS 4.1.2: a plain-HTTP API call must fail, not be redirected with its credentials.
    assert client.post("/v1/access_token", {"api_key": "x"}).status_code == 200
    assert client.get("/console/login").status_code == 301  # the console does redirect
