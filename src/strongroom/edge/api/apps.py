from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "strongroom.edge.api"
    label = "api"
