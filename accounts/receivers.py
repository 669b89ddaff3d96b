"""allauth reports a verified email change through its signal; the service records it."""

from allauth.account.signals import email_changed
from django.dispatch import receiver

from . import services


@receiver(email_changed)
def record_email_change(sender, request, user, from_email_address, to_email_address, **kwargs):
    if from_email_address is not None:
        services.user_record_email_change(
            user=user, old_email=from_email_address.email, new_email=to_email_address.email
        )
