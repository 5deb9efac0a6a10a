from django.apps import AppConfig


class WorkergateConfig(AppConfig):
    name = "strongroom.edge.workergate"
    label = "workergate"
