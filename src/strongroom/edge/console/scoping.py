"""Objects a console page may touch: only those of the organization the user is working in.

Every lookup by id goes through here and filters on the current membership's organization, so an
id from another tenant is a 404 (the same answer as an id that does not exist: no oracle).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from strongroom.edge.accounts.apikeys import Actor
from strongroom.edge.accounts.models import ApiKey, Membership, Organization, Project
from strongroom.edge.console.access import current_membership
from strongroom.edge.jobs.models import Task


def membership(request: HttpRequest) -> Membership:
    found = current_membership(request)
    if found is None:
        raise PermissionDenied
    return found


def organization(request: HttpRequest) -> Organization:
    return membership(request).organization


def actor(request: HttpRequest) -> Actor:
    return Actor.user(request.user)


def projects(request: HttpRequest) -> QuerySet[Project]:
    return Project.objects.filter(organization=organization(request)).order_by("name")


def tasks(request: HttpRequest) -> QuerySet[Task]:
    return Task.objects.select_related("project").filter(
        project__organization=organization(request)
    )


def project(request: HttpRequest, project_id: int) -> Project:
    return get_object_or_404(projects(request), pk=project_id)


def task(request: HttpRequest, task_id: int) -> Task:
    return get_object_or_404(tasks(request), pk=task_id)


def api_key(request: HttpRequest, key_id: int) -> ApiKey:
    keys = ApiKey.objects.select_related("project", "created_by")
    return get_object_or_404(keys, pk=key_id, project__organization=organization(request))


def member(request: HttpRequest, membership_id: int) -> Membership:
    people = Membership.objects.select_related("user", "organization")
    return get_object_or_404(people, pk=membership_id, organization=organization(request))
