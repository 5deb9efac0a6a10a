"""A test delivery of a project's webhook, and the deliveries that failed.

The test sends a real callback shape (form body, Standard Webhooks signature under the project's
secret) with `event=test`, through the same SSRF-safe client and policy as task callbacks, so a
receiver that accepts the test accepts the real thing.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from strongroom.edge.accounts.models import Project
from strongroom.edge.jobs.models import Task
from strongroom.edge.jobs.services.callbacks import (
    DELIVERY_ERROR,
    Delivery,
    callback_policy,
    signature,
)
from strongroom.outbound import OutboundError, post_form

EVENT_TEST = "test"


@dataclass(frozen=True)
class FailedDelivery:
    task_id: int
    task_token: str
    created_at: datetime
    details: str


def send_test_delivery(project: Project, url: str) -> Delivery:
    message_id = f"test-{secrets.token_hex(8)}"
    timestamp = int(time.time())
    body = urlencode(
        {
            "task_token": "",
            "event": EVENT_TEST,
            "callback_type": "task",
            "status": json.dumps({"status": EVENT_TEST, "project": project.name}),
            "payload": "",
        }
    ).encode()
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(project.webhook_secret, message_id, timestamp, body),
    }
    host = urlsplit(url).hostname or "?"
    try:
        status = post_form(url, body, headers, callback_policy())
    except OutboundError as exc:
        return Delivery(False, f"Error sending callback to {host}: {exc.reason}")
    if 200 <= status < 300:
        return Delivery(True, f"{host} answered HTTP {status}")
    return Delivery(False, f"Error sending callback to {host}: HTTP {status}")


def failed_deliveries(project: Project, limit: int = 50) -> list[FailedDelivery]:
    """Callbacks given up after every retry: the tasks keep them as `warnings[]` entries."""
    found: list[FailedDelivery] = []
    # Recent tasks only: a log to look at, not a search (the request log is the search).
    for task in Task.objects.filter(project=project).order_by("-created_at")[: limit * 4]:
        found.extend(
            FailedDelivery(task.pk, task.token, task.created_at, str(w.get("details") or ""))
            for w in task.warnings
            if isinstance(w, dict) and w.get("message") == DELIVERY_ERROR
        )
    return found[:limit]
