"""The audit log in the admin: view only, for every operator role. Nobody edits or deletes an
event here (the database refuses it too, see audit/append_only.py)."""

from __future__ import annotations

from django.contrib import admin

from strongroom.edge.admin_views import ViewOnlyAdmin
from strongroom.edge.audit.models import AuditEvent, VulnerabilityReport


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdmin):
    list_display = ("seq", "created_at", "action", "actor_type", "actor", "target")
    list_filter = ("action", "actor_type")
    search_fields = ("action", "actor", "target")
    date_hierarchy = "created_at"


@admin.register(VulnerabilityReport)
class VulnerabilityReportAdmin(ViewOnlyAdmin):
    list_display = ("reference", "received_at", "summary")
    search_fields = ("reference", "summary")
