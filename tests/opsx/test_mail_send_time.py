"""The outbox asks again at send time whether a message may go, puts the one-click unsubscribe
headers on every message that must carry them, and sends a batch over few SMTP connections."""

import pytest
from aiosmtpd.controller import Controller

from accounts.models import User
from opsx import mail, suppression
from opsx.models import MailBatch, OutboundMessage, Suppression
from tests.conftest import _Inbox, body_of, free_port
from tests.factories import UserFactory

Category = OutboundMessage.Category
Status = OutboundMessage.Status
CONTEXT = {"client": {"name": "Acme"}, "inviter": "Alice", "url": "https://x/", "max_age_days": 7}


@pytest.fixture
def rules(monkeypatch):
    """A clean category registry for the test (the apps' own rules are put back after)."""
    registry = {}
    monkeypatch.setattr(mail, "_rules", registry)
    return registry


def _queue(to="friend@example.com", category=Category.SERVICE, **kwargs):
    return mail.queue(to=to, template="invitation", context=CONTEXT, category=category, **kwargs)


@pytest.mark.django_db
def test_unsubscribable_mail_needs_a_link(rules):
    with pytest.raises(LookupError):
        _queue()  # no link given and no builder registered
    with pytest.raises(ValueError):
        mail._record(
            to="x@example.com", subject="s", body_text="b", body_html="", category="newsletter"
        )
    message = _queue(category=Category.ACCOUNT)  # account mail carries none
    assert message.unsubscribe_url == ""


@pytest.mark.django_db
def test_one_click_headers_at_smtp(smtp_server, rules, django_capture_on_commit_callbacks):
    mail.register_category(
        Category.SERVICE, unsubscribe_url=lambda address: f"https://opsx.test/u/{address}/"
    )
    with django_capture_on_commit_callbacks(execute=True):
        _queue(to="friend@example.com")
        _queue(to="owner@example.com", category=Category.ACCOUNT)
    by_to = {m["To"]: m for m in smtp_server.messages}
    service = by_to["friend@example.com"]
    assert service["List-Unsubscribe"] == "<https://opsx.test/u/friend@example.com/>"
    assert service["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "List-Unsubscribe" not in by_to["owner@example.com"]
    sent = OutboundMessage.objects.get(to_email="friend@example.com")
    assert sent.status == Status.SENT and sent.unsubscribe_url == ""  # purged with the body


@pytest.mark.django_db
def test_opt_out_after_queueing_stops_the_message(
    smtp_server, rules, django_capture_on_commit_callbacks
):
    opted_out = set()
    mail.register_category(
        Category.SERVICE,
        may_send=lambda address: address not in opted_out,
        unsubscribe_url=lambda address: "https://opsx.test/u/",
    )
    with django_capture_on_commit_callbacks(execute=False):
        message = _queue(to="late@example.com")
    opted_out.add("late@example.com")  # changes mind before the worker gets to it
    assert mail.deliver(message.pk) is False
    message.refresh_from_db()
    assert message.status == Status.SUPPRESSED
    assert message.body_text == "" and message.unsubscribe_url == ""
    assert smtp_server.messages == []


@pytest.mark.django_db
def test_suppressed_address_gets_legal_and_account_mail_only(
    smtp_server, rules, django_capture_on_commit_callbacks
):
    mail.register_category(Category.SERVICE, unsubscribe_url=lambda a: "https://opsx.test/u/")
    mail.register_category(Category.REFERRAL, unsubscribe_url=lambda a: "https://opsx.test/r/")
    suppression.suppress(
        "Bounced@Example.com ", reason=Suppression.Reason.HARD_BOUNCE, scope=Suppression.Scope.ALL
    )
    suppression.suppress(
        "friend@example.com",
        reason=Suppression.Reason.REFERRAL_REMOVAL,
        scope=Suppression.Scope.REFERRAL,
    )
    with django_capture_on_commit_callbacks(execute=True):
        service = _queue(to="bounced@example.com")
        legal = _queue(to="bounced@example.com", category=Category.LEGAL)
        account = _queue(to="bounced@example.com", category=Category.ACCOUNT)
        referral = _queue(to="friend@example.com", category=Category.REFERRAL)
        friend_service = _queue(to="friend@example.com")
    status = dict(OutboundMessage.objects.values_list("pk", "status"))
    assert status[service.pk] == Status.SUPPRESSED
    assert status[referral.pk] == Status.SUPPRESSED
    assert status[legal.pk] == status[account.pk] == status[friend_service.pk] == Status.SENT
    assert len(smtp_server.messages) == 3
    # The list keeps no address, only its keyed hash.
    assert not Suppression.objects.filter(address_hash__icontains="example").exists()
    assert suppression.lift("bounced@example.com") == 1
    assert not suppression.is_suppressed("bounced@example.com", category=Category.SERVICE)


class _Sessions(_Inbox):
    """Counts the SMTP connections the messages came over (a connection: one peer port)."""

    def __init__(self):
        super().__init__()
        self.peers = set()

    async def handle_DATA(self, server, session, envelope):
        self.peers.add(session.peer)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp_sessions(settings):
    inbox = _Sessions()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield inbox
    controller.stop()


@pytest.mark.django_db
def test_batch_is_recorded_once_and_sent_over_one_connection(smtp_sessions, rules, settings):
    settings.MAIL_BATCH_SIZE = 50
    mail.register_category(
        Category.NEWSLETTER,
        may_send=lambda address: not address.startswith("gone"),
        unsubscribe_url=lambda address: f"https://opsx.test/n/{address}/?a=1&b=2",
    )
    UserFactory.create_batch(7)
    UserFactory(email="gone@example.com")
    emails = User.objects.values_list("email", flat=True)
    placeholder = MailBatch.UNSUBSCRIBE_PLACEHOLDER
    batch = mail.create_batch(
        category=Category.NEWSLETTER,
        subject="Issue\r\nBcc: x@evil.example",
        body_text=f"News.\nUnsubscribe: {placeholder}",
        body_html=f'<p>News.</p><a href="{placeholder}">Unsubscribe</a>',
    )
    assert batch.subject == "Issue Bcc: x@evil.example"  # one line: no header injection
    assert mail.batch_add_recipients(batch, emails) == 8
    assert mail.batch_add_recipients(batch, emails) == 0  # a resumed run repeats nobody
    UserFactory(email="late@example.com")
    assert mail.batch_add_recipients(batch, emails) == 1  # ...and skips nobody

    assert mail.deliver_batch(batch.pk) == (8, True, 0)
    assert mail.deliver_batch(batch.pk) == (0, False, 0)
    assert len(smtp_sessions.peers) == 1  # one connection for the whole chunk
    messages = {m["To"]: m for m in smtp_sessions.messages}
    assert "gone@example.com" not in messages
    text = body_of(messages["late@example.com"])
    assert "https://opsx.test/n/late@example.com/?a=1&b=2" in text
    html = messages["late@example.com"].get_body(preferencelist=("html",)).get_content()
    assert 'href="https://opsx.test/n/late@example.com/?a=1&amp;b=2"' in html
    assert messages["late@example.com"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.batch_progress(batch) == {
        "total": 9,
        "pending": 0,
        "sent": 8,
        "failed": 0,
        "suppressed": 1,
    }
    batch.refresh_from_db()
    assert batch.body_text == "" and batch.body_html == ""  # purged once nothing is pending


@pytest.mark.django_db
def test_batch_chains_take_different_rows(smtp_sessions, rules, settings):
    """Two chains claim disjoint chunks: nobody is sent twice."""
    settings.MAIL_BATCH_SIZE = 3
    mail.register_category(Category.NEWSLETTER, unsubscribe_url=lambda a: "https://opsx.test/n/")
    UserFactory.create_batch(6)
    batch = mail.create_batch(
        category=Category.NEWSLETTER,
        subject="Issue",
        body_text=MailBatch.UNSUBSCRIBE_PLACEHOLDER,
        body_html="",
    )
    mail.batch_add_recipients(batch, User.objects.values_list("email", flat=True))
    first, _ = mail._claim(batch, 3)
    second, _ = mail._claim(batch, 3)
    assert len(first) == len(second) == 3 and not set(first) & set(second)
    assert mail._claim(batch, 3)[0] == []  # all leased
    for message_id in first + second:
        mail.deliver(message_id, batch=batch)
    assert len(smtp_sessions.messages) == 6
    assert len({m["To"] for m in smtp_sessions.messages}) == 6


@pytest.mark.django_db
def test_periodic_task_resumes_only_a_batch_nobody_is_sending(rules, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    mail.register_category(Category.NEWSLETTER, unsubscribe_url=lambda a: "https://opsx.test/n/")
    UserFactory.create_batch(2)
    batch = mail.create_batch(
        category=Category.NEWSLETTER,
        subject="Issue",
        body_text=MailBatch.UNSUBSCRIBE_PLACEHOLDER,
        body_html="",
    )
    mail.batch_add_recipients(batch, User.objects.values_list("email", flat=True))
    started = []
    monkeypatch.setattr(mail, "_enqueue_batch", lambda batch_id, chains=1: started.append(batch_id))
    assert mail.resume_batches() == 1  # never started (its start was lost with the broker)
    mail._claim(batch, 1)  # a chain is at work: one row leased, one still due
    assert mail.resume_batches() == 0
    MailBatch.objects.filter(pk=batch.pk).update(
        heartbeat_at=timezone.now() - mail.BATCH_IDLE - timedelta(seconds=1)
    )
    assert mail.resume_batches() == 1  # that chain died
    assert started == [str(batch.pk), str(batch.pk)]


@pytest.mark.django_db
def test_a_chunk_that_cannot_reach_smtp_hands_its_rows_back(rules, settings, smtp_sessions):
    """SMTP down mid-batch: nothing sent twice, nothing left claimed until the lease's end."""
    from django.utils import timezone

    mail.register_category(Category.NEWSLETTER, unsubscribe_url=lambda a: "https://opsx.test/n/")
    UserFactory.create_batch(4)
    batch = mail.create_batch(
        category=Category.NEWSLETTER,
        subject="Issue",
        body_text=MailBatch.UNSUBSCRIBE_PLACEHOLDER,
        body_html="",
    )
    mail.batch_add_recipients(batch, User.objects.values_list("email", flat=True))
    settings.EMAIL_TIMEOUT = 2
    settings.EMAIL_PORT = free_port()  # nobody listens there
    run = mail.deliver_batch(batch.pk)
    assert run == (0, True, mail.BATCH_PAUSE.total_seconds())
    pending = OutboundMessage.objects.filter(batch=batch, status=Status.PENDING)
    assert pending.count() == 4 and not pending.filter(attempts__gt=0).exists()
    latest = timezone.now() + mail.BATCH_PAUSE
    assert not pending.filter(next_attempt_at__gt=latest).exists()  # not held for the lease
    pending.update(next_attempt_at=timezone.now())
    settings.EMAIL_PORT = smtp_sessions.port
    assert mail.deliver_batch(batch.pk).sent == 4
    assert len({m["To"] for m in smtp_sessions.messages}) == 4


@pytest.mark.django_db
def test_a_row_deliver_skipped_is_handed_back_not_dropped(rules, smtp_sessions, monkeypatch):
    """deliver() skips a row whose lock another chain's claim holds for an instant (it
    returns False without trying); the chunk hands that row back due at once, so the next chunk
    sends it instead of leaving it for the lease's end."""
    mail.register_category(Category.NEWSLETTER, unsubscribe_url=lambda a: "https://opsx.test/n/")
    UserFactory.create_batch(3)
    batch = mail.create_batch(
        category=Category.NEWSLETTER,
        subject="Issue",
        body_text=MailBatch.UNSUBSCRIBE_PLACEHOLDER,
        body_html="",
    )
    mail.batch_add_recipients(batch, User.objects.values_list("email", flat=True))
    skipped = OutboundMessage.objects.filter(batch=batch).order_by("pk").first()
    real_deliver = mail.deliver

    def deliver_skipping_one(message_id, **kwargs):
        return False if message_id == skipped.pk else real_deliver(message_id, **kwargs)

    monkeypatch.setattr(mail, "deliver", deliver_skipping_one)
    assert mail.deliver_batch(batch.pk).sent == 2
    skipped.refresh_from_db()
    assert skipped.status == Status.PENDING and skipped.attempts == 0
    monkeypatch.setattr(mail, "deliver", real_deliver)
    assert mail.deliver_batch(batch.pk).sent == 1  # due again at once, not in 15 minutes
    assert len({m["To"] for m in smtp_sessions.messages}) == 3
