from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "strongroom.edge.jobs"
    label = "jobs"

    def ready(self) -> None:
        from strongroom.edge import checks  # noqa: F401, PLC0415  (registers the system checks)
