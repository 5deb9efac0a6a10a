"""API-key scopes on every endpoint a key (or its access token, or its task) reaches.

A key missing the scope is refused and nothing changes: Qencode methods with their envelope
(HTTP 200, error 4 naming the scope), tus creation with 403, the native API with 403 in its own
error shape. Tasks made by the console or the CLI (no key) are not limited by any scope.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from strongroom.edge.accounts.apikeys import Actor, authenticate_api_key, create_api_key
from strongroom.edge.accounts.models import ApiKey, Project, Scope
from strongroom.edge.jobs.models import Task
from strongroom.edge.jobs.services import tasks as task_service
from strongroom.edge.jobs.states import TaskStatus
from tests.integration.edge.db_state import snapshot
from tests.integration.edge.edge_client import EdgeClient
from tests.integration.edge.qencode_api import QencodeApi, query_text, refused
from tests.integration.edge.tus_client import create

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

OPERATOR = Actor.cli("tests")
KeyMaker = Callable[..., str]


@pytest.fixture
def key_with(project: Project) -> KeyMaker:
    def make(*scopes: Scope) -> str:
        return create_api_key(project, name="scoped", scopes=list(scopes), actor=OPERATOR)

    return make


def without(scope: Scope) -> list[Scope]:
    return [s for s in Scope if s != scope]


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


# ------------------------------------------------------------------------ Qencode v1


def test_create_task_needs_tasks_write(v1: QencodeApi, key_with: KeyMaker) -> None:
    token = v1.session_token(key_with(*without(Scope.TASKS_WRITE)))

    message = refused(v1, "create_task", 4, token=token)

    assert "tasks:write" in message
    assert not Task.objects.exists()


def test_a_tasks_write_key_creates_a_task_that_remembers_it(
    v1: QencodeApi, key_with: KeyMaker
) -> None:
    text = key_with(Scope.TASKS_WRITE)

    task_token = v1.new_task(text)

    task = Task.objects.get(token=task_token)
    assert task.api_key == ApiKey.objects.get()
    v1.start(task_token)
    assert Task.objects.get().status == TaskStatus.QUEUED


def test_start_encode2_needs_tasks_write_on_the_tasks_key(
    v1: QencodeApi, key_with: KeyMaker
) -> None:
    task_token = v1.new_task(key_with(*Scope))
    ApiKey.objects.update(scopes=[str(Scope.TASKS_READ), str(Scope.UPLOADS)])  # narrowed later

    message = refused(v1, "start_encode2", 4, task_token=task_token, query=query_text())

    assert "tasks:write" in message
    assert Task.objects.get().status == TaskStatus.CREATED


def test_a_console_made_task_is_not_limited_by_scopes(v1: QencodeApi, project: Project) -> None:
    task = task_service.create_task(project)  # no key: the console or the CLI made it

    v1.start(task.token)

    assert Task.objects.get().status == TaskStatus.QUEUED


# ------------------------------------------------------------------------ tus


def keyed_task(project: Project, *scopes: Scope) -> Task:
    text = create_api_key(project, name="t", scopes=list(scopes), actor=OPERATOR)
    return task_service.create_task(project, api_key=authenticate_api_key(text))


@pytest.mark.django_db(transaction=True)
def test_tus_creation_needs_the_uploads_scope(edge: EdgeClient, project: Project) -> None:
    task = keyed_task(project, *without(Scope.UPLOADS))
    before = snapshot()

    response = create(edge, task.token, 1000)

    assert response.status_code == 403
    assert "uploads" in response.text
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scopes", [(Scope.UPLOADS,), ()])
def test_tus_creation_works_for_an_uploads_key_or_a_keyless_task(
    edge: EdgeClient, project: Project, scopes: tuple[Scope, ...]
) -> None:
    task = keyed_task(project, *scopes) if scopes else task_service.create_task(project)

    assert create(edge, task.token, 1000).status_code == 201


# ------------------------------------------------------------------------ native API


@pytest.fixture
def started(start_task: Callable[..., Task]) -> Task:
    return start_task()


def test_reading_a_task_needs_tasks_read(client: Client, key_with: KeyMaker, started: Task) -> None:
    answer = client.get(
        f"/api/v2/tasks/{started.token}", **bearer(key_with(*without(Scope.TASKS_READ)))
    )

    assert answer.status_code == 403
    assert "tasks:read" in answer.json()["detail"]
    ok = client.get(f"/api/v2/tasks/{started.token}", **bearer(key_with(Scope.TASKS_READ)))
    assert ok.status_code == 200


def test_the_scope_is_checked_before_the_task_is_looked_up(
    client: Client, key_with: KeyMaker
) -> None:
    answer = client.get(f"/api/v2/tasks/{'0' * 32}", **bearer(key_with(Scope.UPLOADS)))

    assert answer.status_code == 403


def test_cancelling_needs_tasks_write(client: Client, key_with: KeyMaker, started: Task) -> None:
    answer = client.post(
        f"/api/v2/tasks/{started.token}/cancel", **bearer(key_with(*without(Scope.TASKS_WRITE)))
    )

    assert answer.status_code == 403
    assert "tasks:write" in answer.json()["detail"]
    assert Task.objects.get(pk=started.pk).status == TaskStatus.QUEUED
    ok = client.post(f"/api/v2/tasks/{started.token}/cancel", **bearer(key_with(Scope.TASKS_WRITE)))
    assert ok.status_code == 200 and ok.json()["status"] == "cancelled"


def test_a_dead_key_is_unauthorised_on_the_native_api(
    client: Client, key_with: KeyMaker, started: Task
) -> None:
    text = key_with(*Scope)
    ApiKey.objects.update(revoked_at=started.created_at)

    assert client.get(f"/api/v2/tasks/{started.token}", **bearer(text)).status_code == 401
