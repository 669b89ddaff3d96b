from django.apps import AppConfig


class ProspectsConfig(AppConfig):
    name = "prospects"

    def ready(self):
        from . import usage  # noqa: F401 (registers the daily usage figures of clients.usage)
