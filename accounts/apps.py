from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from opsx import mail

        from . import receivers, referrals, usage  # noqa: F401  (receivers: allauth's signals)

        # Referral mail: asked again at send time, and its unsubscribe link is the friend's
        # "remove my information" link.
        mail.register_category(
            mail.Category.REFERRAL,
            may_send=referrals.may_send,
            unsubscribe_url=referrals.removal_url,
        )
