"""The native JSON API (/api/v2): bearer API keys, per-project lookups, cancellation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from strongroom.edge.accounts.apikeys import Actor, create_api_key
from strongroom.edge.accounts.models import Project
from strongroom.edge.jobs.models import Task, WorkItem
from strongroom.edge.jobs.services.objects import object_store
from strongroom.edge.jobs.states import TaskStatus, WorkItemStatus
from tests.integration.edge.qencode_api import HLS_FORMAT, MP4_FORMAT, query_text
from tests.integration.edge.signed_worker import SignedWorker

OPERATOR = Actor.cli("tests")
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_it_shows_a_task_of_the_keys_project(
    client: Client, api_key: str, start_task: Callable[..., Task]
) -> None:
    task = start_task()
    answer = client.get(f"/api/v2/tasks/{task.token}", **bearer(api_key))
    assert answer.status_code == 200
    assert answer.json()["task_token"] == task.token and answer.json()["status"] == "queued"


def test_another_projects_task_is_not_found(
    client: Client, other_project: Project, start_task: Callable[..., Task]
) -> None:
    task = start_task()
    answer = client.get(
        f"/api/v2/tasks/{task.token}",
        **bearer(create_api_key(other_project, name="other", actor=OPERATOR)),
    )
    assert answer.status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer sr_live_nope"},
        {"HTTP_AUTHORIZATION": "Basic Zm9vOmJhcg=="},
    ],
)
def test_it_refuses_missing_or_bad_credentials(
    client: Client, headers: dict[str, str], start_task: Callable[..., Task]
) -> None:
    task = start_task()
    assert client.get(f"/api/v2/tasks/{task.token}", **headers).status_code == 401


def test_a_key_in_the_query_string_is_not_accepted(
    client: Client, api_key: str, start_task: Callable[..., Task]
) -> None:
    task = start_task()
    assert client.get(f"/api/v2/tasks/{task.token}?api_key={api_key}").status_code == 401


def test_cancelling_a_queued_task(
    client: Client, api_key: str, start_task: Callable[..., Task]
) -> None:
    task = start_task()
    answer = client.post(f"/api/v2/tasks/{task.token}/cancel", **bearer(api_key))
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    assert WorkItem.objects.get(task=task).status == WorkItemStatus.CANCELLED
    status = client.post("/v1/status", {"task_tokens": task.token}).json()["statuses"]
    assert status[task.token]["status"] == "cancelled"


def test_a_cancelled_lease_stops_the_worker_and_loses_its_files(
    client: Client,
    api_key: str,
    start_task: Callable[..., Task],
    worker: SignedWorker,
) -> None:
    task = start_task(query_text(formats=[MP4_FORMAT, HLS_FORMAT]))
    grant: dict[str, Any] = worker.claim_grant()
    assert worker.put_output(grant, 0, "video.mp4", b"partial").status == 201
    assert object_store().list(f"tasks/{task.token}")

    client.post(f"/api/v2/tasks/{task.token}/cancel", **bearer(api_key))

    assert (
        worker.post_json(grant["heartbeat_url"], {"stage": "encoding", "percent": 50}).status == 409
    )
    assert worker.put_output(grant, 0, "video.mp4", b"more").status == 409
    assert object_store().list(f"tasks/{task.token}") == []
    assert Task.objects.get(pk=task.pk).status == TaskStatus.CANCELLED


def test_a_finished_task_cannot_be_cancelled(
    client: Client, api_key: str, start_task: Callable[..., Task]
) -> None:
    task = start_task()
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.COMPLETED)
    answer = client.post(f"/api/v2/tasks/{task.token}/cancel", **bearer(api_key))
    assert answer.status_code == 409
    assert Task.objects.get(pk=task.pk).status == TaskStatus.COMPLETED


def test_the_openapi_document_describes_the_api(client: Client) -> None:
    document = client.get("/api/v2/openapi.json").json()
    assert "/api/v2/tasks/{task_token}/cancel" in document["paths"]
