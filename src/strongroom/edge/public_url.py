"""The edge's base URL for links it hands out (status_url, upload_url, grants, media, forms).

One rule everywhere: `STRONGROOM_PUBLIC_URL` when set (behind a proxy or load balancer), else
the scheme and host the client used.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def base_url(request: HttpRequest) -> str:
    return str(settings.PUBLIC_URL).rstrip("/") or f"{request.scheme}://{request.get_host()}"
