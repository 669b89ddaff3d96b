from django.apps import AppConfig


class OpsxConfig(AppConfig):
    name = "opsx"
    verbose_name = "OpsX platform"

    def ready(self):
        from anymail.signals import tracking

        from . import mail_events

        # The providers' bounces and complaints (opsx.mail_webhooks routes their webhooks).
        tracking.connect(mail_events.on_tracking_event, dispatch_uid="opsx.mail_events")
