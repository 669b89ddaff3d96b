"""Celery entry points of the privacy app: they take ids, load, and call a service."""

from celery import shared_task

from . import closure
from .models import ClientClosure

# --- requests ---


@shared_task
def privacy_requests_close_unconfirmed() -> int:
    """Daily (beat, 05:50): visitors' requests whose link expired unopened are closed."""
    from .services import requests_close_unconfirmed

    return requests_close_unconfirmed()


@shared_task
def privacy_requests_digest() -> int:
    """Daily (beat, 06:00): staff are mailed what is overdue and due within 7 days."""
    from .services import requests_digest_send

    return requests_digest_send()


# --- access archives ---


@shared_task(acks_late=True)
def privacy_archive_build(archive_id: int) -> str:
    """Build one access archive (idempotent: a built or failed one is left alone)."""
    from . import archive

    return archive.archive_run(archive_id)


@shared_task
def privacy_archives_expire() -> int:
    """Delete the archives past their expiry; enqueue again the builds that never ran."""
    from . import archive

    archive.archives_resume_stale()
    return archive.archive_expire()


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


@shared_task(acks_late=True)
def privacy_policy_notify(version_id: int) -> int:
    """Mail every active user the legal notice of a material policy change (resumable: the
    users already told are skipped)."""
    from .policies import policy_notify

    return policy_notify(version_id=version_id)


@shared_task
def privacy_policy_notify_pending() -> int:
    """Periodic: finish the notices a broker outage or a dead worker left unsent (policy
    changes first, then every notice sent lately)."""
    from .notices import notices_deliver_pending
    from .policies import policy_notify_pending

    return policy_notify_pending() + notices_deliver_pending()


# --- notices ---


@shared_task(acks_late=True)
def privacy_notice_deliver(notice_id: int) -> int:
    """Mail a sent notice to its audience in batches (resumable: the users already mailed are
    skipped, so a redelivered task mails nobody twice)."""
    from .notices import notice_deliver

    return notice_deliver(notice_id=notice_id)


# --- client closure ---


@shared_task(acks_late=True)
def privacy_closure_export(closure_id: int, actor_id: int | None = None) -> None:
    """Build a closing client's full export (a no-op unless it is being built)."""
    closure.closure_export_build(closure_id=closure_id, actor_id=actor_id)


@shared_task(acks_late=True)
def privacy_closure_delete(closure_id: int) -> None:
    """Delete a closed client's data and users, or go on where a run that died stopped."""
    found = ClientClosure.objects.filter(pk=closure_id).first()
    if found is not None:
        closure.closure_delete(closure=found)


@shared_task
def privacy_closures_due() -> dict:
    """Daily: start the deletion of every closure whose grace period is over, and take up
    again a deletion whose run died. Records what it started in the audit trail."""
    return closure.closures_start_due()


# --- newsletter ---


@shared_task
def newsletter_pending_expire() -> int:
    """Daily (beat, 04:45): sign-ups not confirmed within NEWSLETTER_CONFIRM_DAYS are deleted."""
    from . import newsletter

    return newsletter.newsletter_pending_expire()


@shared_task
def newsletter_issues_finish() -> int:
    """Every 5 minutes (beat): issues whose every message has ended are marked sent."""
    from . import newsletter

    return newsletter.issues_finish()
