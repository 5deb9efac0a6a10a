"""Schemathesis against the native API's own OpenAPI document: generated requests (valid and
not) must never get a 5xx, and every answer must match the documented status codes, content
types and schemas. Runs in-process through Django's WSGI handler on the test database."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from strongroom.edge.accounts.apikeys import Actor, create_api_key
from strongroom.edge.accounts.services import ensure_project
from strongroom.edge.jobs.services import tasks as task_service

pytestmark = pytest.mark.django_db
# Loading the document needs no database; the calls run inside each test's transaction.
schema = schemathesis.openapi.from_wsgi("/api/v2/openapi.json", WSGIHandler())


@pytest.fixture(autouse=True)
def keep_test_connection(db):
    # As Django's test client does: keep the test transaction's connection open across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db):
    project = ensure_project("Acme", "Films")
    task_service.create_task(project)  # something real for the generator to stumble on
    key = create_api_key(project, name="schemathesis", actor=Actor.cli("tests"))
    return {"Authorization": f"Bearer {key}"}


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_native_api_conforms_to_its_schema(case, bearer):
    case.headers = {**(case.headers or {}), **bearer}
    case.call_and_validate()


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_without_a_key_nothing_gets_through(case):
    response = case.call()
    # 401 for a missing/bad key; 405 for the unsupported methods schemathesis also tries.
    assert response.status_code in (401, 405)
