"""Account actions shared by the API, the console and the CLI (API keys: accounts/apikeys.py)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from strongroom.edge.accounts.models import Membership, Organization, Project, Role


class UnknownProject(Exception):
    """No project with that name."""


def ensure_project(organization: str, project: str) -> Project:
    org, _ = Organization.objects.get_or_create(name=organization)
    found, _ = Project.objects.get_or_create(organization=org, name=project)
    return found


def find_project(name: str, organization: str | None = None) -> Project:
    projects = Project.objects.filter(name=name)
    if organization:
        projects = projects.filter(organization__name=organization)
    found = list(projects[:2])
    if len(found) != 1:
        raise UnknownProject(name)
    return found[0]


def create_user(
    email: str,
    password: str,
    *,
    organization: str | None = None,
    role: Role = Role.OWNER,
    staff: bool = False,
) -> object:
    users = get_user_model()
    with transaction.atomic():
        user = users.objects.create_user(
            username=email, email=email, password=password, is_staff=staff, is_superuser=staff
        )
        if organization:
            org, _ = Organization.objects.get_or_create(name=organization)
            Membership.objects.create(organization=org, user=user, role=role)
    return user
