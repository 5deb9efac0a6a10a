from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.generic import RedirectView

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
    path("console/", include("strongroom.edge.console.urls")),
    path("", RedirectView.as_view(pattern_name="console:dashboard")),
]
if settings.ADMIN_PATH:
    urlpatterns.append(path(settings.ADMIN_PATH, admin.site.urls))
