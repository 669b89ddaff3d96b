"""The one way OpsX sends email.

A caller asks for a message by template name inside its own transaction; this module records
an OutboundMessage row there and schedules delivery on commit. Delivery takes the row under
`select_for_update(skip_locked=True)`, so two workers never send the same message twice.
Templates come in a trio: `emails/<name>-subject.txt`, `emails/<name>-body.txt` and
`emails/<name>-body.html` (optional).
"""

import logging
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


def queue(*, to: str, template: str, context: dict, category: str) -> OutboundMessage:
    """Render `emails/<template>-*` and record it for delivery after the transaction commits."""
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template}-subject.txt", context).split())
    body_text = render_to_string(f"emails/{template}-body.txt", context).strip()
    try:
        body_html = render_to_string(f"emails/{template}-body.html", context).strip()
    except TemplateDoesNotExist:
        body_html = ""
    return _record(
        to=to, subject=subject, body_text=body_text, body_html=body_html, category=category
    )


def queue_email_message(message: EmailMessage, *, category: str) -> list[OutboundMessage]:
    """Record an already rendered Django EmailMessage (allauth's mails), one row per recipient."""
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
        )
        for recipient in message.to
    ]


def _record(*, to, subject, body_text, body_html, category, headers=None) -> OutboundMessage:
    message = OutboundMessage.objects.create(
        to_email=to,
        from_email=settings.DEFAULT_FROM_EMAIL,
        subject=subject[:998],
        body_text=body_text,
        body_html=body_html,
        category=category,
        headers=headers or {},
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(lambda: _enqueue(message.pk))
    return message


def _enqueue(message_id) -> None:
    from .tasks import mail_send

    try:
        mail_send.delay(str(message_id))
    except Exception:
        # The broker is down: the row is committed and still pending, so the periodic task
        # sends it later. The user's request must not fail for this.
        logger.warning("Could not enqueue mail %s; the periodic task will send it", message_id)


def deliver(message_id) -> bool:
    """Send one pending message now. Returns True if this call sent it.

    The row stays locked while SMTP talks, so a second worker skips it; if SMTP fails, the
    attempt is recorded and the next try is pushed back exponentially.
    """
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboundMessage.Status.PENDING)
            .first()
        )
        if message is None:
            return False  # already sent, given up, or being sent by someone else right now
        message.attempts += 1
        try:
            _smtp_send(message)
        except Exception as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= settings.MAIL_MAX_ATTEMPTS:
                message.status = OutboundMessage.Status.FAILED
            message.next_attempt_at = timezone.now() + _backoff(message.attempts)
            message.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            logger.warning("Mail %s failed (attempt %s): %s", message.pk, message.attempts, exc)
            return False
        message.status = OutboundMessage.Status.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        message.save(update_fields=["attempts", "status", "sent_at", "last_error"])
        return True


def deliver_pending(*, limit: int = RESEND_BATCH) -> int:
    """Send what is still pending and due; called by the periodic task. Returns how many sent."""
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
