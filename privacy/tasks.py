"""Celery entry points of the privacy app: they take ids, load, and call a service."""

from celery import shared_task

# --- requests ---

# --- access archives ---

# --- erasure and retention ---

# --- policy versions ---


@shared_task(acks_late=True)
def privacy_policy_notify(version_id: int) -> int:
    """Mail every active user the legal notice of a material policy change (resumable: the
    users already told are skipped)."""
    from .policies import policy_notify

    return policy_notify(version_id=version_id)


@shared_task
def privacy_policy_notify_pending() -> int:
    """Periodic: finish the notices a broker outage or a dead worker left unsent."""
    from .policies import policy_notify_pending

    return policy_notify_pending()


# --- client closure ---
