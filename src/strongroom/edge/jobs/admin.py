"""Jobs and workers in the admin, for looking around during support. Changes go through the
services (cancel, revoke) in the console and CLI, which keep the state machine and the audit
log right; so here everything is view only."""

from __future__ import annotations

from django.contrib import admin

from strongroom.edge.admin_views import ViewOnlyAdmin
from strongroom.edge.jobs.models import Task, Worker, WorkItem


@admin.register(Task)
class TaskAdmin(ViewOnlyAdmin):
    list_display = ("token", "project", "status", "percent", "created_at")
    list_filter = ("status",)
    search_fields = ("token", "project__name")
    exclude = ("spec", "payload")  # the query may carry destination credentials


@admin.register(Worker)
class WorkerAdmin(ViewOnlyAdmin):
    list_display = ("worker_id", "name", "labels", "version", "last_seen_at", "revoked_at")
    search_fields = ("worker_id", "name")
    exclude = ("public_key",)


@admin.register(WorkItem)
class WorkItemAdmin(ViewOnlyAdmin):
    list_display = ("pk", "task", "status", "attempts", "worker", "lease_expires_at")
    exclude = ("lease_id",)  # a lease id authorizes a worker's calls
    list_filter = ("status",)
