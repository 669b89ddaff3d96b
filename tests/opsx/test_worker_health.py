"""`manage.py worker_health` fails when no worker consumes or mail waits too long."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from opsx.models import OutboundMessage
from tests.workers import celery_worker


def _overdue_message(minutes):
    return OutboundMessage.objects.create(
        to_email="waiting@example.com",
        from_email="f@example.com",
        subject="s",
        body_text="b",
        category="account",
        next_attempt_at=timezone.now() - timedelta(minutes=minutes),
    )


@pytest.mark.django_db
def test_the_health_check_fails_when_no_worker_answers():
    with pytest.raises(CommandError, match="no Celery worker answered"):
        call_command("worker_health", "--timeout", "1")


@pytest.mark.worker
def test_the_health_check_passes_with_a_worker_and_fails_on_overdue_mail(
    transactional_db, tmp_path, capsys
):
    with celery_worker(tmp_path) as worker:
        call_command("worker_health", "--timeout", "5")
        assert "ok: workers celery@" in capsys.readouterr().out

        _overdue_message(minutes=2)  # due, but within the limit: beat has not run yet
        call_command("worker_health", "--timeout", "5", "--max-overdue", "10")

        _overdue_message(minutes=30)
        with pytest.raises(CommandError, match="oldest pending email is 30 minutes overdue"):
            call_command("worker_health", "--timeout", "5", "--max-overdue", "10")
        assert worker.process.poll() is None
