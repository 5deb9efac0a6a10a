"""The Qencode v1 API (reference qencode-api.md §2, §3, §9): every refusal is the envelope
(HTTP 200, integer `error`, a message) and leaves the database exactly as it was."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from strongroom.crypto.apikeys import PREFIX, _checksum, generate_api_key, parse_api_key
from strongroom.edge.accounts.apikeys import Actor, revoke_api_key
from strongroom.edge.accounts.models import AccessToken, ApiKey, Project
from strongroom.edge.jobs.models import Output, Task, Upload, WorkItem
from strongroom.edge.jobs.services import tasks as task_service
from strongroom.edge.jobs.services.transitions import move_task
from strongroom.edge.jobs.states import TaskStatus
from tests.integration.edge.db_state import snapshot
from tests.integration.edge.edge_client import FORM, post_in_chunks
from tests.integration.edge.qencode_api import (
    EXTERNAL_SOURCE,
    HLS_FORMAT,
    MP4_FORMAT,
    DjangoForms,
    QencodeApi,
    query_text,
    refused,
)

HEX32 = re.compile(r"^[0-9a-f]{32}$")
UNKNOWN_TOKEN = "0" * 32

OPERATOR = Actor.cli("tests")
pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def wrong_secret(api_key: str) -> str:
    """A well-formed key (valid checksum) with the real key's public id and another secret."""
    parsed = parse_api_key(api_key)
    assert parsed is not None
    body = f"{PREFIX}{parsed.public_id}_{'A' * 32}"
    return body + _checksum(body)


def flipped_checksum(api_key: str) -> str:
    last = "a" if api_key[-1] != "a" else "b"
    return api_key[:-1] + last


def make_upload(task: Task, *, complete: bool = True) -> Upload:
    length = 1000
    return Upload.objects.create(
        task=task,
        uuid=f"{task.pk:032x}",
        length=length,
        offset=length if complete else length // 2,
        sha256="ab" * 32 if complete else "",
    )


# ------------------------------------------------------------------------ access_token


def test_it_requires_an_api_key(v1: QencodeApi) -> None:
    assert "api_key" in refused(v1, "access_token", 14)


@pytest.mark.parametrize("mangle", [lambda _key: "not-a-key", flipped_checksum, lambda k: k[:-1]])
def test_it_refuses_a_malformed_api_key(
    v1: QencodeApi, api_key: str, mangle: Callable[[str], str]
) -> None:
    refused(v1, "access_token", 2, api_key=mangle(api_key))


@pytest.mark.parametrize("make_key", [lambda _key: generate_api_key(), wrong_secret])
def test_it_refuses_an_unknown_api_key(
    v1: QencodeApi, api_key: str, make_key: Callable[[str], str]
) -> None:
    refused(v1, "access_token", 3, api_key=make_key(api_key))


def test_it_refuses_a_revoked_api_key(v1: QencodeApi, api_key: str) -> None:
    revoke_api_key(ApiKey.objects.get(), actor=OPERATOR)
    refused(v1, "access_token", 3, api_key=api_key)


def test_it_issues_an_access_token(v1: QencodeApi, api_key: str) -> None:
    data = v1.ok("access_token", api_key=api_key)

    assert HEX32.match(data["token"])
    expire = datetime.fromisoformat(data["expire"]).replace(tzinfo=UTC)
    expected = timezone.now() + timedelta(seconds=settings.ACCESS_TOKEN_SECONDS)
    assert abs(expire - expected) < timedelta(seconds=5)
    assert AccessToken.objects.count() == 1
    assert AccessToken.objects.get().digest != data["token"]  # stored hashed


# ------------------------------------------------------------------------ create_task


def test_it_requires_a_session_token(v1: QencodeApi) -> None:
    assert "token" in refused(v1, "create_task", 14)


@pytest.mark.parametrize("token", ["abc", "A" * 32, "0" * 33, "g" * 32])
def test_it_refuses_a_malformed_session_token(v1: QencodeApi, token: str) -> None:
    refused(v1, "create_task", 4, token=token)


def test_it_answers_token_not_found_for_an_unknown_token(v1: QencodeApi) -> None:
    assert refused(v1, "create_task", 5, token=UNKNOWN_TOKEN) == "Token not found"


def test_it_answers_token_not_found_for_an_expired_token(v1: QencodeApi, api_key: str) -> None:
    token = v1.session_token(api_key)
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert refused(v1, "create_task", 5, token=token) == "Token not found"


@pytest.mark.parametrize("revoke", ["service", "flag_only"])
def test_it_refuses_a_token_of_a_revoked_key(v1: QencodeApi, api_key: str, revoke: str) -> None:
    token = v1.session_token(api_key)
    if revoke == "service":
        revoke_api_key(ApiKey.objects.get(), actor=OPERATOR)
    else:  # even if a token row survived, a revoked key's tokens are dead
        ApiKey.objects.update(revoked_at=timezone.now())

    assert refused(v1, "create_task", 5, token=token) == "Token not found"


def test_it_creates_a_task(v1: QencodeApi, api_key: str, project: Project) -> None:
    data = v1.ok("create_task", token=v1.session_token(api_key))

    assert HEX32.match(data["task_token"])
    assert data["upload_url"] == "http://testserver/v1/upload_file"
    task = Task.objects.get()
    assert (task.token, task.project, task.status) == (data["task_token"], project, "created")


# ------------------------------------------------------------------------ start_encode2


@pytest.fixture
def task_token(v1: QencodeApi, api_key: str) -> str:
    return v1.new_task(api_key)


def test_it_refuses_to_start_an_unknown_task(v1: QencodeApi, task_token: str) -> None:
    refused(v1, "start_encode2", 5, task_token=UNKNOWN_TOKEN, query=query_text())


def test_it_requires_a_task_token_and_a_query(v1: QencodeApi, task_token: str) -> None:
    assert "task_token" in refused(v1, "start_encode2", 14, query=query_text())
    assert "query" in refused(v1, "start_encode2", 14, task_token=task_token)


@pytest.mark.parametrize("query", ["{not json", "[]", '"text"', '{"query": 1}', "NaN"])
def test_it_refuses_a_malformed_query(v1: QencodeApi, task_token: str, query: str) -> None:
    assert "query" in refused(v1, "start_encode2", 14, task_token=task_token, query=query)


def test_it_refuses_an_unwrapped_query(v1: QencodeApi, task_token: str) -> None:
    inner = json.dumps({"source": EXTERNAL_SOURCE, "format": [MP4_FORMAT]})
    message = refused(v1, "start_encode2", 19, task_token=task_token, query=inner)
    assert message == "query field is required"


def test_it_refuses_an_unknown_output_type(v1: QencodeApi, task_token: str) -> None:
    query = query_text(formats=[MP4_FORMAT, {"output": "mkv"}])
    message = refused(v1, "start_encode2", 14, task_token=task_token, query=query)
    assert "format[1].output" in message


def test_it_names_an_output_type_it_does_not_support_yet(v1: QencodeApi, task_token: str) -> None:
    query = query_text(formats=[{"output": "speech_to_text"}])
    message = refused(v1, "start_encode2", 14, task_token=task_token, query=query)
    assert "speech_to_text" in message


@pytest.mark.parametrize(
    ("query", "name"),
    [
        (
            json.dumps({"query": {"source": EXTERNAL_SOURCE, "format": [MP4_FORMAT], "colour": 1}}),
            "colour",
        ),
        (query_text(formats=[{**MP4_FORMAT, "sparkle": "1"}]), "sparkle"),
        (
            json.dumps({"query": {"source": EXTERNAL_SOURCE, "format": [MP4_FORMAT]}, "extra": 1}),
            "extra",
        ),
    ],
)
def test_it_refuses_an_unknown_field(
    v1: QencodeApi, task_token: str, query: str, name: str
) -> None:
    assert name in refused(v1, "start_encode2", 14, task_token=task_token, query=query)


def test_it_requires_a_source(v1: QencodeApi, task_token: str) -> None:
    query = json.dumps({"query": {"format": [MP4_FORMAT]}})
    assert "source" in refused(v1, "start_encode2", 14, task_token=task_token, query=query)


@pytest.mark.parametrize("problem", ["unknown", "incomplete", "other_project"])
def test_it_refuses_an_unusable_tus_source(
    v1: QencodeApi, task_token: str, other_project: Project, problem: str
) -> None:
    owner = (
        Task.objects.get()
        if problem != "other_project"
        else Task.objects.create(project=other_project, token="1" * 32)
    )
    upload = make_upload(owner, complete=problem != "incomplete")
    uuid = "f" * 32 if problem == "unknown" else upload.uuid
    query = query_text(source=f"tus:{uuid}")

    assert "source" in refused(v1, "start_encode2", 14, task_token=task_token, query=query)


def test_it_refuses_a_payload_over_1000_characters(v1: QencodeApi, task_token: str) -> None:
    refused(v1, "start_encode2", 9, task_token=task_token, query=query_text(), payload="x" * 1001)


def test_it_keeps_a_payload_of_1000_characters(v1: QencodeApi, task_token: str) -> None:
    v1.ok("start_encode2", task_token=task_token, query=query_text(), payload="é" * 1000)

    assert v1.status(task_token)[task_token]["payload"] == "é" * 1000


def test_it_refuses_to_start_a_task_twice(v1: QencodeApi, task_token: str) -> None:
    v1.start(task_token)

    message = refused(
        v1, "start_encode2", 14, task_token=task_token, query=query_text(formats=[HLS_FORMAT])
    )
    assert "already" in message
    assert WorkItem.objects.count() == 1
    assert list(Output.objects.values_list("kind", flat=True)) == ["mp4"]


@pytest.mark.parametrize("state", [TaskStatus.QUEUED, TaskStatus.DOWNLOADING])
def test_a_second_start_changes_nothing(api_key: str, task_token: str, state: TaskStatus) -> None:
    client = Client(raise_request_exception=False)
    QencodeApi(DjangoForms(client)).start(task_token)
    move_task(Task.objects.get().pk, state)
    before = snapshot()
    body = urlencode({"task_token": task_token, "query": query_text(formats=[HLS_FORMAT])})

    response = client.post("/v1/start_encode2", body, content_type=FORM)

    assert snapshot() == before
    assert response.status_code in {200, 500}  # 500 today: test_it_refuses_to_start_a_task_twice


def test_it_queues_a_started_task(v1: QencodeApi, task_token: str) -> None:
    data = v1.start(task_token, query_text(formats=[MP4_FORMAT, HLS_FORMAT]))

    assert data["status_url"] == "http://testserver/v1/status"
    task = Task.objects.get()
    assert task.status == TaskStatus.QUEUED
    assert task.spec is not None and task.spec["source"] == EXTERNAL_SOURCE
    item = WorkItem.objects.get()
    assert (item.task, item.status, item.attempts, item.lease_id) == (task, "queued", 0, None)
    outputs = list(task.outputs.values_list("index", "kind", "user_tag"))
    assert outputs == [(0, "mp4", "small"), (1, "advanced_hls", "")]
    assert v1.status(task_token)[task_token]["status"] == "queued"


def test_it_accepts_numbers_given_as_strings(v1: QencodeApi, task_token: str) -> None:
    mp4 = {
        "output": "mp4",
        "resolution": "240",
        "bitrate": "300",
        "framerate": "25",
        "audio_bitrate": "64",
        "start_time": "0.5",
        "duration": "10",
    }
    hls = {"output": "advanced_hls", "segment_duration": "4", "stream": [{"size": "320x240"}]}

    v1.start(task_token, query_text(formats=[mp4, hls]))

    outputs = Task.objects.get().spec["outputs"]
    assert outputs[0]["renditions"][0]["bitrate"] == 300
    assert outputs[0]["start_time"] == 0.5
    assert outputs[1]["segment_duration"] == 4


def test_it_starts_a_task_from_its_projects_finished_upload(
    v1: QencodeApi, task_token: str
) -> None:
    upload = make_upload(Task.objects.get())

    v1.start(task_token, query_text(source=f"tus:{upload.uuid}"))

    task = Task.objects.get()
    assert (task.status, task.source_size) == ("queued", upload.length)


# ------------------------------------------------------------------------ status


def status_body(form: str, tokens: list[str]) -> dict[str, object]:
    if form == "single":
        return {"task_tokens": tokens[0]}
    if form == "repeated":
        return {"task_tokens[]": tokens}
    if form == "comma":
        return {"task_tokens": ", ".join(tokens)}
    return {"task_tokens": tokens[0], "task_tokens[]": tokens[1:], "token": "ignored"}


@pytest.mark.parametrize("form", ["single", "repeated", "comma", "mixed"])
def test_it_reads_task_tokens_in_every_form_clients_send(
    v1: QencodeApi, api_key: str, form: str
) -> None:
    tokens = [v1.new_task(api_key) for _ in range(2 if form != "single" else 1)]

    statuses = v1.ok("status", **status_body(form, tokens))["statuses"]

    assert list(statuses) == tokens
    assert all(statuses[t]["status"] == "created" for t in tokens)


@pytest.mark.parametrize(
    "tokens", [["xyz"], ["a" * 32, "A" * 32], ["a" * 31], [" , "], [UNKNOWN_TOKEN] * 101]
)
def test_it_refuses_malformed_task_tokens(v1: QencodeApi, tokens: list[str]) -> None:
    refused(v1, "status", 13, task_tokens=",".join(tokens))


def test_it_requires_task_tokens(v1: QencodeApi) -> None:
    refused(v1, "status", 13)


def test_it_answers_null_for_an_unknown_task_token(v1: QencodeApi, task_token: str) -> None:
    assert v1.status(UNKNOWN_TOKEN, task_token)[UNKNOWN_TOKEN] is None


def test_it_has_an_entry_for_every_issued_token(
    v1: QencodeApi, api_key: str, start_task: Callable[..., Task]
) -> None:
    created = v1.new_task(api_key)
    queued = start_task().token
    failed = start_task()
    move_task(failed.pk, TaskStatus.ERROR, error_description="The source could not be read.")

    statuses = v1.status(created, queued, failed.token)

    for token in (created, queued, failed.token):
        entry = statuses[token]
        assert type(entry["error"]) is int and isinstance(entry["status"], str), entry
        assert isinstance(entry["percent"], int | float)
        assert entry["status_url"] == "http://testserver/v1/status"
        assert entry["videos"] == [] and entry["audios"] == []
    assert [statuses[t]["status"] for t in (created, queued)] == ["created", "queued"]
    assert statuses[failed.token]["error"] == 1
    assert statuses[failed.token]["status"] == "error"
    assert statuses[failed.token]["error_description"] == "The source could not be read."


@pytest.mark.django_db(transaction=True)
def test_it_answers_status_at_a_double_slash_through_the_asgi_app(
    edge_v1: QencodeApi, api_key: str
) -> None:
    token = edge_v1.new_task(api_key)

    status, data = edge_v1.poster.post_form("https://testserver//v1/status", {"task_tokens": token})

    assert status == 200
    assert data["error"] == 0
    assert data["statuses"][token]["status"] == "created"


# ------------------------------------------------------------------------ transport


@pytest.mark.parametrize("method", ["access_token", "create_task", "start_encode2", "status"])
def test_it_answers_405_to_a_get(client: Client, method: str) -> None:
    response = client.get(f"/v1/{method}")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert type(response.json()["error"]) is int and response.json()["error"] > 0


@pytest.mark.django_db(transaction=True)
def test_it_answers_an_over_cap_body_with_an_envelope_error_through_the_asgi_app() -> None:
    limit = settings.QENCODE_QUERY_MAX_BYTES + 8192
    chunk = b"x" * 4096
    count = limit // len(chunk) + 8
    headers = {"content-type": FORM, "content-length": str(len(chunk) * count)}

    exchange = post_in_chunks("/v1/status", headers, chunk, count)

    assert exchange.status == 200
    assert json.loads(exchange.body)["error"] == 14


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_declared_over_cap_body_before_reading_it() -> None:
    chunk = b"x" * 65536
    count = 64  # 4 MiB declared and sent, the /v1/ cap is 136 KiB
    headers = {"content-type": FORM, "content-length": str(len(chunk) * count)}

    exchange = post_in_chunks("/v1/status", headers, chunk, count)

    assert json.loads(exchange.body)["error"] == 14
    assert exchange.chunks_read <= 1


def test_it_answers_an_over_long_query_with_an_envelope_error(
    v1: QencodeApi, task_token: str
) -> None:
    query = json.dumps(
        {
            "query": {"source": EXTERNAL_SOURCE, "format": [MP4_FORMAT]},
            "pad": "x" * settings.QENCODE_QUERY_MAX_BYTES,
        }
    )
    assert "too long" in refused(v1, "start_encode2", 14, task_token=task_token, query=query)


def test_it_answers_too_many_form_fields_with_an_envelope_error(client: Client) -> None:
    body = urlencode({"task_tokens[]": [UNKNOWN_TOKEN] * 250}, doseq=True)

    response = client.post("/v1/status", body, content_type=FORM)

    assert response.status_code == 200
    assert response.json()["error"] == 13


def test_start_task_service_writes_nothing_on_a_refusal(project: Project) -> None:
    task = task_service.create_task(project)
    before = snapshot()

    with pytest.raises(task_service.SourceUnavailable):
        task_service.start_task(task.token, query_text(source="tus:" + "e" * 32))

    assert snapshot() == before
