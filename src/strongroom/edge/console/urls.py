"""The console's routes, mounted at /console/ (namespace "console").

Every view here is wrapped by `access.console_view`; tests/integration/console walks this
resolver and fails for a route that neither its cross-tenant tests nor its exemption list cover.
"""

from django.urls import include, path

from strongroom.edge.console.pages import (
    audit,
    dashboard,
    jobs,
    keys,
    logs,
    preview,
    projects,
    team,
    webhooks,
    workers,
)

app_name = "console"

urlpatterns = [
    path("", include("strongroom.edge.console.auth_urls")),
    path("", dashboard.dashboard, name="dashboard"),
    path("tasks/live", dashboard.live_tasks, name="live_tasks"),
    path("organization", dashboard.switch_org, name="switch_org"),
    path("projects", projects.project_list, name="projects"),
    path("projects/new", projects.project_create, name="project_create"),
    path("projects/<int:project_id>/delete", projects.project_delete, name="project_delete"),
    path("jobs/new", jobs.new_job, name="job_new"),
    path("jobs/upload-task", jobs.upload_task, name="job_upload_task"),
    path("jobs/<int:task_id>", jobs.job_detail, name="job_detail"),
    path("jobs/<int:task_id>/progress", jobs.job_progress, name="job_progress"),
    path("jobs/<int:task_id>/cancel", jobs.job_cancel, name="job_cancel"),
    path(
        "jobs/<int:task_id>/outputs/<int:index>/preview", preview.preview_page, name="job_preview"
    ),
    path("jobs/<int:task_id>/outputs/<int:index>/player", preview.player, name="job_player"),
    path("keys", keys.key_list, name="keys"),
    path("keys/new", keys.key_create, name="key_create"),
    path("keys/<int:key_id>/regenerate", keys.key_regenerate, name="key_regenerate"),
    path("keys/<int:key_id>/revoke", keys.key_revoke, name="key_revoke"),
    path("webhooks", webhooks.webhook_list, name="webhooks"),
    path(
        "projects/<int:project_id>/webhook/rotate", webhooks.webhook_rotate, name="webhook_rotate"
    ),
    path("projects/<int:project_id>/webhook/test", webhooks.webhook_test, name="webhook_test"),
    path("team", team.team, name="team"),
    path("team/invite", team.invite, name="team_invite"),
    path("team/<int:membership_id>/role", team.change_role, name="team_role"),
    path("team/<int:membership_id>/remove", team.remove, name="team_remove"),
    path("team/security", team.security, name="team_security"),
    path("invitations/accept", team.accept_invitation, name="invitation_accept"),
    path("workers", workers.worker_tokens, name="workers"),
    path("logs", logs.request_log, name="logs"),
    path("audit", audit.audit_log, name="audit"),
]
