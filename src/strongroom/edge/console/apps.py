from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "strongroom.edge.console"
    label = "console"
