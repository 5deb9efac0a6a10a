"""`strongroom apikey create | list | regenerate | revoke` against a running edge: what each
prints, its exit status, and that the edge honours the change at once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from strongroom.cli.qencode_client import QencodeApiError, QencodeClient
from strongroom.crypto.apikeys import parse_api_key
from tests.e2e.conftest import RunningServer

LOCAL_WORKERS = 0


def strongroom(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strongroom", *args, "--data-dir", str(server.data_dir)],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def public_id(key: str) -> str:
    parsed = parse_api_key(key)
    assert parsed is not None
    return parsed.public_id


def refused_code(server: RunningServer, key: str) -> int | None:
    with QencodeClient(server.url, server.ca) as client:
        try:
            client.access_token(key)
        except QencodeApiError as exc:
            return exc.code
    return None


def test_create_prints_only_a_key_with_the_asked_scopes(server: RunningServer) -> None:
    key = server.cli(
        "apikey",
        "create",
        "--project",
        "keys",
        "--name",
        "ci",
        "--scopes",
        "tasks:read,uploads",
        "--expires-in",
        "30",
    )

    assert "\n" not in key and parse_api_key(key) is not None
    listing = server.cli("apikey", "list", "--project", "keys")
    [row] = [line for line in listing.splitlines() if line.startswith(public_id(key))]
    assert "tasks:read,uploads" in row and "active" in row and "ci" in row
    assert key not in listing
    with QencodeClient(server.url, server.ca) as client:
        token = client.access_token(key)
        with pytest.raises(QencodeApiError) as refused:
            client.create_task(token)
    assert refused.value.code == 4 and "tasks:write" in refused.value.message


def test_list_shows_last_use_and_state(server: RunningServer) -> None:
    key = server.cli("apikey", "create", "--project", "usage")
    assert refused_code(server, key) is None

    listing = server.cli("apikey", "list", "--project", "usage")

    header, row = listing.splitlines()
    assert header.split()[:3] == ["KEY", "NAME", "SCOPES"]
    assert "127.0.0.1" in row and row.endswith("active")


def test_regenerate_without_grace_stops_the_old_key_at_once(server: RunningServer) -> None:
    old = server.cli("apikey", "create", "--project", "rotate")

    new = server.cli("apikey", "regenerate", public_id(old))

    assert parse_api_key(new) is not None and new != old
    assert refused_code(server, old) == 3
    assert refused_code(server, new) is None
    listing = server.cli("apikey", "list", "--project", "rotate")
    assert "revoked" in listing and "active" in listing


def test_regenerate_with_grace_keeps_the_old_key_working(server: RunningServer) -> None:
    old = server.cli("apikey", "create", "--project", "grace")

    new = server.cli("apikey", "regenerate", public_id(old), "--grace", "3600")

    assert refused_code(server, old) is None and refused_code(server, new) is None
    assert "replaced" in server.cli("apikey", "list", "--project", "grace")


def test_revoke_stops_the_key(server: RunningServer) -> None:
    key = server.cli("apikey", "create", "--project", "revoke")

    assert server.cli("apikey", "revoke", public_id(key)).startswith("Revoked")
    assert refused_code(server, key) == 3
    assert "already revoked" in server.cli("apikey", "revoke", public_id(key))


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("apikey", "revoke", "Nope1234"), 1),
        (("apikey", "regenerate", "Nope1234"), 1),
        (("apikey", "create", "--project", "bad", "--scopes", "tasks:admin"), 1),
        (("apikey", "list", "--project", "no-such-project"), 1),
        (("apikey", "create", "--project", "bad", "--expires-in", "0"), 2),
        (("apikey", "regenerate", "Nope1234", "--grace", "-5"), 2),
    ],
)
def test_mistakes_fail_plainly(server: RunningServer, args: tuple[str, ...], status: int) -> None:
    done = strongroom(server, *args)

    assert done.returncode == status
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.strip()
