"""The cluster profile's storage: two `strongroom serve` edges on one PostgreSQL database and one
SeaweedFS bucket (STRONGROOM_OBJECT_STORE), sharing objects and their wrapped keys.

Edge A takes the upload and the job and runs no worker; edge B's local worker claims the job,
reads the upload through B and stores the outputs through B; the outputs download through
both edges byte for byte, and the bucket holds nothing but envelopes.
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from strongroom.cli.qencode_client import QencodeClient
from strongroom.cli.transcode import playlist_uris
from strongroom.crypto.tls import client_ssl_context
from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip
from strongroom.storage.s3 import S3Store
from tests.e2e.conftest import RunningServer, _wait_for
from tests.integration.storage.postgres import fresh_database
from tests.integration.storage.seaweed import SEAWEED, S3Server, start, stop

pytestmark = [pytest.mark.e2e, SEAWEED]


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS server of this module's own."""
    weed = start(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield weed.server
    finally:
        stop(weed)


@pytest.fixture(scope="module")
def bucket(s3_server: S3Server) -> S3Store:
    """The folder of the bucket the edges share, read directly (no decryption)."""
    return S3Store(s3_server.bucket, prefix="cluster", settings=s3_server.settings)


@pytest.fixture(scope="module")
def cluster_env(
    s3_server: S3Server, bucket: S3Store, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """What every edge of the cluster is given: the database, the bucket (its secret from a
    file), one master key, and one object key file (shared storage, so a local key rotates)."""
    settings = s3_server.settings
    secret_file = tmp_path_factory.mktemp("secrets") / "s3-secret"
    secret_file.write_text(str(settings.secret_access_key))
    endpoint = urlsplit(str(settings.endpoint_url)).netloc
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRONGROOM_", "DJANGO_"))}
    for database_url in fresh_database():
        yield {
            **env,
            "DATABASE_URL": database_url,
            "STRONGROOM_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "STRONGROOM_OBJECT_STORE": f"s3+http://{endpoint}/{bucket.bucket}/{bucket.prefix}",
            "STRONGROOM_OBJECT_STORE_ACCESS_KEY_ID": str(settings.access_key_id),
            "STRONGROOM_OBJECT_STORE_SECRET_ACCESS_KEY_FILE": str(secret_file),
            "STRONGROOM_OBJECT_KEK_FILE": str(secret_file.parent / "object-keks.json"),
        }


def serve(folder: Path, env: dict[str, str], workers: int) -> tuple[RunningServer, Any]:
    data_dir = folder / "data"
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "strongroom", "serve", "--data-dir", str(data_dir),
         "--port", "0", "--workers", str(workers)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        details = _wait_for(data_dir / "run" / "server.json", process)
    except BaseException:
        process.kill()
        log.close()
        raise
    server = RunningServer(details["url"], Path(details["ca"]), data_dir, env, process)
    return server, log


@pytest.fixture(scope="module")
def edges(
    cluster_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, RunningServer]]:
    started = []
    try:
        # One after the other: the first one migrates the fresh database.
        started.append(serve(tmp_path_factory.mktemp("edge-a"), cluster_env, workers=0))
        started.append(serve(tmp_path_factory.mktemp("edge-b"), cluster_env, workers=1))
        yield started[0][0], started[1][0]
    finally:
        for server, log in started:
            server.process.terminate()
            try:
                server.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.process.kill()
            log.close()


def through(edge: RunningServer, url: str) -> bytes:
    """GET the path of `url` from `edge` (media URLs are signed, not tied to an edge)."""
    parts = urlsplit(url)
    with httpx.Client(verify=client_ssl_context(edge.ca), timeout=60) as http:
        response = http.get(f"{edge.url}{parts.path}")
    assert response.status_code == 200, (parts.path.split("/")[-1], response.status_code)
    return response.content


def query(source: str) -> dict[str, Any]:
    return {
        "source": source,
        "format": [
            {"output": "mp4", "size": "320x180", "video_codec": "libx264", "tag": "mp4"},
            {
                "output": "advanced_hls",
                "segment_duration": "1",
                "stream": [{"resolution": 180, "bitrate": "300", "audio_bitrate": 64}],
            },
        ],
    }


def assert_only_envelopes(stored: dict[str, bytes], plaintexts: tuple[bytes, ...]) -> None:
    """The raw bucket holds the upload and the outputs, each an envelope from its first byte,
    with no media signature and no known plaintext anywhere in it."""
    assert any(key.startswith("uploads/") for key in stored)
    assert any(key.startswith("tasks/") for key in stored)
    for key, data in stored.items():
        assert data[:4] == b"SRE1", key
        assert b"ftyp" not in data[:64] and b"#EXTM3U" not in data, key
        assert not any(plain in data for plain in plaintexts), key


def test_one_upload_is_served_by_two_edges_from_one_bucket(
    edges: tuple[RunningServer, RunningServer], bucket: S3Store, tmp_path: Path
) -> None:
    edge_a, edge_b = edges
    clip = make_sample_clip(Runner(find_ffmpeg()), tmp_path / "clip.mp4", seconds=2.0)
    with QencodeClient(edge_a.url, edge_a.ca) as client:
        token = client.access_token(edge_a.cli("apikey", "create", "--project", "cluster"))
        task_token, upload_url = client.create_task(token)
        source = client.upload(upload_url, task_token, clip)  # written through edge A
        status_url = client.start_encode2(task_token, query(source))
        final = client.wait(status_url, task_token, lambda _: None, poll=0.5, timeout=240)
    assert final["status"] == "completed" and final["error"] == 0, final

    videos = {video["user_tag"] or video["tag"]: video["url"] for video in final["videos"]}
    mp4 = through(edge_b, videos["mp4"])
    assert mp4 == through(edge_a, videos["mp4"]) and mp4[4:8] == b"ftyp"
    master = through(edge_b, next(url for tag, url in videos.items() if tag != "mp4"))
    assert master.startswith(b"#EXTM3U") and playlist_uris(master.decode())

    stored = {key: b"".join(bucket.read(key)) for key in bucket.list("")}
    assert_only_envelopes(stored, plaintexts=(mp4[:32], clip.read_bytes()[:32]))
    for edge in edges:  # nothing on the hosts: no object files, no key file
        assert not any(path.is_file() for path in (edge.data_dir / "objects").rglob("*"))
        assert not (edge.data_dir / "db" / "wrapped-keys.db").exists()

    status_a, status_b = edge_a.cli("keys", "status"), edge_b.cli("keys", "status")
    assert status_a == status_b and f"{len(stored)} object(s)  primary" in status_a, status_a

    # A local key rotated on one host would strand the others: refused unless the operator
    # says the key file is shared (here it is: STRONGROOM_OBJECT_KEK_FILE). Then the key records
    # in PostgreSQL are re-wrapped, either edge's background may do it, and the bucket's media is
    # never rewritten; both edges still read every output.
    refused = keys_rotate(edge_a)
    assert refused.returncode == 1 and "cluster profile" in refused.stderr, refused.stderr
    done = keys_rotate(edge_a, "--wait", "--key-file-is-shared")
    assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-2000:]
    assert f"{len(stored)} re-wrapped, 0 failed" in done.stdout, done.stdout
    outputs = {key: data for key, data in stored.items() if key.startswith("tasks/")}
    assert {key: b"".join(bucket.read(key)) for key in outputs} == outputs
    assert through(edge_a, videos["mp4"]) == mp4 == through(edge_b, videos["mp4"])


def keys_rotate(edge: RunningServer, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "strongroom",
            "keys",
            "rotate",
            *flags,
            "--data-dir",
            str(edge.data_dir),
        ],
        env=edge.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
