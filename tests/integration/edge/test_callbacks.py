"""Task callbacks: Qencode's form body, Standard Webhooks signatures, SSRF guard, failures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.test import Client
from pytest_django import Settings

from strongroom.edge.jobs.models import Task
from strongroom.edge.jobs.services import callbacks
from tests.integration.edge.qencode_api import query_text

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


class Receiver:
    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(params=[200])
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    made = Receiver(request.param)
    yield made
    made.httpd.shutdown()
    made.httpd.server_close()


@pytest.fixture
def allow_loopback(settings: Settings, receiver: Receiver) -> None:
    settings.CALLBACK_ALLOW_NETWORKS = ("127.0.0.0/8",)
    settings.CALLBACK_ALLOW_PORTS = (receiver.httpd.server_address[1],)


def with_callback(start_task: Callable[..., Task], url: str) -> Task:
    query = json.loads(query_text())
    query["query"]["callback_url"] = url
    return start_task(json.dumps(query))


def expected_signature(secret: str, headers: dict[str, str], body: bytes) -> str:
    # Written from the Standard Webhooks spec, independently of the code under test.
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@pytest.mark.usefixtures("allow_loopback")
def test_a_callback_carries_qencodes_form_and_a_valid_signature(
    receiver: Receiver, start_task: Callable[..., Task]
) -> None:
    task = with_callback(start_task, receiver.url)

    assert callbacks.deliver(task.pk, callbacks.EVENT_SAVED).delivered

    headers, body = receiver.requests[0]
    form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    assert form["task_token"] == task.token and form["event"] == "saved"
    assert form["callback_type"] == "task"
    assert json.loads(form["status"])["status"] == "queued"
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["webhook-id"] == f"{task.token}-saved"
    assert headers["webhook-signature"] == expected_signature(
        task.project.webhook_secret, headers, body
    )


@pytest.mark.parametrize("receiver", [500], indirect=True)
@pytest.mark.usefixtures("allow_loopback")
def test_a_receiver_that_fails_costs_a_warning_not_the_task(
    receiver: Receiver, start_task: Callable[..., Task], client: Client
) -> None:
    task = with_callback(start_task, receiver.url)

    outcome = callbacks.deliver(task.pk, callbacks.EVENT_SAVED)
    assert not outcome.delivered and "HTTP 500" in outcome.detail
    callbacks.record_failure(task.pk, callbacks.EVENT_SAVED, outcome.detail)

    status = client.post("/v1/status", {"task_tokens": task.token}).json()["statuses"][task.token]
    assert status["error"] == 0
    assert status["warnings"][-1]["message"] == "Callback delivery error"
    assert "127.0.0.1" in status["warnings"][-1]["details"]


def test_a_callback_to_a_private_address_is_refused_before_connecting(
    receiver: Receiver, start_task: Callable[..., Task]
) -> None:
    task = with_callback(start_task, receiver.url)  # no allowlist: loopback is off limits

    outcome = callbacks.deliver(task.pk, callbacks.EVENT_QUEUED)

    assert not outcome.delivered and receiver.requests == []


def test_a_task_without_a_callback_url_sends_nothing(start_task: Callable[..., Task]) -> None:
    task = start_task()
    assert callbacks.deliver(task.pk, callbacks.EVENT_SAVED).delivered


def test_each_project_signs_with_its_own_secret(project: Any, other_project: Any) -> None:
    assert project.webhook_secret.startswith("whsec_")
    assert project.webhook_secret != other_project.webhook_secret
    assert len(base64.b64decode(project.webhook_secret[6:])) == 32
