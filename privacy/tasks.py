"""Celery entry points of the privacy app: they take ids, load, and call a service."""

from celery import shared_task

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

# --- erasure and retention ---

# --- policy versions ---

# --- client closure ---
