from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "clients"

    def ready(self):
        from . import checks  # noqa: F401 (registers the row-level security check)
