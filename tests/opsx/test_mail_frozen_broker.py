"""A broker that is frozen (accepts connections, never answers) does not hold up a commit that
queued mail: the publish gives up within the broker timeouts and the periodic resend sends it."""

import os
import signal
import subprocess
import threading
import time

import pytest
import redis
from django.db import transaction

from opsx import mail
from opsx.celery import app as celery_app
from opsx.models import OutboundMessage
from tests.conftest import free_port

# Longer than the publish may take; without the timeouts the test would hang, so the guard
# thaws Redis after this many seconds and the test fails on the time instead.
GUARD_SECONDS = 10


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of our own, so that freezing it (SIGSTOP) stops nobody else's tests."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port, socket_timeout=1)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    try:
        yield process, port
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        process.wait(10)


def _use_broker(url):
    # The app caches its connection and producer pools (kombu keeps one per broker URL, and a
    # closed one stays closed): point it at the URL and let it pick that URL's pools.
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_at(private_redis):
    """Point Celery's producer at the private Redis for the test, with tasks really queued."""
    _, port = private_redis
    real_broker = celery_app.conf.broker_url
    _use_broker(f"redis://127.0.0.1:{port}/0")
    celery_app.conf.task_always_eager = False
    try:
        yield private_redis
    finally:
        celery_app.conf.task_always_eager = True
        private_pool = celery_app.pool
        _use_broker(real_broker)
        private_pool.force_close_all()


def _queue(to):
    return mail.queue(
        to=to,
        template="invitation",
        context={"client": {"name": "Acme"}, "inviter": "Alice", "url": "https://x/"},
        category=mail.Category.ACCOUNT,
    )


def _queue_while_frozen(process, to: str):
    """Queue a mail in a transaction with the broker stopped (SIGSTOP, resumed after at most
    GUARD_SECONDS whatever happens): the message, and the seconds the commit took."""
    os.kill(process.pid, signal.SIGSTOP)
    guard = threading.Timer(GUARD_SECONDS, os.kill, args=(process.pid, signal.SIGCONT))
    guard.start()
    try:
        started = time.monotonic()
        with transaction.atomic():
            message = _queue(to)
        return message, time.monotonic() - started
    finally:
        guard.cancel()
        os.kill(process.pid, signal.SIGCONT)


@pytest.mark.django_db(transaction=True)
def test_a_commit_that_queued_mail_returns_fast_while_redis_is_frozen(broker_at, smtp_server):
    process, port = broker_at
    with transaction.atomic():  # the broker answers: the publish works, the producer is warm
        _queue("before@example.com")
    assert redis.Redis(port=port).llen("celery") == 1  # really published

    message, elapsed = _queue_while_frozen(process, "frozen@example.com")

    assert elapsed < 3, f"the commit waited {elapsed:.1f}s for a frozen broker"
    assert OutboundMessage.objects.get(pk=message.pk).status == "pending"

    # No worker consumes this private Redis: the periodic resend delivers both, once each.
    assert mail.deliver_pending() == 2
    assert sorted(m["To"] for m in smtp_server.messages) == [
        "before@example.com",
        "frozen@example.com",
    ]
    assert OutboundMessage.objects.get(pk=message.pk).status == "sent"


@pytest.mark.django_db(transaction=True)
def test_a_first_publish_to_a_frozen_redis_gives_up_fast(broker_at, smtp_server):
    """No pooled connection yet: the TCP connect succeeds (the kernel accepts for a stopped
    process), the first command is never answered."""
    process, _ = broker_at
    message, elapsed = _queue_while_frozen(process, "cold@example.com")

    assert elapsed < 3, f"the commit waited {elapsed:.1f}s for a frozen broker"
    assert mail.deliver_pending() == 1
    assert [m["To"] for m in smtp_server.messages] == ["cold@example.com"]
    assert OutboundMessage.objects.get(pk=message.pk).status == "sent"
