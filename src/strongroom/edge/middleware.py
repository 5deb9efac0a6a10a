"""Django middleware: request ids and per-user rate limits. (Body caps and per-address limits are
enforced before Django: see body_cap.py and ratelimit.py.)"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from strongroom.edge.ratelimit import over_limit

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = secrets.token_hex(8)  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-Id"] = request.request_id  # type: ignore[attr-defined]
        return response


class PerUserRateLimitMiddleware:
    """A signed-in person gets `RATE_LIMIT_USER` requests, whatever addresses they come from
    (the per-address limit runs earlier, in the ASGI layer)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and over_limit("user", f"user:{user.pk}"):
            response = HttpResponse(
                "Too many requests; slow down and retry in a minute.",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = "60"
            return response
        return self.get_response(request)
