"""`GET /metrics`: Prometheus exposition, only for holders of the metrics token.

Disabled (404) until the operator sets `STRONGROOM_METRICS_TOKEN` (or `_FILE`); the token goes
in `Authorization: Bearer …` and is compared in constant time.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from strongroom.edge.audit.request_metrics import COLLECTORS as REQUEST_COLLECTORS
from strongroom.edge.jobs.metrics import JobsCollector

_REGISTRY = CollectorRegistry(auto_describe=False)
_REGISTRY.register(JobsCollector())
for _collector in REQUEST_COLLECTORS:  # request rates, latencies, dropped log records
    _REGISTRY.register(_collector)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse(status=404)
    supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(supplied.encode(), token.encode()):
        response = HttpResponse("metrics token required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_REGISTRY), content_type=CONTENT_TYPE_LATEST)
