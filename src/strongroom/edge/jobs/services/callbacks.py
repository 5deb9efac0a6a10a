"""Task callbacks: Qencode's form body, signed with Standard Webhooks headers.

Body (application/x-www-form-urlencoded, reference §6): task_token, event (queued | saved |
error), status (the status object as JSON), payload, callback_type=task. Headers:
webhook-id (stable per task and event, so receivers can deduplicate retries),
webhook-timestamp, webhook-signature = "v1," + base64(HMAC-SHA256(secret, "id.ts.body")).
Delivery goes through the SSRF-safe client; a receiver that never answers 2xx costs the task
nothing but a `warnings[]` entry ("Callback delivery error").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import transaction

from strongroom.edge.jobs.models import Task
from strongroom.edge.jobs.qencode_status import status_object
from strongroom.outbound import FetchPolicy, OutboundError, post_form

logger = logging.getLogger(__name__)

EVENT_QUEUED, EVENT_SAVED, EVENT_ERROR = "queued", "saved", "error"
RETRY_DELAYS = (5, 30, 120, 600, 1800)  # seconds before attempts 2..6 (Standard Webhooks-like)
DELIVERY_ERROR = "Callback delivery error"


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    detail: str = ""  # why not, for the task's warning (host and status only: no secrets)


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks v1 signature of `body` under a `whsec_` secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def callback_request(
    task: Task, event: str, base_url: str, now: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The exact body and headers for one callback."""
    body = urlencode(
        {
            "task_token": task.token,
            "event": event,
            "callback_type": "task",
            "status": json.dumps(status_object(task, base_url), separators=(",", ":")),
            "payload": task.payload,
        }
    ).encode()
    message_id, timestamp = f"{task.token}-{event}", int(now if now is not None else time.time())
    return body, {
        "content-type": "application/x-www-form-urlencoded",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(task.project.webhook_secret, message_id, timestamp, body),
    }


def deliver(task_id: int, event: str) -> Delivery:
    """One delivery attempt; `delivered` also when there is nothing to deliver."""
    task = Task.objects.select_related("project").filter(pk=task_id).first()
    url = (task.spec or {}).get("callback_url") if task else None
    if task is None or not url:
        return Delivery(delivered=True)
    body, headers = callback_request(task, event, public_base_url())
    host = urlsplit(url).hostname or "?"
    try:
        status = post_form(url, body, headers, callback_policy())
    except OutboundError as exc:
        return Delivery(False, f"Error sending callback to {host}: {exc.reason}")
    if 200 <= status < 300:
        return Delivery(delivered=True)
    return Delivery(False, f"Error sending callback to {host}: HTTP {status}")


def record_failure(task_id: int, event: str, detail: str) -> None:
    """The last attempt failed: the task keeps its result and gains a warning."""
    with transaction.atomic():
        task = Task.objects.select_for_update().filter(pk=task_id).first()
        if task is None:
            return
        warning = {"message": DELIVERY_ERROR, "details": f"{detail} (event {event})", "tag": None}
        task.warnings = [*task.warnings, warning]
        task.save(update_fields=["warnings"])
    logger.warning("callback for task %s (%s) given up: %s", task.token, event, detail)


def callback_policy() -> FetchPolicy:
    return FetchPolicy(
        allow_networks=tuple(settings.CALLBACK_ALLOW_NETWORKS),
        allowed_ports=tuple(sorted({80, 443, *settings.CALLBACK_ALLOW_PORTS})),
        total_timeout=30.0,
        connect_timeout=5.0,
        max_redirects=0,
    )


def public_base_url() -> str:
    """The base for links inside callbacks: PUBLIC_URL, else the address `serve` recorded."""
    if settings.PUBLIC_URL:
        return str(settings.PUBLIC_URL).rstrip("/")
    try:
        return str(json.loads(settings.DATA.server_info.read_text())["url"])
    except (OSError, ValueError, KeyError):
        return ""
