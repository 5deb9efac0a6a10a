"""The request log through the whole ASGI app: one record per request (streaming handlers too),
the actor each surface named, no secrets anywhere, stdout JSON lines and metrics."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Iterator

import pytest
from pytest_django import Settings

from strongroom.crypto.apikeys import parse_api_key
from strongroom.edge.accounts.models import Project
from strongroom.edge.audit.json_lines import JsonLineFormatter
from strongroom.edge.audit.models import ActorKind, RequestLog
from strongroom.edge.audit.request_writer import writer
from strongroom.edge.audit.requestlog import redact
from strongroom.edge.jobs.services import tasks as task_service
from strongroom.edge.jobs.services.grants import media_token
from strongroom.edge.jobs.services.objects import object_store
from tests.integration.edge.edge_client import EdgeClient
from tests.integration.edge.qencode_api import QencodeApi
from tests.integration.edge.signed_worker import SignedWorker
from tests.integration.edge.tus_client import create_upload, patch

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MEDIA = b"\x00\x00\x00\x18ftypmp42" + secrets.token_bytes(3000)


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the `strongroom.requests` logger writes, formatted as on stdout."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter())
    request_logger = logging.getLogger("strongroom.requests")
    request_logger.addHandler(handler)
    yield stream
    request_logger.removeHandler(handler)


def stored() -> list[RequestLog]:
    assert writer().flush(timeout=30)
    return list(RequestLog.objects.order_by("id"))


def media_url(secret_query: str = "") -> str:
    prefix = f"tasks/t{secrets.token_hex(4)}/out0/"
    object_store().put(prefix + "video.mp4", [MEDIA])
    return f"/media/{media_token(prefix)}/video.mp4{secret_query}"


def test_every_request_leaves_one_record_streaming_handlers_included(
    edge: EdgeClient, project: Project, log_output: io.StringIO
) -> None:
    task = task_service.create_task(project)
    location = create_upload(edge, task.token, 1000)
    patched = patch(edge, location, 0, b"x" * 600)
    media = edge.request("GET", media_url(), headers={"user-agent": "probe/1.0"})
    missing = edge.request("GET", "/no/such/page")

    rows = stored()

    assert [(r.method, r.route, r.status) for r in rows] == [
        ("POST", "stream:tus", 201),
        ("PATCH", "stream:tus", 204),
        ("GET", "stream:media", 200),
        ("GET", "unmatched", 404),
    ]
    tus_patch, media_get = rows[1], rows[2]
    assert (tus_patch.bytes_in, tus_patch.request_id) == (600, patched.headers["x-request-id"])
    assert (media_get.bytes_out, media_get.user_agent) == (len(MEDIA), "probe/1.0")
    assert media_get.path == "/media/<token>/video.mp4"
    assert tus_patch.path.startswith("/v1/upload_file/<task>/")
    assert rows[3].request_id == missing.headers["x-request-id"]
    assert all(r.address == "127.0.0.1" and r.duration_ms >= 0 for r in rows)
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == [r.request_id for r in rows]
    assert lines[2]["route"] == "stream:media"
    assert media.status_code == 200


def test_a_django_view_logs_its_url_pattern_and_django_request_id(
    edge: EdgeClient, edge_v1: QencodeApi, api_key: str
) -> None:
    edge_v1.session_token(api_key)
    response = edge.request("GET", "/healthz")

    rows = stored()

    assert [(r.route, r.status) for r in rows] == [("/v1/access_token", 200), ("/healthz", 200)]
    assert rows[1].request_id == response.headers["x-request-id"]
    assert len(response.headers.get_list("x-request-id")) == 1


def test_surfaces_name_the_actor(
    edge_v1: QencodeApi, api_key: str, project: Project, worker: SignedWorker
) -> None:
    RequestLog.objects.all().delete()  # the worker's enrollment is not under test
    token = edge_v1.session_token(api_key)
    edge_v1.ok("create_task", token=token)
    worker.claim(wait=0)

    rows = stored()

    parsed = parse_api_key(api_key)
    assert parsed is not None
    key_rows = [r for r in rows if r.route in {"/v1/access_token", "/v1/create_task"}]
    assert len(key_rows) == 2
    assert {(r.actor_kind, r.organization_id) for r in key_rows} == {
        (ActorKind.API_KEY, project.organization_id)
    }
    assert {r.actor_id for r in key_rows} == {parsed.public_id}
    claim = next(r for r in rows if r.route == "/internal/worker/claim")
    assert (claim.actor_kind, claim.actor_id) == (ActorKind.WORKER, worker.worker_id)


def test_no_secret_reaches_the_table_or_the_log_lines(
    edge: EdgeClient, edge_v1: QencodeApi, api_key: str, log_output: io.StringIO
) -> None:
    signature = secrets.token_hex(16)
    url = media_url(f"?signature={signature}&expires=1")
    media_secret = url.split("/")[2]
    bearer, cookie = secrets.token_hex(20), secrets.token_hex(20)
    assert edge.request("GET", url).status_code == 200
    session = edge_v1.session_token(api_key)
    edge.request(
        "GET",
        f"/api/v2/tasks/{secrets.token_hex(16)}?token={session}",
        headers={"authorization": f"Bearer {bearer}", "cookie": f"sessionid={cookie}"},
    )

    rows = stored()
    table = json.dumps(list(RequestLog.objects.values()), default=str)
    output = log_output.getvalue()

    assert len(rows) == 3
    for secret in (signature, media_secret, api_key, session, bearer, cookie):
        assert secret not in table
        assert secret not in output
    assert all("?" not in r.path for r in rows)


def test_metrics_count_requests_by_route_and_status_class(
    edge: EdgeClient, settings: Settings
) -> None:
    settings.METRICS_TOKEN = "metrics-token-" + secrets.token_hex(8)
    for _ in range(3):
        edge.request("GET", "/healthz")

    scrape = edge.request(
        "GET", "/metrics", headers={"authorization": f"Bearer {settings.METRICS_TOKEN}"}
    ).text

    assert 'strongroom_http_requests_total{route="/healthz",status_class="2xx"}' in scrape
    assert (
        'strongroom_http_request_duration_seconds_bucket{le="0.5",route="/healthz",status_class="2xx"}'
        in scrape
    )
    assert "strongroom_request_log_dropped_total" in scrape
    assert "/no/such" not in scrape


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("/media/eyJrIjoibWVkaWEifQ.c2lnbmF0dXJl/hls/chunk0.ts", "/media/<token>/hls/chunk0.ts"),
        (f"/v1/upload_file/{'a1' * 16}/{'b2' * 16}", "/v1/upload_file/<task>/<token>"),
        (f"/api/v2/tasks/{'0f' * 16}/cancel", "/api/v2/tasks/<token>/cancel"),
        ("/console/reset/MQ/c3s9xz-8a9f2b3c4d5e6f7a8b9c", "/console/reset/MQ/<token>"),
        ("/wp-login.php", "/wp-login.php"),
        (
            "/static/console/app-0123456789abcdef0123.js",
            "/static/console/app-0123456789abcdef0123.js",
        ),
        ("/internal/worker/claim", "/internal/worker/claim"),
    ],
)
def test_paths_keep_their_shape_but_lose_their_tokens(path: str, kept: str) -> None:
    assert redact(path) == kept
