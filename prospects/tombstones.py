"""Retention of the sync tombstones (prospects.SyncTombstone, written by triggers).

A phone whose last sync began more than PROSPECTS_TOMBSTONE_DAYS ago is told to pull
everything again (devices/sync.py), so older tombstones serve nobody. They are deleted a day
later than that: a tombstone carries the start time of the transaction that wrote it, and a
transaction running when a sync began may have started before it."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import SyncTombstone

BATCH = 5000  # rows per transaction: short locks, a crash loses at most one batch's work


def tombstones_expire(*, now=None) -> int:
    """Delete the tombstones past their retention, in batches of BATCH, each committed on its
    own. Unscoped (a beat sweep over every client). Returns how many went."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PROSPECTS_TOMBSTONE_DAYS + 1)
    deleted = 0
    while True:
        with transaction.atomic():
            pks = list(
                SyncTombstone.objects.filter(created_at__lt=cutoff)
                .order_by()
                .values_list("pk", flat=True)[:BATCH]
            )
            if not pks:
                return deleted
            deleted += SyncTombstone.objects.filter(pk__in=pks).delete()[0]
