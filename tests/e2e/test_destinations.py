"""Outputs delivered to an S3 bucket (SeaweedFS on loopback, allowlisted by the operator)
through a live edge and worker: a real job's mp4 and HLS land in the bucket and decode, carry
the ACL and Cache-Control asked for, the status points there, and a refusing endpoint fails the
task with a clear reason. The destination's key and secret appear nowhere: not in the status,
the server's log (request log included) or, on PostgreSQL, any database row."""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from strongroom.cli.qencode_client import QencodeApiError, QencodeClient
from strongroom.cli.transcode import playlist_uris
from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip
from tests.e2e.conftest import RunningServer
from tests.integration.storage.seaweed import SEAWEED, S3Server, start, stop

pytestmark = [SEAWEED]

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
SERVER_SETTINGS: dict[str, str] = {
    "STRONGROOM_RETRY_BACKOFF_SECONDS": "0",
    "STRONGROOM_DESTINATION_ALLOW_NETWORKS": "127.0.0.0/8",
    "STRONGROOM_DESTINATION_HTTP_NETWORKS": "127.0.0.0/8",
}


@pytest.fixture(scope="module", autouse=True)
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """Started before the edge, whose settings must name the server's port."""
    weed = start(tmp_path_factory.mktemp("seaweedfs"))
    SERVER_SETTINGS["STRONGROOM_DESTINATION_ALLOW_PORTS"] = str(weed.ports["-s3.port"])
    try:
        yield weed.server
    finally:
        stop(weed)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clip")
    return make_sample_clip(
        Runner(find_ffmpeg()), folder / "clip.mp4", seconds=2.0, width=426, height=240, fps=25
    )


@pytest.fixture(scope="module")
def client(server: RunningServer) -> Iterator[QencodeClient]:
    with QencodeClient(server.url, server.ca) as qencode:
        yield qencode


def endpoint(s3: S3Server) -> str:
    return str(s3.settings.endpoint_url).removeprefix("http://")


def formats(s3: S3Server, folder: str, secret: str | None = None) -> list[dict[str, Any]]:
    auth = {"key": s3.settings.access_key_id, "secret": secret or s3.settings.secret_access_key}
    base = f"s3://{endpoint(s3)}/{s3.bucket}/{folder}"
    return [
        {"output": "mp4", "resolution": 240, "destination": {
            "url": f"{base}/video.mp4", **auth, "permissions": "public-read",
            "cache_control": "max-age=3600, public"}},
        {"output": "advanced_hls", "segment_duration": 1,
         "stream": [{"resolution": 240, "bitrate": 300}, {"resolution": 144, "bitrate": 120}],
         "destination": [{"url": f"{base}/hls/", **auth}]},
    ]  # fmt: skip


def run(server: RunningServer, client: QencodeClient, clip: Path, query: list[Any]) -> Any:
    token = client.access_token(server.cli("apikey", "create", "--project", "destinations"))
    task_token, upload_url = client.create_task(token)
    source = client.upload(upload_url, task_token, clip)
    status_url = client.start_encode2(task_token, {"source": source, "format": query})
    return client.wait(status_url, task_token, lambda _: None, poll=0.5, timeout=300)


@pytest.fixture(scope="module")
def delivered(
    server: RunningServer, client: QencodeClient, clip: Path, s3: S3Server
) -> tuple[str, dict[str, Any]]:
    folder = "e2e-" + secrets.token_hex(4)
    return folder, run(server, client, clip, formats(s3, folder))


def test_the_status_points_at_the_bucket(
    delivered: tuple[str, dict[str, Any]], s3: S3Server
) -> None:
    folder, final = delivered
    assert (final["status"], final["error"]) == ("completed", 0), final
    mp4, hls = final["videos"]
    assert mp4["url"] == f"http://{endpoint(s3)}/{s3.bucket}/{folder}/video.mp4"
    assert hls["url"] == f"http://{endpoint(s3)}/{s3.bucket}/{folder}/hls/playlist.m3u8"
    assert (mp4["storage"]["type"], mp4["storage"]["key"]) == ("custom_s3", f"{folder}/video.mp4")
    assert hls["storage"]["format"] == "hls"


def test_the_mp4_decodes_and_has_its_acl_and_cache_control(
    delivered: tuple[str, dict[str, Any]], s3: S3Server
) -> None:
    folder, _ = delivered
    bucket_client = s3.client()
    got = bucket_client.get_object(Bucket=s3.bucket, Key=f"{folder}/video.mp4")
    assert (got["ContentType"], got["CacheControl"]) == ("video/mp4", "max-age=3600, public")
    with av.open(io.BytesIO(got["Body"].read()), mode="r") as container:
        frames = list(container.decode(container.streams.video[0]))
        assert frames and frames[0].height == 240
    grants = bucket_client.get_object_acl(Bucket=s3.bucket, Key=f"{folder}/video.mp4")["Grants"]
    assert any(g["Grantee"].get("URI") == ALL_USERS and g["Permission"] == "READ" for g in grants)


def test_every_hls_rendition_in_the_bucket_decodes(
    delivered: tuple[str, dict[str, Any]], s3: S3Server
) -> None:
    folder, _ = delivered
    bucket_client = s3.client()

    def fetch(key: str) -> bytes:
        got = bucket_client.get_object(Bucket=s3.bucket, Key=key)
        return bytes(got["Body"].read())

    base = f"{folder}/hls"
    master = bucket_client.get_object(Bucket=s3.bucket, Key=f"{base}/playlist.m3u8")
    assert master["ContentType"] == "application/vnd.apple.mpegurl"
    playlists = playlist_uris(master["Body"].read().decode())
    assert len(playlists) >= 2
    for playlist in playlists:
        folder_of = playlist.rsplit("/", 1)[0] if "/" in playlist else ""
        segments = playlist_uris(fetch(f"{base}/{playlist}").decode())
        prefix = f"{base}/{folder_of}/" if folder_of else f"{base}/"
        data = b"".join(fetch(prefix + segment) for segment in segments)
        with av.open(io.BytesIO(data), mode="r", format="mpegts") as container:
            stream = container.streams[0]
            assert list(container.decode(stream)), playlist


def test_a_refusing_endpoint_fails_the_task_clearly(
    server: RunningServer, client: QencodeClient, clip: Path, s3: S3Server
) -> None:
    folder = "e2e-bad-" + secrets.token_hex(4)
    wrong = "Wr0ng-" + secrets.token_urlsafe(24)
    final = run(server, client, clip, formats(s3, folder, secret=wrong))
    assert (final["status"], final["error"]) == ("error", 1), final
    assert final["error_description"] == (
        f"Output 0 could not be saved to its destination (bucket '{s3.bucket}', key "
        f"'{folder}/video.mp4': access denied, check the S3 credentials and policy "
        "(SignatureDoesNotMatch, HTTP 403))."
    )
    assert wrong not in str(final)


def test_a_bad_destination_is_refused_in_the_qencode_envelope_without_the_secret(
    server: RunningServer, client: QencodeClient, s3: S3Server
) -> None:
    token = client.access_token(server.cli("apikey", "create", "--project", "destinations"))
    task_token, _ = client.create_task(token)
    bad = formats(s3, "x")
    bad[0]["destination"]["url"] = f"s3://{s3.settings.access_key_id}:secret@host.example/b/k"
    with pytest.raises(QencodeApiError) as caught:
        client.start_encode2(task_token, {"source": "https://example.com/a.mp4", "format": bad})
    assert caught.value.code == 14
    assert str(s3.settings.access_key_id) not in caught.value.message
    assert "format[0].destination.url" in caught.value.message


def test_the_credentials_appear_in_no_log_and_no_database_row(
    delivered: tuple[str, dict[str, Any]], server: RunningServer, s3: S3Server
) -> None:
    del delivered  # the job ran (and a failing one too) before this looks
    values = [str(s3.settings.access_key_id), str(s3.settings.secret_access_key)]
    log = (server.data_dir.parent / "serve.log").read_text(errors="replace")
    assert "start_encode2" in log  # the request log is in there
    assert not [v for v in values if v in log]
    if server.env.get("DATABASE_URL", "").startswith("postgresql"):
        rows = postgres_rows(server.env["DATABASE_URL"])
        assert "destination" in rows  # the tables were read
        assert not [v for v in values if v in rows]


def postgres_rows(url: str) -> str:
    import psycopg  # only with DATABASE_URL
    from psycopg import sql

    texts: list[str] = []
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
        for (table,) in tables:
            query = sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))
            texts.extend(repr(row) for row in conn.execute(query).fetchall())
            texts.append(table)
    return "\n".join(texts)
