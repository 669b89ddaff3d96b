"""The one way OpsX sends email.

A caller asks for a message by template name inside its own transaction; this module records
an OutboundMessage row there and schedules delivery on commit. Delivery takes the row under
`select_for_update(skip_locked=True)`, so two workers never send the same message twice.
Templates come in a trio: `emails/<name>-subject.txt`, `emails/<name>-body.txt` and
`emails/<name>-body.html` (optional). The `.txt` ones render without HTML escaping (the "text"
template engine), the `.html` one with it.

A body is personal data and may carry a secret link (password reset, invitation): once a
message is sent or has failed for good its body and headers are emptied in the transaction that
records the outcome, and a pending message with a secret link expires with the link.

Every message but a legal notice or account mail carries its recipient's own unsubscribe link,
in the body and in the one-click `List-Unsubscribe` headers (RFC 8058). Whether it may still go
is asked again at send time, under the row's lock: the suppression list (opsx.suppression) and
the check the category's app registered (`register_category`), so an opt-out or a bounce
recorded after the message was queued still stops it.

Bulk mail (a newsletter issue) is a MailBatch: the body is stored once, each recipient is a row
inserted by one INSERT ... SELECT, and Celery sends the rows in chunks over one SMTP connection
each (`start_batch`).
"""

import contextlib
import logging
import re
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.template.exceptions import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape

from . import suppression
from .models import MailBatch, OutboundMessage

logger = logging.getLogger(__name__)

Category = OutboundMessage.Category
Status = OutboundMessage.Status

# The categories whose every message carries an unsubscribe link (the others are always sent).
UNSUBSCRIBABLE = (Category.SERVICE, Category.NEWSLETTER, Category.REFERRAL)

# How long a chunk of a batch stays claimed by the task sending it: past it, another run takes
# what is left (the claimer died without handing it back). Long enough for MAIL_BATCH_SIZE
# messages at a slow pace.
BATCH_LEASE = timedelta(minutes=15)
# A chain sending a batch marks it alive at least this often; the periodic task restarts a
# batch with due messages whose chains have been silent for BATCH_IDLE.
HEARTBEAT_SECONDS = 30
BATCH_IDLE = timedelta(minutes=2)
# When SMTP cannot be reached, a chain hands its chunk back and goes on after this pause.
BATCH_PAUSE = timedelta(seconds=30)

# How many pending messages one run of the periodic task delivers at most.
RESEND_BATCH = 200

# The template engine (settings.TEMPLATES) that renders plain text: no HTML escaping.
TEXT_ENGINE = "text"


def render_text(template_name: str, context: dict, request=None) -> str:
    """Render a plain-text mail template (subject or body) without HTML escaping."""
    return render_to_string(template_name, context, request, using=TEXT_ENGINE)


@dataclass(frozen=True)
class CategoryRules:
    """What the app that owns a category tells the outbox (registered in its `ready()`).

    `may_send(address)`: asked at send time, under the message's lock; False ends the message
    unsent ("suppressed"). `unsubscribe_url(address)`: the recipient's own absolute link."""

    may_send: Callable[[str], bool] | None = None
    unsubscribe_url: Callable[[str], str] | None = None


_rules: dict[str, CategoryRules] = {}


def register_category(
    category: str,
    *,
    may_send: Callable[[str], bool] | None = None,
    unsubscribe_url: Callable[[str], str] | None = None,
) -> None:
    _rules[category] = CategoryRules(may_send=may_send, unsubscribe_url=unsubscribe_url)


def unsubscribe_url_for(category: str, address: str) -> str:
    """The recipient's unsubscribe link for a message of `category` ("" for legal and account
    mail); LookupError if the category's app registered no builder."""
    if category not in UNSUBSCRIBABLE:
        return ""
    rules = _rules.get(category)
    if rules is None or rules.unsubscribe_url is None:
        raise LookupError(f"No unsubscribe link builder is registered for {category} mail")
    return rules.unsubscribe_url(address)


def queue(
    *,
    to: str,
    template: str,
    context: dict,
    category: str,
    secret_ttl: timedelta | None = None,
    unsubscribe_url: str | None = None,
) -> OutboundMessage:
    """Render `emails/<template>-*` and record it for delivery after the transaction commits.

    `secret_ttl` is the lifetime of the shortest secret link in the message: past it the
    message is never sent (the periodic task marks it failed and purges it). The caller knows
    its link's lifetime, so every caller whose mail carries one passes it.

    Service, newsletter and referral mail need the recipient's unsubscribe link: given here, or
    built by the category's registered builder. Templates get it as `unsubscribe_url`.
    """
    if category in UNSUBSCRIBABLE and not unsubscribe_url:
        unsubscribe_url = unsubscribe_url_for(category, to)
    context = {
        "site_url": settings.SITE_URL,
        "unsubscribe_url": unsubscribe_url or "",
        **context,
    }
    subject = " ".join(render_text(f"emails/{template}-subject.txt", context).split())
    body_text = render_text(f"emails/{template}-body.txt", context).strip()
    try:
        body_html = render_to_string(f"emails/{template}-body.html", context).strip()
    except TemplateDoesNotExist:
        body_html = ""
    return _record(
        to=to,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        category=category,
        secret_ttl=secret_ttl,
        unsubscribe_url=unsubscribe_url or "",
    )


def queue_email_message(
    message: EmailMessage, *, category: str, secret_ttl: timedelta | None = None
) -> list[OutboundMessage]:
    """Record an already rendered Django EmailMessage (allauth's mails), one row per recipient.

    `secret_ttl` as for `queue`: the lifetime of the secret link the message carries."""
    body_html = ""
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            body_html = content
    body_text = message.body
    if message.content_subtype == "html" and not body_html:
        body_html, body_text = message.body, ""
    return [
        _record(
            to=recipient,
            subject=message.subject,
            body_text=body_text,
            body_html=body_html,
            category=category,
            headers=dict(message.extra_headers),
            secret_ttl=secret_ttl,
        )
        for recipient in message.to
    ]


def _record(
    *,
    to,
    subject,
    body_text,
    body_html,
    category,
    headers=None,
    secret_ttl=None,
    unsubscribe_url="",
) -> OutboundMessage:
    if category in UNSUBSCRIBABLE and not unsubscribe_url:
        raise ValueError(f"{category} mail must carry an unsubscribe link")
    now = timezone.now()
    message = OutboundMessage.objects.create(
        unsubscribe_url=unsubscribe_url,
        to_email=to,
        from_email=settings.DEFAULT_FROM_EMAIL,
        subject=subject[:998],
        body_text=body_text,
        body_html=body_html,
        category=category,
        headers=headers or {},
        next_attempt_at=now,
        expires_at=now + secret_ttl if secret_ttl is not None else None,
    )
    transaction.on_commit(lambda: _enqueue(message.pk))
    return message


def _enqueue(message_id) -> None:
    """Hand the message to the broker; runs in the caller's on-commit hook, so it must give up
    fast: the broker timeouts (settings, CELERY_BROKER_*) bound each try and there is no retry,
    the periodic `mail_send_pending` covers a message whose publish failed."""
    from .tasks import mail_send

    try:
        mail_send.apply_async(args=[str(message_id)], retry=False)
    except Exception as exc:
        # The broker is down: the row is committed and still pending, so the periodic task
        # sends it later. The user's request must not fail for this.
        logger.warning(
            "Could not enqueue mail %s (%s: %s); the periodic task will send it",
            message_id,
            type(exc).__name__,
            exc,
        )


def deliver(message_id, *, connection=None, batch: MailBatch | None = None) -> bool:
    """Send one pending message now. Returns True if this call sent it.

    The row stays locked while SMTP talks, so a second worker skips it; if SMTP fails, the
    attempt is recorded and the next try is pushed back exponentially. A message past its
    `expires_at` is not sent but failed; one whose address is suppressed or whose recipient
    opted out since it was queued is not sent but "suppressed". Whatever ends the message
    (sent, failed for good, expired, suppressed) purges its body in the same save.

    `connection`: an open SMTP connection to reuse (a batch's); `batch`: the message's batch,
    already loaded (its body), so a chunk reads it once.
    """
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=Status.PENDING)
            .first()
        )
        if message is None:
            return False  # already sent, given up, or being sent by someone else right now
        if message.expires_at is not None and message.expires_at <= timezone.now():
            message.status = Status.FAILED
            message.last_error = EXPIRED_ERROR
            message.save(update_fields=["status", "last_error", *_purge(message)])
            return False
        refusal = _refusal(message)
        if refusal:
            message.status = Status.SUPPRESSED
            message.last_error = refusal
            message.save(update_fields=["status", "last_error", *_purge(message)])
            return False
        if message.batch_id is not None and (batch is None or batch.pk != message.batch_id):
            batch = message.batch
        message.attempts += 1
        try:
            _smtp_send(message, connection=connection, batch=batch)
        except Exception as exc:
            if connection is not None:
                _close_quietly(connection)  # it may be broken: the next send opens a new one
            message.last_error = _error_summary(exc, message)
            fields = ["attempts", "last_error", "status", "next_attempt_at"]
            if message.attempts >= settings.MAIL_MAX_ATTEMPTS or _permanent(exc):
                message.status = Status.FAILED
                fields += _purge(message)
            message.next_attempt_at = timezone.now() + _backoff(message.attempts)
            message.save(update_fields=fields)
            logger.warning(
                "Mail %s failed (attempt %s): %s", message.pk, message.attempts, message.last_error
            )
            return False
        message.status = Status.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        message.save(
            update_fields=["attempts", "status", "sent_at", "last_error", *_purge(message)]
        )
        return True


EXPIRED_ERROR = "expired: the link in this message stopped working before it could be sent"
SUPPRESSED_ERROR = "not sent: the address is on the suppression list (a bounce or a complaint)"
OPTED_OUT_ERROR = "not sent: the recipient opted out of this kind of mail before it went"


def _refusal(message: OutboundMessage) -> str:
    """Why `message` must not go now ("" if it may): asked at send time, so what changed since
    it was queued counts."""
    if suppression.is_suppressed(message.to_email, category=message.category):
        return SUPPRESSED_ERROR
    rules = _rules.get(message.category)
    if rules is not None and rules.may_send is not None and not rules.may_send(message.to_email):
        return OPTED_OUT_ERROR
    return ""


_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


def _purge(message: OutboundMessage) -> list[str]:
    """Empty what may carry personal data or a live link; returns the fields to save. Kept:
    recipient, sender, subject, category, status, attempts, dates and the error."""
    message.body_text = ""
    message.body_html = ""
    message.headers = {}
    message.unsubscribe_url = ""
    return ["body_text", "body_html", "headers", "unsubscribe_url"]


def _error_summary(exc: Exception, message: OutboundMessage) -> str:
    """What to keep of an SMTP failure: never a piece of the body (a server may quote the
    message back, an exception may carry it), so every URL and every body line is cut out."""
    text = f"{type(exc).__name__}: {exc}"
    for line in {*message.body_text.splitlines(), *message.body_html.splitlines()}:
        line = line.strip()
        if len(line) >= 8:  # short lines ("Hello,") say nothing and would cut words elsewhere
            text = text.replace(line, "[body]")
    return _URL.sub("[link]", text)[:500]


def expire_pending() -> int:
    """Fail and purge the pending messages whose secret link has expired (the periodic task).
    Rows being sent right now are skipped; their sender sees the expiry itself."""
    with transaction.atomic():
        ids = list(
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, expires_at__lte=timezone.now())
            .values_list("pk", flat=True)
        )
        return OutboundMessage.objects.filter(pk__in=ids).update(
            status=Status.FAILED,
            last_error=EXPIRED_ERROR,
            body_text="",
            body_html="",
            headers={},
            unsubscribe_url="",
        )


def deliver_pending(*, limit: int = RESEND_BATCH) -> int:
    """Send what is still pending and due; called by the periodic task. Returns how many sent.
    Expired messages are failed and purged first, never sent. A batch's messages are left to
    its own tasks, restarted here when none is sending them (`resume_batches`)."""
    expire_pending()
    resume_batches()
    due = OutboundMessage.objects.filter(
        status=Status.PENDING, next_attempt_at__lte=timezone.now(), batch__isnull=True
    ).order_by("next_attempt_at")
    ids = list(due.values_list("pk", flat=True)[:limit])
    return sum(deliver(message_id) for message_id in ids)


def _permanent(exc: Exception) -> bool:
    """Whether the SMTP server refused the message for good (a 5xx reply: no such mailbox,
    policy refusal); trying again would only be refused again. 4xx and lost connections are
    temporary."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return False


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


def _smtp_send(message: OutboundMessage, *, connection=None, batch: MailBatch | None = None):
    body_text, body_html = message.body_text, message.body_html
    unsubscribe_url = message.unsubscribe_url
    if batch is not None:
        if not unsubscribe_url:
            unsubscribe_url = unsubscribe_url_for(message.category, message.to_email)
        placeholder = MailBatch.UNSUBSCRIBE_PLACEHOLDER
        body_text = batch.body_text.replace(placeholder, unsubscribe_url)
        body_html = batch.body_html.replace(placeholder, escape(unsubscribe_url))
    headers = {"Message-ID": f"<{message.pk}@opsx>", **message.headers}
    if unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=body_text,
        from_email=message.from_email,
        to=[message.to_email],
        headers=headers,
        connection=connection or get_connection(fail_silently=False),
    )
    if body_html:
        email.attach_alternative(body_html, "text/html")
    email.send()


# --- batches (bulk mail) -------------------------------------------------------------------


def create_batch(*, category: str, subject: str, body_text: str, body_html: str) -> MailBatch:
    """Store a body for many recipients. Put MailBatch.UNSUBSCRIBE_PLACEHOLDER where each
    recipient's own unsubscribe link goes (both bodies)."""
    if category in UNSUBSCRIBABLE and MailBatch.UNSUBSCRIBE_PLACEHOLDER not in body_text:
        raise ValueError("A bulk mail's text body must carry the unsubscribe link placeholder")
    return MailBatch.objects.create(
        category=category,
        subject=" ".join(subject.split())[:998],
        body_text=body_text,
        body_html=body_html,
    )


def batch_add_recipients(batch: MailBatch, emails) -> int:
    """Record one pending message of `batch` per address of `emails` (a queryset of
    `values_list("email", flat=True)`) in one INSERT ... SELECT: no row per address passes
    through Python. Addresses already in the batch are skipped (the unique constraint), so a
    run resumed after a crash neither skips nor repeats anyone. Returns how many it recorded."""
    select_sql, params = emails.query.sql_with_params()
    table = OutboundMessage._meta.db_table
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (
                id, category, to_email, from_email, subject, body_text, body_html, headers,
                batch_id, unsubscribe_url, status, attempts, last_error, next_attempt_at,
                created_at, event
            )
            SELECT gen_random_uuid(), %s, lower(recipient.email), %s, %s, '', '', '{{}}',
                %s, '', %s, 0, '', now(), now(), ''
            FROM ({select_sql}) AS recipient(email)
            WHERE recipient.email <> ''
            ON CONFLICT DO NOTHING
            """,  # noqa: S608 (the table is ours, the SELECT is the ORM's, values are params)
            [
                batch.category,
                settings.DEFAULT_FROM_EMAIL,
                batch.subject,
                batch.pk,
                Status.PENDING,
                *params,
            ],
        )
        added = cursor.rowcount
    MailBatch.objects.filter(pk=batch.pk).update(recorded_at=timezone.now())
    return added


def batch_progress(batch: MailBatch | str) -> dict[str, int]:
    """How many of the batch's messages are pending, sent, failed or suppressed (one query)."""
    counts = OutboundMessage.objects.filter(batch=batch).aggregate(
        total=Count("pk"),
        **{status: Count("pk", filter=Q(status=status)) for status in Status.values},
    )
    return counts


def start_batch(batch: MailBatch) -> None:
    """Have Celery send the batch once the caller's transaction commits: settings'
    MAIL_BATCH_PARALLEL chains of tasks, each taking MAIL_BATCH_SIZE recipients at a time."""
    batch_id = str(batch.pk)
    transaction.on_commit(lambda: _enqueue_batch(batch_id, settings.MAIL_BATCH_PARALLEL))


def _enqueue_batch(batch_id: str, chains: int = 1) -> None:
    from .tasks import mail_send_batch

    for _ in range(chains):
        try:
            mail_send_batch.apply_async(args=[batch_id], retry=False)
        except Exception as exc:  # the periodic task resumes the batch (resume_batches)
            logger.warning("Could not enqueue batch %s (%s)", batch_id, type(exc).__name__)
            return


class BatchRun(NamedTuple):
    """What one chunk of a batch did: how many it sent, whether the batch has more to send,
    and in how many seconds the chain should go on (0: at once)."""

    sent: int
    more: bool
    retry_in: float = 0


def deliver_batch(batch_id, *, limit: int | None = None) -> BatchRun:
    """Send up to `limit` (MAIL_BATCH_SIZE) of the batch's due messages over one SMTP
    connection, at most MAIL_BULK_RATE_PER_SECOND / MAIL_BATCH_PARALLEL a second.

    The chunk is claimed first (its rows' next attempt pushed past BATCH_LEASE, under
    skip_locked), so parallel chains take different rows; each message is then sent and
    recorded in its own transaction by `deliver`, so a crash repeats at most the one message
    SMTP was accepting. Whatever of the chunk this run did not try (SMTP unreachable, an
    error, the worker stopping) is handed back at once, not left to the lease's end."""
    limit = limit or settings.MAIL_BATCH_SIZE
    batch = MailBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        return BatchRun(0, False)
    ids, lease_until = _claim(batch, limit)
    if not ids:
        _finish(batch)
        return BatchRun(0, False)
    rate = settings.MAIL_BULK_RATE_PER_SECOND / max(settings.MAIL_BATCH_PARALLEL, 1)
    interval = 1 / rate if rate > 0 else 0
    sent = tried = 0
    retry_in = 0.0
    beat = time.monotonic()
    connection = get_connection(fail_silently=False)
    try:
        for message_id in ids:
            started = time.monotonic()
            if started - beat > HEARTBEAT_SECONDS:  # a slow chunk is still alive
                MailBatch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now())
                beat = started
            try:
                connection.open()  # a no-op while open; reopens after a failed send closed it
            except Exception as exc:
                logger.warning(
                    "Batch %s: SMTP unreachable (%s: %s); %s messages handed back for %s s",
                    batch.pk,
                    type(exc).__name__,
                    exc,
                    len(ids) - tried,
                    BATCH_PAUSE.total_seconds(),
                )
                retry_in = BATCH_PAUSE.total_seconds()
                break
            sent += deliver(message_id, connection=connection, batch=batch)
            tried += 1
            if interval:
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
    finally:
        _close_quietly(connection)
        _release(ids, lease_until, timezone.now() + timedelta(seconds=retry_in))
    return BatchRun(sent, True, retry_in)


def _release(ids: list, lease_until, due) -> None:
    """Hand back the claimed rows nobody tried: still pending and still at the lease's end
    (a try that failed set its own next attempt). Besides the rows after an SMTP outage, this
    catches a row `deliver` skipped because another chain's claim held its lock for an
    instant (PostgreSQL keeps the lock on a row it locked and then found no longer due)."""
    OutboundMessage.objects.filter(
        pk__in=ids, status=Status.PENDING, next_attempt_at=lease_until
    ).update(next_attempt_at=due)


def _claim(batch: MailBatch, limit: int) -> list:
    now = timezone.now()
    MailBatch.objects.filter(pk=batch.pk).update(heartbeat_at=now)
    with transaction.atomic():
        ids = list(
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(batch=batch, status=Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        lease_until = now + BATCH_LEASE
        OutboundMessage.objects.filter(pk__in=ids).update(next_attempt_at=lease_until)
    return ids, lease_until


def _finish(batch: MailBatch) -> None:
    """Empty the batch's body once none of its messages is pending any more."""
    pending = OutboundMessage.objects.filter(batch=batch, status=Status.PENDING)
    if (batch.body_text or batch.body_html) and not pending.exists():
        MailBatch.objects.filter(pk=batch.pk).update(body_text="", body_html="")


def resume_batches() -> int:
    """Restart the sending of every batch with due pending messages whose chains have been
    silent for BATCH_IDLE (they died, or ran out of work before a retry fell due); called by
    the periodic task. Returns how many batches were restarted."""
    now = timezone.now()
    due = OutboundMessage.objects.filter(
        batch=OuterRef("pk"), status=Status.PENDING, next_attempt_at__lte=now
    )
    batch_ids = list(
        MailBatch.objects.filter(Exists(due))
        .filter(Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - BATCH_IDLE))
        .values_list("pk", flat=True)[:50]
    )
    for batch_id in batch_ids:
        _enqueue_batch(str(batch_id))
    return len(batch_ids)


def _close_quietly(connection) -> None:
    with contextlib.suppress(Exception):  # closing a broken connection is best effort
        connection.close()
