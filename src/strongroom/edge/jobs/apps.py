from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "strongroom.edge.jobs"
    label = "jobs"
