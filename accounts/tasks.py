"""Celery entry points of the accounts app: each calls one service."""

from celery import shared_task


@shared_task
def referral_reminders_send() -> int:
    """Every 15 minutes (beat): the one reminder of each referral due and still invited."""
    from .referrals import referral_reminders_send

    return referral_reminders_send()


@shared_task
def referrals_expire() -> int:
    """Daily (beat, 03:45): referrals past REFERRAL_RETENTION_DAYS are deleted."""
    from .referrals import referrals_expire

    return referrals_expire()
