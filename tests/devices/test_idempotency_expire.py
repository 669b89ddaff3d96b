"""The beat job that forgets the answers kept for Idempotency-Key retries."""

import datetime

import pytest
from django.utils import timezone

from devices import tasks
from devices.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


def _record(user, key, *, age_days):
    record = IdempotencyRecord.objects.create(
        client=user.client, user=user, key=key, fingerprint="f" * 64, status_code=201, body={}
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=age_days)
    )
    return record


def test_answers_older_than_the_setting_are_deleted_in_batches(personas, settings, monkeypatch):
    settings.API_IDEMPOTENCY_DAYS = 7
    monkeypatch.setattr(tasks, "EXPIRE_BATCH", 2)  # five old rows: three DELETEs
    for i in range(5):
        _record(personas.bob if i % 2 else personas.dan, f"old-{i}", age_days=8)
    kept = {
        _record(personas.bob, "recent", age_days=6).pk,
        _record(personas.dan, "new", age_days=0).pk,
    }
    assert tasks.idempotency_expire.apply().get() == 5
    assert set(IdempotencyRecord.objects.values_list("pk", flat=True)) == kept
    assert tasks.idempotency_expire.apply().get() == 0


def test_it_is_the_task_beat_runs(settings):
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "devices.tasks.idempotency_expire" in names
    assert tasks.idempotency_expire.name == "devices.tasks.idempotency_expire"
