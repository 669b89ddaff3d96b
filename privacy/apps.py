from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class PrivacyConfig(AppConfig):
    name = "privacy"

    def ready(self):
        # Every app's personal_data.py joins the registry (opsx/personal_data.py) that the
        # access archive and erasure read.
        autodiscover_modules("personal_data")

        from opsx import mail

        from . import newsletter, preferences

        # Service mail: asked at send time whether the user still wants it, and each message
        # carries the recipient's own one-click unsubscribe link.
        mail.register_category(
            mail.Category.SERVICE,
            may_send=preferences.service_mail_allowed,
            unsubscribe_url=preferences.service_unsubscribe_url,
        )
        # Newsletter mail: only to confirmed subscribers (asked at send time), each with their
        # own one-click unsubscribe link.
        mail.register_category(
            mail.Category.NEWSLETTER,
            may_send=newsletter.may_send,
            unsubscribe_url=newsletter.unsubscribe_url,
        )
