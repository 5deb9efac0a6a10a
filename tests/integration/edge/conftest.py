"""Fixtures for the edge's integration tests: a project with an API key, the v1 API through
Django's test client or through the whole ASGI app, enrolled workers, started tasks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from strongroom.edge.accounts.apikeys import Actor, create_api_key
from strongroom.edge.accounts.models import Project
from strongroom.edge.accounts.services import ensure_project
from strongroom.edge.audit.request_writer import flush_pending
from strongroom.edge.jobs.models import Task
from strongroom.edge.jobs.services import tasks as task_service
from strongroom.edge.jobs.services.workers import create_join_token
from tests.integration.edge.edge_client import EdgeClient
from tests.integration.edge.qencode_api import DjangoForms, QencodeApi, query_text
from tests.integration.edge.signed_worker import SignedWorker, enroll

OPERATOR = Actor.cli("tests")


@pytest.fixture(autouse=True)
def request_log_written() -> Iterator[None]:
    """A test's request-log records are stored before its tables are emptied (the background
    writer would otherwise add them to the next test, or hold PostgreSQL's test database open)."""
    yield
    flush_pending()


@pytest.fixture
def project(db: None) -> Project:
    return ensure_project("Acme", "Films")


@pytest.fixture
def other_project(db: None) -> Project:
    return ensure_project("Globex", "Ads")


@pytest.fixture
def api_key(project: Project) -> str:
    return create_api_key(project, name="tests", actor=OPERATOR)


@pytest.fixture
def person(db: None) -> Any:
    """A console user; keys they create stop when they are deactivated."""
    return get_user_model().objects.create_user(username="dev@example.com", password="x" * 16)


@pytest.fixture
def persons_key(project: Project, person: Any) -> str:
    return create_api_key(project, name="p", created_by=person, actor=Actor.user(person))


@pytest.fixture
def v1(client: Client) -> QencodeApi:
    """The v1 API through django.test.Client (no ASGI app: plain `django_db` tests)."""
    return QencodeApi(DjangoForms(client))


@pytest.fixture
def edge() -> EdgeClient:
    return EdgeClient()


@pytest.fixture
def edge_v1(edge: EdgeClient) -> QencodeApi:
    """The v1 API through the whole ASGI app (needs `django_db(transaction=True)`)."""
    return QencodeApi(edge)


@pytest.fixture
def worker(edge: EdgeClient, db: None) -> SignedWorker:
    return enroll(edge, create_join_token())


@pytest.fixture
def other_worker(edge: EdgeClient, db: None) -> SignedWorker:
    return enroll(edge, create_join_token())


@pytest.fixture
def start_task(project: Project) -> Callable[..., Task]:
    """Create and start a task of `project` through the services (setup, not under test)."""

    def make(query: str | None = None) -> Task:
        task = task_service.create_task(project)
        return task_service.start_task(task.token, query or query_text())

    return make
