from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class PrivacyConfig(AppConfig):
    name = "privacy"

    def ready(self):
        # Every app's personal_data.py joins the registry (opsx/personal_data.py) that the
        # access archive and erasure read.
        autodiscover_modules("personal_data")
