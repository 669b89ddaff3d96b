"""The outbox's guarantees with the real parts: a Celery worker process, Redis, and an SMTP
server on loopback that can refuse.

test_mail_outbox.py proves them in-process (eager tasks, a broker URL nobody listens on) and
test_mail_frozen_broker.py that a frozen Redis does not hold up a commit. These go the rest of
the way: the worker's Redis really stops and comes back empty, SMTP answers 451 then accepts,
a 550 ends `failed` at once and staff see it, and a rolled-back message stays unsent while a real
worker and the periodic task are running. Every arrival is counted by Message-ID (`<pk@opsx>`):
"exactly once" means each recorded message's id reached the server's DATA accepted once.
"""

import re
import subprocess
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy

import pytest
import redis
from aiosmtpd.controller import Controller
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from opsx import mail
from opsx.celery import app as celery_app
from opsx.models import OutboundMessage
from opsx.tasks import mail_send_pending
from tests.conftest import free_port
from tests.workers import celery_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DEADLINE_SECONDS = 60


# --- an SMTP server that can refuse --------------------------------------------------------


@dataclass
class _Sink:
    """aiosmtpd handler: `refuse(message_id, tries_so_far)` returns an SMTP reply to refuse a
    DATA with, or None to accept it. Counts every DATA try and every acceptance by Message-ID."""

    refuse: object = None
    tries: Counter = field(default_factory=Counter)
    accepted: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.content, policy=email_policy.default)
        message_id = str(parsed["Message-ID"])
        with self.lock:
            tries = self.tries[message_id]
            self.tries[message_id] += 1
            reply = self.refuse(message_id, tries) if self.refuse else None
            if reply is None:
                self.accepted[message_id] += 1
                return "250 OK"
            return reply

    def snapshot(self) -> tuple[Counter, Counter]:
        with self.lock:
            return Counter(self.tries), Counter(self.accepted)


@pytest.fixture
def sink(settings):
    handler = _Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    handler.email_url = f"smtp://127.0.0.1:{controller.port}"
    yield handler
    controller.stop()


# --- a Redis of our own, to stop and start --------------------------------------------------


class PrivateRedis:
    """redis-server on a free port with the machine's flags (no persistence: a restart comes
    back empty, as a crashed broker without AOF does)."""

    def __init__(self, directory):
        self.port = free_port()
        self.directory = directory
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_timeout=1)
        _wait(lambda: _pings(client), "redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


@contextmanager
def _producer_on(url):
    """This process publishes to `url` (the app caches its pools per broker URL: point it at
    new ones and force the private pools closed afterwards, never the real broker's)."""
    real = celery_app.conf.broker_url
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    try:
        yield
    finally:
        private_pool = celery_app.pool
        celery_app.conf.broker_url = real
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        private_pool.force_close_all()


# --- helpers ---------------------------------------------------------------------------------


def _wait(predicate, what, worker=None, seconds=DEADLINE_SECONDS):
    deadline = time.monotonic() + seconds
    while not predicate():
        if worker is not None:
            assert worker.process.poll() is None, f"the worker stopped:\n{worker.output()}"
        assert time.monotonic() < deadline, what + (f"\n{worker.output()}" if worker else "")
        time.sleep(0.2)


def _queue(to):
    """One account mail (always sent: no preference or unsubscribe involved) in its own
    committed transaction, as a request would."""
    with transaction.atomic():
        return mail.queue(
            to=to,
            template="invitation",
            context={"client": {"name": "Acme"}, "inviter": "Alice", "url": "https://x/"},
            category=mail.Category.ACCOUNT,
        )


def _ids(messages) -> set[str]:
    return {f"<{m.pk}@opsx>" for m in messages}


def _statuses(messages) -> Counter:
    return Counter(
        OutboundMessage.objects.filter(pk__in=[m.pk for m in messages]).values_list(
            "status", flat=True
        )
    )


def _all_done(messages, status="sent"):
    return lambda: _statuses(messages) == Counter({status: len(messages)})


def _make_due(messages) -> None:
    """Time passes: the backoff after a failure (30 s, then 60 s...) is over."""
    OutboundMessage.objects.filter(
        pk__in=[m.pk for m in messages], status=OutboundMessage.Status.PENDING
    ).update(next_attempt_at=timezone.now())


_PERIODIC_DONE = re.compile(r"opsx\.tasks\.mail_send_pending\[[^\]]+\] succeeded")


def _periodic_runs(worker) -> int:
    return len(_PERIODIC_DONE.findall(worker.output()))


def _run_periodic_task(worker) -> None:
    """What beat does every minute: publish mail_send_pending; wait until the worker ran it."""
    before = _periodic_runs(worker)
    mail_send_pending.apply_async()
    _wait(lambda: _periodic_runs(worker) > before, "mail_send_pending did not run", worker)


# --- (a) Redis stops with messages queued ------------------------------------------------------


def test_messages_queued_while_redis_is_down_arrive_exactly_once_after_it_returns(sink, tmp_path):
    broker = PrivateRedis(tmp_path)
    broker.start()
    try:
        with (
            _producer_on(broker.url),
            celery_worker(tmp_path, CELERY_BROKER_URL=broker.url, EMAIL_URL=sink.email_url) as w,
        ):
            before = [_queue(f"before{i}@example.com") for i in range(3)]
            _wait(_all_done(before), "the first messages were not sent", w)

            broker.stop()  # with the worker connected to it
            during = [_queue(f"during{i}@example.com") for i in range(6)]
            # Every commit went through; the hand-over to the broker failed quietly.
            assert _statuses(during) == Counter({"pending": 6})
            assert all(
                m.attempts == 0
                for m in OutboundMessage.objects.filter(to_email__startswith="during")
            )

            broker.start()  # empty: nothing published before the stop survives either
            _wait(lambda: "Connected to" in w.output().split("Trying again")[-1],
                  "the worker did not reconnect", w)  # fmt: skip
            _run_periodic_task(w)
            _wait(_all_done(during), "the messages queued during the outage were not sent", w)
            _run_periodic_task(w)  # a second run finds nothing left to send

        assert mail.deliver_pending() == 0  # nor does one from here
        _, accepted = sink.snapshot()
        assert set(accepted) == _ids(before + during)
        assert set(accepted.values()) == {1}, accepted  # each exactly once
    finally:
        broker.stop()


def test_tasks_lost_with_a_restarted_redis_and_tasks_that_survive_each_send_once(sink, tmp_path):
    """No worker yet: three messages are handed to Redis, which restarts empty (no AOF) and
    loses them; two more are handed to the new Redis and wait there. Then a worker starts and
    the periodic task runs at once: the surviving tasks and the periodic run race for the two,
    the periodic run alone sends the three lost ones. Each arrives once."""
    broker = PrivateRedis(tmp_path)
    broker.start()
    celery_app.conf.task_always_eager = False  # handed to Redis, no worker yet (reset by conftest)
    try:
        with _producer_on(broker.url):
            lost = [_queue(f"lost{i}@example.com") for i in range(3)]
            assert redis.Redis(port=broker.port).llen("celery") == 3  # really handed over
            broker.stop()
            broker.start()
            assert redis.Redis(port=broker.port).llen("celery") == 0  # and gone
            waiting = [_queue(f"waiting{i}@example.com") for i in range(2)]
            assert redis.Redis(port=broker.port).llen("celery") == 2
            mail_send_pending.apply_async()  # beat's run, in the queue behind them
            with celery_worker(
                tmp_path, CELERY_BROKER_URL=broker.url, EMAIL_URL=sink.email_url, purge=False
            ) as w:
                _run_periodic_task(w)
                _wait(_all_done(lost + waiting), "not every message was sent", w)
                _run_periodic_task(w)
        _, accepted = sink.snapshot()
        assert set(accepted) == _ids(lost + waiting)
        assert set(accepted.values()) == {1}, accepted
    finally:
        broker.stop()


# --- (b) SMTP answers 451 first --------------------------------------------------------------


@pytest.fixture
def worker(sink, tmp_path):
    with celery_worker(tmp_path, EMAIL_URL=sink.email_url, MAIL_MAX_ATTEMPTS="3") as running:
        yield running


def test_temporary_smtp_failures_are_retried_and_each_message_arrives_once(sink, worker):
    sink.refuse = lambda message_id, tries: "451 4.3.0 Try again later" if tries < 2 else None
    messages = [_queue(f"person{i}@example.com") for i in range(4)]

    for attempt in (1, 2):
        _wait(
            lambda attempt=attempt: all(
                m.attempts >= attempt
                for m in OutboundMessage.objects.filter(pk__in=[m.pk for m in messages])
            ),
            f"attempt {attempt} was not recorded",
            worker,
        )
        assert "451" in OutboundMessage.objects.get(pk=messages[0].pk).last_error
        _make_due(messages)
        _run_periodic_task(worker)
    _wait(_all_done(messages), "the messages were not sent after the 451s", worker)

    tries, accepted = sink.snapshot()
    assert set(accepted) == _ids(messages) and set(accepted.values()) == {1}
    assert set(tries.values()) == {3}  # refused twice, accepted once
    for message in OutboundMessage.objects.filter(pk__in=[m.pk for m in messages]):
        assert message.attempts == 3 and message.last_error == "" and message.sent_at
    # The Celery retries the failures scheduled (30 s later) find nothing left to send; the
    # periodic task neither.
    assert mail.deliver_pending() == 0


# --- (c) SMTP answers 550: failed for good, and staff see it ------------------------------------


def test_a_permanent_refusal_ends_failed_at_once_and_staff_see_it(sink, worker, client, sam):
    """A 5xx reply is final: the message is failed on the first try, never retried."""
    sink.refuse = lambda message_id, tries: "550 5.1.1 No such user here"
    [message] = [_queue("nobody@example.com")]
    _wait(_all_done([message], "failed"), "the message did not end failed", worker)

    message.refresh_from_db()
    assert message.attempts == 1 and "550" in message.last_error
    assert message.body_text == message.body_html == "" and message.headers == {}  # purged
    tries, accepted = sink.snapshot()
    assert accepted == Counter() and tries[f"<{message.pk}@opsx>"] == 1

    _make_due([message])
    _run_periodic_task(worker)  # a failed message is never tried again
    assert sink.snapshot()[0][f"<{message.pk}@opsx>"] == 1

    client.force_login(sam)
    page = client.get(reverse("admin:opsx_outboundmessage_changelist"), {"status": "failed"})
    assert page.status_code == 200 and "nobody@example.com" in page.content.decode()
    page = client.get(reverse("admin:opsx_outboundmessage_change", args=[message.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "550" in html and "No such user here" in html


# --- (d) a rolled-back message is never sent ----------------------------------------------------


def test_a_message_queued_in_a_rolled_back_transaction_is_never_sent(sink, worker):
    with pytest.raises(RuntimeError), transaction.atomic():
        _queue("rolled.back@example.com")
        raise RuntimeError("the change failed")
    # A savepoint rolled back inside a transaction that commits: its message goes with it,
    # the outer transaction's own message is sent.
    with transaction.atomic():
        kept = mail.queue(
            to="kept@example.com",
            template="invitation",
            context={"client": {"name": "Acme"}, "inviter": "Alice", "url": "https://x/"},
            category=mail.Category.ACCOUNT,
        )
        with pytest.raises(RuntimeError), transaction.atomic():
            _queue("savepoint@example.com")
            raise RuntimeError("the inner change failed")
    _wait(_all_done([kept]), "the committed message was not sent", worker)
    _run_periodic_task(worker)

    _, accepted = sink.snapshot()
    assert set(accepted) == _ids([kept]) and set(accepted.values()) == {1}
    assert list(OutboundMessage.objects.values_list("to_email", flat=True)) == ["kept@example.com"]
