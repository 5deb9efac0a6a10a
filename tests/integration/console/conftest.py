"""Two tenants (Acme and Globex), a person per role, and clients signed in through the real
sign-in page over HTTPS (the console redirects plain HTTP, and its cookies are `__Host-`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from strongroom.edge.accounts.apikeys import Actor, create_api_key
from strongroom.edge.accounts.models import ApiKey, Membership, Organization, Project, Role
from strongroom.edge.accounts.services import create_user
from strongroom.edge.jobs.models import Output, Task
from strongroom.edge.jobs.services import tasks as task_service
from strongroom.edge.jobs.states import TaskStatus
from tests.integration.edge.qencode_api import query_text

PASSWORD = "correct horse battery staple 42"
HOST = "https://testserver"


class ConsoleClient(Client):
    """Every request over HTTPS, as a browser reaches the console."""

    def generic(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        kwargs["secure"] = True
        return super().generic(method, path, *args, **kwargs)


def sign_in(email: str, *, enforce_csrf: bool = False) -> ConsoleClient:
    client = ConsoleClient(HTTP_USER_AGENT="pytest-console/1.0", enforce_csrf_checks=enforce_csrf)
    if enforce_csrf:  # sign in with a lenient client, then carry its cookies over
        client.cookies = sign_in(email).cookies
        return client
    answer = client.post("/console/login", {"username": email, "password": PASSWORD})
    assert answer.status_code == 302, answer.content[:500]
    return client


@dataclass
class Tenant:
    organization: Organization
    project: Project
    people: dict[Role, Any]

    def email(self, role: Role) -> str:
        return str(self.people[role].email)

    def membership(self, role: Role) -> Membership:
        return Membership.objects.get(organization=self.organization, user=self.people[role])


def make_tenant(name: str, project: str, roles: tuple[Role, ...] = tuple(Role)) -> Tenant:
    people = {
        role: create_user(f"{role}@{name.lower()}.example", PASSWORD, organization=name, role=role)
        for role in roles
    }
    organization = Organization.objects.get(name=name)
    found = Project.objects.create(organization=organization, name=project)
    return Tenant(organization, found, people)


@pytest.fixture
def acme(db: None) -> Tenant:
    return make_tenant("Acme", "Films")


@pytest.fixture
def globex(db: None) -> Tenant:
    return make_tenant("Globex", "Ads", roles=(Role.OWNER,))


@pytest.fixture
def client_as(acme: Tenant) -> Callable[[Role], ConsoleClient]:
    return lambda role: sign_in(acme.email(role))


@pytest.fixture
def owner(client_as: Callable[[Role], ConsoleClient]) -> ConsoleClient:
    return client_as(Role.OWNER)


def started_task(project: Project, payload: str = "", formats: Any = None) -> Task:
    task = task_service.create_task(project)
    return task_service.start_task(task.token, query_text(formats=formats), payload)


def completed_task(project: Project, user_tag: str = "") -> Task:
    """A task as a worker leaves it: completed, with one stored mp4 output (setup, not tested)."""
    task = started_task(project)
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.COMPLETED, percent=100.0)
    Output.objects.filter(task=task).update(
        main_file="video.mp4",
        user_tag=user_tag,
        files=[{"path": "video.mp4", "size": 1000, "sha256": "0" * 64}],
        report={"prefix": f"tasks/{task.token}/a1/out0/", "width": 320, "height": 240},
    )
    task.refresh_from_db()
    return task


def api_key_of(project: Project, name: str = "ci") -> ApiKey:
    create_api_key(project, name=name, actor=Actor.cli("test"))
    return ApiKey.objects.filter(project=project).latest("pk")
