"""Destinations: a task's outputs copied to a real S3 server (SeaweedFS on loopback) after the
worker's results are verified, with ACL, Cache-Control and content type; failures named
clearly; and the destination's key and secret found nowhere (database rows, status, logs)."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django import Settings

from strongroom.edge.jobs.models import DeliveryStatus, Destination, Output, Task
from strongroom.edge.jobs.services import destinations
from strongroom.edge.jobs.services.destinations_s3 import (
    PART_SIZE,
    CopyFailed,
    CopyRequest,
    S3Copier,
    destination_policy,
)
from strongroom.edge.jobs.tasks import deliver_destinations, resume_deliveries
from strongroom.media.destinations import DestinationCredentials, parse_s3_url
from tests.integration.edge.qencode_api import HLS_FORMAT, MP4_FORMAT, QencodeApi, query_text
from tests.integration.edge.signed_worker import SignedWorker, output_report
from tests.integration.edge.test_worker_flow import HLS_FILES, MP4_FILES
from tests.integration.storage.seaweed import SEAWEED, S3Server, free_ports, start, stop

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), SEAWEED]

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    weed = start(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield weed.server
    finally:
        stop(weed)


@pytest.fixture
def s3_port(s3: S3Server) -> int:
    return int(str(s3.settings.endpoint_url).rsplit(":", 1)[1])


@pytest.fixture
def allow_loopback(settings: Settings, s3_port: int) -> None:
    settings.DESTINATION_ALLOW_NETWORKS = ("127.0.0.0/8",)
    settings.DESTINATION_ALLOW_PORTS = (s3_port,)
    settings.DESTINATION_HTTP_NETWORKS = ("127.0.0.0/8",)


def creds(s3: S3Server) -> tuple[str, str]:
    return str(s3.settings.access_key_id), str(s3.settings.secret_access_key)


def formats(s3: S3Server, port: int, folder: str, secret: str | None = None) -> list[Any]:
    key, real_secret = creds(s3)
    base = f"s3://127.0.0.1:{port}/{s3.bucket}/{folder}"
    auth = {"key": key, "secret": secret or real_secret}
    mp4 = {
        **MP4_FORMAT,
        "destination": {
            "url": f"{base}/mp4/small.mp4",
            **auth,
            "permissions": "public-read",
            "cache_control": "max-age=60, public",
        },
    }
    hls = {
        **HLS_FORMAT,
        "destination": [
            {"url": f"{base}/hls/", **auth, "cache_control": "no-cache"},
            {"url": f"{base}/copy/", **auth},
        ],
    }
    return [mp4, hls]  # fmt: skip


def run_worker(edge_v1: QencodeApi, api_key: str, worker: SignedWorker, query: str) -> Task:
    token = edge_v1.new_task(api_key)
    edge_v1.start(token, query)
    grant = worker.claim_grant()
    for index, files in enumerate((MP4_FILES, HLS_FILES)):
        for path, data in files.items():
            assert worker.put_output(grant, index, path, data).status == 201
    reports = [
        output_report(0, "mp4", MP4_FILES, "video.mp4"),
        output_report(1, "advanced_hls", HLS_FILES, "playlist.m3u8"),
    ]
    assert worker.post_json(grant["complete_url"], {"outputs": reports}).status == 200
    return Task.objects.get(token=token)


def raw_rows() -> str:
    """Every row of every table, as the database returns it (no model decryption)."""
    texts: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            texts.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(texts)


def assert_secret_nowhere(secret_values: tuple[str, ...], *texts: str) -> None:
    for value in secret_values:
        for text in texts:
            assert value not in text


@pytest.mark.usefixtures("allow_loopback")
def test_outputs_are_copied_with_their_options_and_the_status_points_there(
    s3: S3Server, s3_port: int, edge_v1: QencodeApi, api_key: str, worker: SignedWorker,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    folder = "ok-" + secrets.token_hex(4)
    task = run_worker(edge_v1, api_key, worker, query_text(formats=formats(s3, s3_port, folder)))
    assert task.status == "saving"  # held until the copies are made
    before = raw_rows()

    deliver_destinations.call_local(task.pk)

    entry = edge_v1.status(task.token)[task.token]
    assert (entry["status"], entry["error"]) == ("completed", 0), entry
    mp4, hls = entry["videos"]
    assert mp4["url"] == f"http://127.0.0.1:{s3_port}/{s3.bucket}/{folder}/mp4/small.mp4"
    assert mp4["storage"] == {
        "type": "custom_s3", "format": "mp4", "bucket": s3.bucket, "host": "127.0.0.1",
        "key": f"{folder}/mp4/small.mp4", "scheme": "http", "port": s3_port}  # fmt: skip
    assert "/media/" in mp4["download_url"]  # our signed copy stays available
    assert hls["url"].endswith(f"/{folder}/hls/playlist.m3u8")

    client = s3.client()
    got = client.get_object(Bucket=s3.bucket, Key=f"{folder}/mp4/small.mp4")
    assert got["Body"].read() == MP4_FILES["video.mp4"]
    assert (got["ContentType"], got["CacheControl"]) == ("video/mp4", "max-age=60, public")
    grants = client.get_object_acl(Bucket=s3.bucket, Key=f"{folder}/mp4/small.mp4")["Grants"]
    assert any(g["Grantee"].get("URI") == ALL_USERS and g["Permission"] == "READ" for g in grants)
    for copy in ("hls", "copy"):
        for path, data in HLS_FILES.items():
            got = client.get_object(Bucket=s3.bucket, Key=f"{folder}/{copy}/{path}")
            assert got["Body"].read() == data
    playlist = client.head_object(Bucket=s3.bucket, Key=f"{folder}/hls/playlist.m3u8")
    assert playlist["ContentType"] == "application/vnd.apple.mpegurl"
    assert playlist["CacheControl"] == "no-cache"

    rows = Destination.objects.filter(task=task)
    assert {r.status for r in rows} == {DeliveryStatus.DELIVERED}
    assert all(r.access_key is None and r.secret_key is None for r in rows)  # erased once used
    logs = "\n".join(record.getMessage() for record in caplog.records)
    assert_secret_nowhere(creds(s3), before, raw_rows(), json.dumps(entry), logs)


@pytest.mark.usefixtures("allow_loopback")
def test_a_refusing_endpoint_fails_the_task_with_a_clear_error_and_no_secret(
    s3: S3Server, s3_port: int, edge_v1: QencodeApi, api_key: str, worker: SignedWorker,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-" + secrets.token_urlsafe(24)
    folder = "bad-" + secrets.token_hex(4)
    query = query_text(formats=formats(s3, s3_port, folder, secret=wrong))
    task = run_worker(edge_v1, api_key, worker, query)

    deliver_destinations.call_local(task.pk)  # the first attempt fails, a retry is queued
    task.refresh_from_db()
    assert task.status == "saving"
    first = Destination.objects.get(task=task, output_index=0)
    assert first.attempts == 1 and "access denied" in first.last_error

    deliver_destinations.call_local(task.pk, destinations.ATTEMPTS)  # the last attempt
    entry = edge_v1.status(task.token)[task.token]
    assert (entry["status"], entry["error"]) == ("error", 1)
    assert entry["error_description"] == (
        f"Output 0 could not be saved to its destination (bucket '{s3.bucket}', key "
        f"'{folder}/mp4/small.mp4': access denied, check the S3 credentials and policy "
        "(SignatureDoesNotMatch, HTTP 403))."
    )
    assert Destination.objects.filter(task=task, access_key__isnull=False).count() == 0
    logs = "\n".join(record.getMessage() for record in caplog.records)
    assert_secret_nowhere((*creds(s3), wrong), raw_rows(), json.dumps(entry), logs)


def test_a_loopback_endpoint_is_refused_unless_the_operator_allows_it(
    s3: S3Server, s3_port: int, edge_v1: QencodeApi, api_key: str, worker: SignedWorker,
    settings: Settings,
) -> None:  # fmt: skip
    settings.DESTINATION_ALLOW_PORTS = (s3_port,)  # the port is open, the network is not
    task = run_worker(edge_v1, api_key, worker, query_text(formats=formats(s3, s3_port, "x")))
    deliver_destinations.call_local(task.pk, destinations.ATTEMPTS)
    task.refresh_from_db()
    assert task.status == "error"
    assert task.error_description.endswith(
        "the URL points to an address that is not publicly routable)."
    )


@pytest.mark.usefixtures("allow_loopback")
def test_a_large_file_goes_up_in_parts(s3: S3Server, s3_port: int) -> None:
    key = f"big-{secrets.token_hex(4)}/file.mp4"
    location = parse_s3_url(f"s3://127.0.0.1:{s3_port}/{s3.bucket}/{key}")
    data = secrets.token_bytes(PART_SIZE + 1000)
    copier = S3Copier(
        location, DestinationCredentials(*creds(s3)), f"http://127.0.0.1:{s3_port}",
        destination_policy(),
    )  # fmt: skip
    copier.copy(CopyRequest(s3.bucket, key, iter([data[:7000], data[7000:]])))
    got = s3.client().get_object(Bucket=s3.bucket, Key=key)
    assert got["Body"].read() == data
    assert got["ETag"].strip('"').endswith("-2")  # a multipart upload of two parts


def test_an_endpoint_that_does_not_answer_is_named(s3: S3Server, settings: Settings) -> None:
    (port,) = free_ports(1)
    settings.DESTINATION_ALLOW_NETWORKS = ("127.0.0.0/8",)
    settings.DESTINATION_ALLOW_PORTS = (port,)
    location = parse_s3_url(f"s3://127.0.0.1:{port}/{s3.bucket}/k.mp4")
    copier = S3Copier(
        location, DestinationCredentials(*creds(s3)), f"http://127.0.0.1:{port}",
        destination_policy(),
    )  # fmt: skip
    with pytest.raises(CopyFailed) as caught:
        copier.copy(CopyRequest(s3.bucket, "k.mp4", iter([b"x"])))
    assert str(caught.value) == (
        f"bucket '{s3.bucket}', key 'k.mp4': could not connect to the URL's host"
    )


@pytest.mark.usefixtures("allow_loopback")
def test_a_copy_whose_job_was_lost_is_picked_up_again(
    s3: S3Server, s3_port: int, edge_v1: QencodeApi, api_key: str, worker: SignedWorker
) -> None:
    folder = "lost-" + secrets.token_hex(4)
    task = run_worker(edge_v1, api_key, worker, query_text(formats=formats(s3, s3_port, folder)))
    assert destinations.stalled_tasks() == []  # just queued: not stalled
    long_ago = timezone.now() - timedelta(seconds=destinations.STALLED_SECONDS + 60)
    Destination.objects.filter(task=task).update(updated_at=long_ago)
    assert destinations.stalled_tasks() == [task.pk]

    resume_deliveries.call_local()  # queues the copy again (run here by hand)
    deliver_destinations.call_local(task.pk)
    task.refresh_from_db()
    assert task.status == "completed" and destinations.stalled_tasks() == []


@pytest.mark.parametrize("url, endpoint, expected, kind", [
    ("s3://my-bucket/out/a.mp4", "https://s3.amazonaws.com",
     "https://my-bucket.s3.amazonaws.com/out/a.mp4", "amazon_s3"),
    ("s3://s3.eu-west-2.amazonaws.com/my.bucket/a/", "https://s3.eu-west-2.amazonaws.com",
     "https://s3.eu-west-2.amazonaws.com/my.bucket/a/video.mp4", "amazon_s3"),
    ("s3://minio.example.com:9000/media/x.mp4", "", "https://minio.example.com:9000/media/x.mp4",
     "custom_s3"),
])  # fmt: skip
def test_the_status_names_the_first_destination_as_qencode_does(
    url: str, endpoint: str, expected: str, kind: str
) -> None:
    output = Output(index=0, kind="mp4", main_file="video.mp4")
    second = Destination(url="s3://other-bucket/k.mp4")
    details = destinations.status_details([Destination(url=url, endpoint=endpoint), second], output)
    assert details is not None
    assert (details["url"], details["storage"]["type"]) == (expected, kind)
    assert destinations.status_details([], output) is None
