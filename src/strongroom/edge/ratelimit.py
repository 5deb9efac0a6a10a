"""Rate limits per client address and route class, checked before a request reaches a handler.

The `limits` library does the counting (moving window). Its storage is in-process memory in the
embedded profile (one edge process) and is meant to be Redis in the cluster profile
(`STRONGROOM_RATE_LIMIT_STORAGE=redis://…`, shared by every edge). Over a limit: 429 with
Retry-After; Qencode routes also carry their envelope (error 8, "system busy").
"""

from __future__ import annotations

import json
import math
import time
from enum import StrEnum
from functools import lru_cache

from django.conf import settings
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from strongroom.edge.asgi_io import Scope, Send, send_response


class RouteClass(StrEnum):
    AUTH = "auth"  # credentials are checked: strict, against guessing
    API = "api"
    UPLOAD = "upload"
    WORKER = "worker"
    MEDIA = "media"
    OTHER = "other"


_PREFIXES = (
    ("/v1/access_token", RouteClass.AUTH),
    ("/internal/worker/enroll", RouteClass.AUTH),
    ("/security/report", RouteClass.AUTH),
    ("/console/login", RouteClass.AUTH),  # password and second-factor steps
    ("/console/reauth", RouteClass.AUTH),
    ("/console/signup", RouteClass.AUTH),
    ("/v1/upload_file/", RouteClass.UPLOAD),
    ("/v1/", RouteClass.API),
    ("/api/v2/", RouteClass.API),
    ("/internal/worker/", RouteClass.WORKER),
    ("/media/", RouteClass.MEDIA),
)


def route_class(path: str) -> RouteClass:
    return next((cls for prefix, cls in _PREFIXES if path.startswith(prefix)), RouteClass.OTHER)


@lru_cache(maxsize=1)
def _limiter() -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(storage_from_string(settings.RATE_LIMIT_STORAGE))


@lru_cache(maxsize=16)
def _item(text: str) -> RateLimitItem:
    return parse(text)


def retry_after(scope: Scope) -> int | None:
    """Seconds to wait if this request is over its limit (and count it), else None."""
    cls = route_class(scope["path"])
    item = _item(settings.RATE_LIMITS[cls.value])
    client = (scope.get("client") or ("unknown",))[0]
    if _limiter().hit(item, cls.value, client):
        return None
    reset = _limiter().get_window_stats(item, cls.value, client).reset_time
    return max(1, math.ceil(reset - time.time()))


def over_limit(rate_name: str, *identity: str) -> bool:
    """Count one event for `identity` under the named rate; True when it is over."""
    return not _limiter().hit(_item(settings.RATE_LIMITS[rate_name]), rate_name, *identity)


async def refuse(scope: Scope, send: Send, wait: int) -> None:
    message = f"Too many requests; retry after {wait} s"
    if scope["path"].startswith("/v1/"):
        body = {"error": 8, "message": message}  # Qencode's "system busy"
    else:
        body = {"error": "rate_limited", "detail": message}
    await send_response(
        send,
        429,
        json.dumps(body).encode(),
        {"content-type": "application/json", "retry-after": str(wait)},
    )
