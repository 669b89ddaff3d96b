"""Celery entry points of the privacy app: they take ids, load, and call a service."""

from celery import shared_task

# --- requests ---

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
