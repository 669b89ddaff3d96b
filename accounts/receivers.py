"""allauth reports a verified email change and a confirmed address through its signals; the
services record them."""

from allauth.account.signals import email_changed, email_confirmed
from django.dispatch import receiver

from . import referrals, services


@receiver(email_changed)
def record_email_change(sender, request, user, from_email_address, to_email_address, **kwargs):
    if from_email_address is not None:
        services.user_record_email_change(
            user=user, old_email=from_email_address.email, new_email=to_email_address.email
        )


@receiver(email_confirmed)
def record_referral_sign_up(sender, request, email_address, **kwargs):
    """A sign-up counts for referrals once its address is confirmed (verification is
    mandatory), not at allauth's user_signed_up: an unproven address must not cancel a
    friend's reminder nor show "signed up" to the referrer."""
    referrals.referrals_signed_up(user=email_address.user, email=email_address.email)
