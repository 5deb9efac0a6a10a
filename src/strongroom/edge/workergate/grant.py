"""The grant a claim returns: the job spec plus signed, single-purpose URLs for that lease only."""

from __future__ import annotations

from typing import Any

from strongroom.edge.jobs.services.grants import GrantPurpose, grant_token
from strongroom.edge.jobs.services.leases import Lease
from strongroom.edge.jobs.services.tasks import TUS_PREFIX, source_upload


def grant_payload(lease: Lease, base: str, heartbeat_seconds: int) -> dict[str, Any]:
    item, task = lease.item, lease.task
    lease_id = str(item.lease_id)
    root = f"{base}/internal/worker/leases/{lease_id}"

    def url(path: str, purpose: GrantPurpose) -> str:
        return f"{root}/{path}?grant={grant_token(lease_id, purpose)}"

    return {
        "lease_id": lease_id,
        "task_token": task.token,
        "attempt": item.attempts,
        "lease_expires_at": item.lease_expires_at.isoformat() if item.lease_expires_at else None,
        "heartbeat_seconds": heartbeat_seconds,
        "job": task.spec,
        "source": _source(task.spec["source"], url("source", GrantPurpose.SOURCE)),
        "output_base_url": url("outputs", GrantPurpose.OUTPUT),
        "heartbeat_url": url("heartbeat", GrantPurpose.HEARTBEAT),
        "complete_url": url("complete", GrantPurpose.COMPLETE),
        "fail_url": url("fail", GrantPurpose.FAIL),
    }


def _source(source: str, edge_url: str) -> dict[str, Any]:
    if not source.startswith(TUS_PREFIX):
        return {"url": source, "size": None, "sha256": None, "external": True}
    upload = source_upload(source)
    if upload is None:
        raise LookupError("the task's upload is gone")
    return {"url": edge_url, "size": upload.length, "sha256": upload.sha256, "external": False}
