from django.apps import AppConfig


class OpsxConfig(AppConfig):
    name = "opsx"
    verbose_name = "OpsX platform"
