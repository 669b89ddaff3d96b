"""Celery entry points of the privacy app: they take ids, load, and call a service."""

from celery import shared_task

# --- requests ---

# --- access archives ---

# --- erasure and retention ---


@shared_task(acks_late=True)
def privacy_deletion_run(request_id: int, actor_id: int | None = None) -> str:
    """Run one approved deletion (or confirmed child-data report): deletion.deletion_run."""
    from accounts.models import User

    from . import deletion
    from .models import PrivacyRequest

    request = PrivacyRequest.objects.filter(pk=request_id).first()
    if request is None:
        return "skipped"
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    return deletion.deletion_run(request=request, actor=actor)


@shared_task
def privacy_deletions_due() -> dict:
    """Daily (beat, 03:00 UTC): the deletions whose waiting period has passed."""
    from . import deletion

    return deletion.deletions_due()


@shared_task
def privacy_retention() -> dict:
    """Daily (beat, 03:30 UTC): erase users deactivated longer than the retention period."""
    from . import retention

    return retention.retention_apply()


# --- policy versions ---

# --- client closure ---
