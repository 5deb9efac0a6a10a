from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "strongroom.edge.accounts"
    label = "accounts"

    def ready(self) -> None:
        from strongroom.edge.accounts import signals  # noqa: F401, PLC0415  (registers receivers)
