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
"""

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.exceptions import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone

from .models import OutboundMessage

logger = logging.getLogger(__name__)

Category = OutboundMessage.Category

# How many pending messages one run of the periodic task delivers at most.
RESEND_BATCH = 200

# The template engine (settings.TEMPLATES) that renders plain text: no HTML escaping.
TEXT_ENGINE = "text"


def render_text(template_name: str, context: dict, request=None) -> str:
    """Render a plain-text mail template (subject or body) without HTML escaping."""
    return render_to_string(template_name, context, request, using=TEXT_ENGINE)


def queue(
    *,
    to: str,
    template: str,
    context: dict,
    category: str,
    secret_ttl: timedelta | None = None,
) -> OutboundMessage:
    """Render `emails/<template>-*` and record it for delivery after the transaction commits.

    `secret_ttl` is the lifetime of the shortest secret link in the message: past it the
    message is never sent (the periodic task marks it failed and purges it). The caller knows
    its link's lifetime, so every caller whose mail carries one passes it.
    """
    context = {"site_url": settings.SITE_URL, **context}
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
    *, to, subject, body_text, body_html, category, headers=None, secret_ttl=None
) -> OutboundMessage:
    now = timezone.now()
    message = OutboundMessage.objects.create(
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


def deliver(message_id) -> bool:
    """Send one pending message now. Returns True if this call sent it.

    The row stays locked while SMTP talks, so a second worker skips it; if SMTP fails, the
    attempt is recorded and the next try is pushed back exponentially. A message past its
    `expires_at` is not sent but failed. Whatever ends the message (sent, failed for good,
    expired) purges its body in the same save.
    """
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboundMessage.Status.PENDING)
            .first()
        )
        if message is None:
            return False  # already sent, given up, or being sent by someone else right now
        if message.expires_at is not None and message.expires_at <= timezone.now():
            message.status = OutboundMessage.Status.FAILED
            message.last_error = EXPIRED_ERROR
            message.save(update_fields=["status", "last_error", *_purge(message)])
            return False
        message.attempts += 1
        try:
            _smtp_send(message)
        except Exception as exc:
            message.last_error = _error_summary(exc, message)
            fields = ["attempts", "last_error", "status", "next_attempt_at"]
            if message.attempts >= settings.MAIL_MAX_ATTEMPTS:
                message.status = OutboundMessage.Status.FAILED
                fields += _purge(message)
            message.next_attempt_at = timezone.now() + _backoff(message.attempts)
            message.save(update_fields=fields)
            logger.warning(
                "Mail %s failed (attempt %s): %s", message.pk, message.attempts, message.last_error
            )
            return False
        message.status = OutboundMessage.Status.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        message.save(
            update_fields=["attempts", "status", "sent_at", "last_error", *_purge(message)]
        )
        return True


EXPIRED_ERROR = "expired: the link in this message stopped working before it could be sent"

_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


def _purge(message: OutboundMessage) -> list[str]:
    """Empty what may carry personal data or a live link; returns the fields to save. Kept:
    recipient, sender, subject, category, status, attempts, dates and the error."""
    message.body_text = ""
    message.body_html = ""
    message.headers = {}
    return ["body_text", "body_html", "headers"]


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
            .filter(status=OutboundMessage.Status.PENDING, expires_at__lte=timezone.now())
            .values_list("pk", flat=True)
        )
        return OutboundMessage.objects.filter(pk__in=ids).update(
            status=OutboundMessage.Status.FAILED,
            last_error=EXPIRED_ERROR,
            body_text="",
            body_html="",
            headers={},
        )


def deliver_pending(*, limit: int = RESEND_BATCH) -> int:
    """Send what is still pending and due; called by the periodic task. Returns how many sent.
    Expired messages are failed and purged first, never sent."""
    expire_pending()
    due = OutboundMessage.objects.filter(
        status=OutboundMessage.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).order_by("next_attempt_at")
    ids = list(due.values_list("pk", flat=True)[:limit])
    return sum(deliver(message_id) for message_id in ids)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


def _smtp_send(message: OutboundMessage) -> None:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=message.from_email,
        to=[message.to_email],
        headers={"Message-ID": f"<{message.pk}@opsx>", **message.headers},
        connection=get_connection(fail_silently=False),
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    email.send()
