"""A comparable picture of everything the edge persists, to prove a refusal changed nothing."""

from __future__ import annotations

from typing import Any

from strongroom.edge.accounts.models import AccessToken, ApiKey
from strongroom.edge.jobs.models import (
    JoinToken,
    Output,
    StoredFile,
    Task,
    Upload,
    Worker,
    WorkItem,
)
from strongroom.edge.jobs.services.objects import object_store


def snapshot() -> dict[str, Any]:
    return {
        "tasks": list(
            Task.objects.order_by("pk").values_list(
                "token", "status", "percent", "payload", "spec", "error_description"
            )
        ),
        "outputs": list(Output.objects.order_by("pk").values_list("task_id", "index", "files")),
        "work_items": list(
            WorkItem.objects.order_by("pk").values_list(
                "status", "attempts", "lease_id", "lease_expires_at", "worker_id"
            )
        ),
        "uploads": list(Upload.objects.order_by("pk").values_list("uuid", "offset", "sha256")),
        "stored_files": StoredFile.objects.count(),
        "access_tokens": AccessToken.objects.count(),
        "api_keys": list(ApiKey.objects.order_by("pk").values_list("public_id", "revoked_at")),
        "workers": Worker.objects.count(),
        "join_tokens": list(JoinToken.objects.order_by("pk").values_list("used_at", flat=True)),
    }


def stored_keys(prefix: str) -> list[str]:
    """Object keys under `prefix` in the edge's (encrypting) object store."""
    return object_store().list(prefix)
