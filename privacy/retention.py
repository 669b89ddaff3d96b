"""Retention: a deactivated user's personal data is erased DEACTIVATED_USER_RETENTION_DAYS after
deactivation, unless they were reactivated (which clears deactivated_at). The client admin sees
the date in Admin tasks (accounts computes it from the same setting)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from clients import audit

from .erasure import ERASED_DOMAIN, hold_for, user_addresses, user_erase


def retention_apply(*, now=None) -> dict:
    """Erase every user deactivated more than the retention period ago (each in its own
    transaction, so one failure does not undo the others). A user under an active legal hold
    is anonymised once (the hold's rule) and then left alone until the hold is released.
    Records one RETENTION_APPLIED audit event with the counts."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.DEACTIVATED_USER_RETENTION_DAYS)
    due = User.objects.filter(is_active=False, deactivated_at__lte=cutoff).order_by("pk")
    counts = {"users_erased": 0, "users_held": 0}
    for user in list(due.only("pk", "email")):
        anonymised = user.email.endswith("@" + ERASED_DOMAIN)
        if hold_for(user, user_addresses(user)) is not None:
            if anonymised:
                continue  # already what the hold keeps
            user_erase(user=user, actor=None, reason="retention")
            counts["users_held"] += 1
            continue
        user_erase(user=user, actor=None, reason="retention")
        counts["users_erased"] += 1
    audit.record(actor=None, action=audit.Action.RETENTION_APPLIED, counts=counts)
    return counts
