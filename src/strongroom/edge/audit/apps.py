from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "strongroom.edge.audit"
    label = "audit"
