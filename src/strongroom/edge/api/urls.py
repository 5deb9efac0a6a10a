from django.urls import path

from strongroom.edge.api import views
from strongroom.edge.api.native import api as native_api

urlpatterns = [
    path("v1/access_token", views.access_token),
    path("v1/create_task", views.create_task),
    path("v1/start_encode2", views.start_encode2),
    path("v1/status", views.status),
    path("api/v2/", native_api.urls),
]
