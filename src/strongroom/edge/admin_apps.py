"""The admin's app config: our admin site instead of Django's default, and the read-only support
group kept in step with the models after every migration. Imports no models at load time (app
configs are imported before models exist)."""

from __future__ import annotations

from typing import Any

from django.apps import apps as django_apps
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate

SUPPORT_GROUP = "support (read-only)"


def ensure_support_group(**_: Any) -> None:
    """The read-only support role: every `view_*` permission, nothing that changes data."""
    group_model = django_apps.get_model("auth", "Group")
    permission_model = django_apps.get_model("auth", "Permission")
    group, _ = group_model.objects.get_or_create(name=SUPPORT_GROUP)
    group.permissions.set(permission_model.objects.filter(codename__startswith="view_"))


class StrongroomAdminConfig(AdminConfig):
    default_site = "strongroom.edge.admin_site.StrongroomAdminSite"

    def ready(self) -> None:
        super().ready()
        post_migrate.connect(ensure_support_group, dispatch_uid="strongroom-support-group")
