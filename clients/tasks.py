"""Celery entry points of the clients app: usage statistics."""

from datetime import UTC, datetime, timedelta

from celery import shared_task

from . import usage


@shared_task
def usage_flush() -> int:
    """Every USAGE_FLUSH_SECONDS (beat): counted requests into the day's usage rows."""
    return usage.usage_flush()


@shared_task
def usage_record_day(day: str | None = None) -> int:
    """Daily (beat, 00:15 UTC): every client's figures for the day that just ended, or for
    `day` (ISO date) when given."""
    when = (
        datetime.fromisoformat(day).date() if day else datetime.now(UTC).date() - timedelta(days=1)
    )
    return usage.usage_record_day(when)
