from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "strongroom.edge.accounts"
    label = "accounts"
