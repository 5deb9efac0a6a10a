from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from strongroom.edge.console import security
from strongroom.edge.metrics_view import metrics


def health(request: HttpRequest) -> JsonResponse:  # noqa: ARG001
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", include("strongroom.edge.api.urls")),
    path("", include("strongroom.edge.workergate.urls")),
    path("healthz", health),
    path("metrics", metrics),
    path(".well-known/security.txt", security.security_txt),
    path("security/policy", security.policy),
    path("security/report", security.report),
]
