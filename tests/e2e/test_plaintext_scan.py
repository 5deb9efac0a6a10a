"""The at-rest promise, checked on the bytes: after a real job through a live edge (a known clip,
API key, person's email, webhook secret and S3 destination secret), no file anywhere under the
data directory holds any of those values, nor any media signature."""

from __future__ import annotations

import base64
import secrets
import subprocess
import sys

import pytest

from strongroom.cli.qencode_client import QencodeClient
from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip
from tests.e2e.conftest import RunningServer

MEDIA_SIGNATURES = (b"ftyp", b"#EXTM3U", b"\x1aE\xdf\xa3", b"mdat")
PASSWORD = "a long and unusual passphrase 77"
# The destination endpoint is allowlisted but answers nothing: delivery fails, after the
# credentials were stored (encrypted) and before they were erased.
SERVER_SETTINGS = {
    "STRONGROOM_RETRY_BACKOFF_SECONDS": "0",
    "STRONGROOM_DESTINATION_ALLOW_NETWORKS": "127.0.0.0/8",
    "STRONGROOM_DESTINATION_HTTP_NETWORKS": "127.0.0.0/8",
    "STRONGROOM_DESTINATION_ALLOW_PORTS": "9",
}


@pytest.fixture(scope="module")
def secrets_used(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    email = f"scan-{secrets.token_hex(6)}@example.com"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "strongroom",
            "createuser",
            "--email",
            email,
            "--organization",
            "scan",
            "--data-dir",
            str(server.data_dir),
        ],
        env={**server.env, "STRONGROOM_NEW_USER_PASSWORD": PASSWORD},
        check=True,
        capture_output=True,
        timeout=120,
    )
    api_key = server.cli("apikey", "create", "--project", "scan", "--organization", "scan")
    webhook = server.cli("webhooks", "secret", "--project", "scan", "--organization", "scan")
    key_id, secret = "AKIA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30)
    clip = make_sample_clip(
        Runner(find_ffmpeg()), tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=2.0
    )
    destination = {"url": "s3://127.0.0.1:9/bucket/out.mp4", "key": key_id, "secret": secret}
    with QencodeClient(server.url, server.ca) as client:
        task_token, upload_url = client.create_task(client.access_token(api_key))
        source = client.upload(upload_url, task_token, clip)
        query = {
            "source": source,
            "format": [
                {"output": "mp4", "resolution": 240},
                {"output": "advanced_hls", "stream": [{"resolution": 240}]},
                {"output": "mp4", "resolution": 144, "destination": destination},
            ],
        }
        status_url = client.start_encode2(task_token, query)
        client.wait(status_url, task_token, lambda _: None, poll=0.5, timeout=240)
    whsec_raw = base64.b64decode(webhook.removeprefix("whsec_"))
    return [
        email.encode(),
        api_key.encode(),
        api_key.encode()[-38:-6],
        webhook.encode(),
        whsec_raw,
        key_id.encode(),
        secret.encode(),
        PASSWORD.encode(),
        clip.read_bytes()[1000:1064],
    ]


def test_no_file_under_the_data_directory_holds_a_secret_or_media(
    server: RunningServer, secrets_used: list[bytes]
) -> None:
    files = [path for path in server.data_dir.rglob("*") if path.is_file()]
    assert sum(path.stat().st_size for path in files) > 100_000  # the outputs are in there
    for path in files:
        content = path.read_bytes()
        leaked = [value[:12] for value in secrets_used if value in content]
        assert not leaked, f"{path.relative_to(server.data_dir)} holds {leaked}"
        if path.suffix not in (".crt", ".pem", ".key"):  # DER/PEM can hold any 4 bytes
            found = [sig for sig in MEDIA_SIGNATURES if sig in content]
            assert not found, f"{path.relative_to(server.data_dir)} holds media markers {found}"
