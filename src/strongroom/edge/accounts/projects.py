"""Projects of an organization: creating one and rotating its webhook signing secret."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from strongroom.edge.accounts.apikeys import Actor
from strongroom.edge.accounts.models import Organization, Project, new_webhook_secret
from strongroom.edge.audit.services import record_event


class ProjectNameTaken(Exception):
    """The organization already has a project with that name."""


def create_project(organization: Organization, name: str, *, actor: Actor) -> Project:
    try:
        with transaction.atomic():
            project = Project.objects.create(organization=organization, name=name)
            _audit("project.create", actor, project, {"name": name})
    except IntegrityError:
        raise ProjectNameTaken(name) from None
    return project


def rotate_webhook_secret(project: Project, *, actor: Actor) -> str:
    """A fresh secret at once: receivers must switch; callbacks already sent keep the old one."""
    secret = new_webhook_secret()
    with transaction.atomic():
        # Through the instance: the column is encrypted per row on save(), never by update().
        locked = Project.objects.select_for_update().get(pk=project.pk)
        locked.webhook_secret = secret
        locked.save(update_fields=["webhook_secret"])
        _audit("project.webhook_secret_rotate", actor, locked, {})
    return secret


def _audit(action: str, actor: Actor, project: Project, details: dict[str, object]) -> None:
    record_event(
        action=action,
        actor_type=str(actor.type),
        actor=actor.name,
        target=f"project:{project.pk}",
        details=details,
        organization_id=project.organization_id,
    )
