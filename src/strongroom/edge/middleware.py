"""Django middleware: request ids and body-size caps checked before a body is read."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = secrets.token_hex(8)  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-Id"] = request.request_id  # type: ignore[attr-defined]
        return response


class BodySizeLimitMiddleware:
    """Refuse a declared body above the route's cap before Django reads it into memory."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            declared = -1
        limit = (
            settings.QENCODE_QUERY_MAX_BYTES + 8192
            if request.path.startswith("/v1/")
            else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        )
        if declared < 0 or declared > limit:
            return _too_large(request, limit)
        return self.get_response(request)


def _too_large(request: HttpRequest, limit: int) -> HttpResponse:
    message = f"Request body must be at most {limit} bytes"
    if request.path.startswith("/v1/"):  # Qencode clients read the envelope, not the status
        return JsonResponse({"error": 14, "message": message})
    return JsonResponse({"error": "too_large", "detail": message}, status=413)
