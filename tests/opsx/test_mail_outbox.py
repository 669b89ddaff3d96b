"""The outbox: recorded with the change, sent on commit, resent later, never twice."""

import threading
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone

from opsx import mail
from opsx.celery import app as celery_app
from opsx.models import OutboundMessage
from opsx.tasks import mail_send_pending
from tests.conftest import body_of, free_port


def _queue_test_mail(to="someone@example.com"):
    return mail.queue(
        to=to,
        template="invitation",
        context={
            "client": {"name": "Acme"},
            "inviter": "Alice",
            "url": "https://x/",
            "max_age_days": 7,
        },
        category=mail.Category.ACCOUNT,
    )


@pytest.mark.django_db
def test_message_is_recorded_pending_and_sent_only_after_commit(
    smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = _queue_test_mail()
    assert OutboundMessage.objects.get(pk=message.pk).status == "pending"
    assert smtp_server.messages == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 1

    callbacks[0]()

    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 1
    [received] = smtp_server.messages
    assert received["To"] == "someone@example.com"
    assert "Alice invited you to join Acme" in body_of(received)


@pytest.mark.django_db
def test_a_rolled_back_change_sends_nothing(smtp_server, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _queue_test_mail()
        raise RuntimeError("the change failed")
    assert OutboundMessage.objects.count() == 0
    assert smtp_server.messages == []


@pytest.mark.django_db
def test_smtp_failure_keeps_the_message_pending_and_the_periodic_task_sends_it_once(
    settings, smtp_server, django_capture_on_commit_callbacks
):
    settings.EMAIL_PORT = free_port()  # nobody listens there: SMTP is "down"
    with django_capture_on_commit_callbacks(execute=True):
        message = _queue_test_mail()
    message.refresh_from_db()
    assert message.status == "pending"
    assert message.attempts == 1
    assert "ConnectionRefusedError" in message.last_error
    assert message.next_attempt_at > timezone.now()  # backed off

    settings.EMAIL_PORT = smtp_server.port  # SMTP is back
    assert mail_send_pending.apply().get() == 0  # not due yet: the backoff is respected

    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert mail_send_pending.apply().get() == 1
    assert mail_send_pending.apply().get() == 0
    assert len(smtp_server.messages) == 1
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 2 and message.last_error == ""


@pytest.mark.django_db(transaction=True)
def test_broker_down_loses_nothing_and_the_periodic_task_sends_exactly_once(smtp_server):
    """The request that causes the mail succeeds with the broker unreachable; beat sends later."""
    celery_app.conf.task_always_eager = False
    real_broker = celery_app.conf.broker_url
    # A Redis that is not there. The app caches its pools and kombu keeps one per broker URL (a
    # closed one stays closed), so the test points the app at new pools and never closes the
    # real broker's: closing it broke every later test that publishes for real.
    celery_app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.task_publish_retry = False
    try:
        with transaction.atomic():
            message = _queue_test_mail()
        # committed, enqueue failed quietly, the row waits
        assert OutboundMessage.objects.get(pk=message.pk).status == "pending"
    finally:
        dead_pool = celery_app.pool
        celery_app.conf.broker_url = real_broker
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        dead_pool.force_close_all()
        celery_app.conf.task_publish_retry = True
        celery_app.conf.task_always_eager = True
    assert smtp_server.messages == []

    assert mail.deliver_pending() == 1
    assert mail.deliver_pending() == 0
    assert len(smtp_server.messages) == 1
    assert OutboundMessage.objects.get(pk=message.pk).status == "sent"


@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_at_once_send_a_message_once(smtp_server, monkeypatch):
    # The rows wait as after a broker outage (nothing handed to a worker on commit); then two
    # periodic runs race for them. (This test used to rely on an earlier test leaving Celery's
    # connection pool closed, which made the on-commit hand-over fail the same way.)
    monkeypatch.setattr(mail, "_enqueue", lambda message_id: None)
    messages = [_queue_test_mail(f"person{i}@example.com") for i in range(5)]
    barrier = threading.Barrier(2)
    sent_counts = []

    def worker():
        barrier.wait()
        try:
            sent_counts.append(mail.deliver_pending())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sum(sent_counts) == 5
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(m.to_email for m in messages)
    assert OutboundMessage.objects.filter(status="sent").count() == 5


@pytest.mark.django_db
def test_a_message_is_given_up_after_the_maximum_attempts(settings, smtp_server):
    settings.EMAIL_PORT = free_port()
    settings.MAIL_MAX_ATTEMPTS = 2
    message = _queue_test_mail()
    assert mail.deliver(message.pk) is False
    OutboundMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert mail.deliver_pending() == 0
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == 2
    assert mail.deliver_pending() == 0  # failed messages are not retried forever
