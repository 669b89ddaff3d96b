"""What the mail provider tells us after it accepted a message: bounces and complaints.

django-anymail's tracking webhooks (routed by opsx.mail_webhooks) turn each provider's payload
into an `AnymailTrackingEvent` and send `anymail.signals.tracking`; `on_tracking_event` (connected
in OpsxConfig.ready) acts on the few that matter:

- a hard bounce (anymail's `bounced`, unless the provider says it was a soft one) suppresses the
  address (scope all: service, newsletter and referral mail; legal and account mail still go,
  opsx.suppression) and marks the message `bounced`;
- a spam complaint (`complained`) suppresses it the same way and marks the message;
- a soft bounce (`deferred`, or a `bounced` the provider flags as temporary) only marks the
  message `deferred`. We hand mail to the provider over SMTP and it accepted it: retrying the
  receiving server is the provider's job (each one retries for hours to days) and it reports a
  hard bounce if it gives up, which suppresses then. Sending again ourselves would double the
  message when the provider's own retry succeeds;
- `rejected` (the provider refused to send) with reason `bounced` or `invalid` counts as a hard
  bounce and with reason `spam` as a complaint: the provider's own suppression list knows the
  address is dead. Other reasons (blocked by policy, unsubscribed at the provider...) say
  nothing about the address and change nothing;
- anything else (delivered, opened, clicked, unknown...) is ignored.

The message is found by our Message-ID `<pk@opsx>` (opsx.mail sets it) wherever the provider
echoes it (the normalised `message_id` or the raw event, e.g. SendGrid's `smtp-id`, Mailgun's
message headers), always together with the recipient; failing that, the latest message sent to
the recipient. Events come from the provider, not from us: every field is checked and a bad
one makes the event ignored, never an error. Providers resend an event until answered, so all
of this is idempotent.
"""

import contextlib
import json
import logging
import re
import uuid
from datetime import datetime

from anymail.signals import EventType, RejectReason
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from . import suppression
from .models import OutboundMessage, Suppression

logger = logging.getLogger(__name__)

Event = OutboundMessage.Event

# Our Message-ID, as opsx.mail writes it: <uuid@opsx>.
_OUR_MESSAGE_ID = re.compile(
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@opsx\b", re.IGNORECASE
)
# How much of a raw event is searched for our Message-ID (a real event is a few kB).
_RAW_SEARCH_LIMIT = 64 * 1024

# A later event never downgrades an earlier, stronger one (a delayed "deferred" arriving after
# the "bounced" it led to).
_RANK = {"": 0, Event.DEFERRED: 1, Event.BOUNCED: 2, Event.COMPLAINED: 2}


def on_tracking_event(sender, event, esp_name, **kwargs) -> None:
    """anymail.signals.tracking receiver: see the module docstring."""
    outcome = classify(event, esp_name)
    if outcome is None:
        return
    recipient = _recipient(event)
    if recipient is None:
        logger.info("%s %s event without a usable recipient: ignored", esp_name, outcome)
        return
    record_event(
        recipient=recipient,
        event=outcome,
        at=_timestamp(event),
        message_ids=_our_message_ids(event),
    )


def classify(event, esp_name: str) -> str | None:
    """The OutboundMessage.Event an anymail tracking event means for us, or None to ignore it."""
    event_type = getattr(event, "event_type", None)
    if event_type == EventType.COMPLAINED:
        return Event.COMPLAINED
    if event_type == EventType.DEFERRED:
        return Event.DEFERRED
    if event_type == EventType.BOUNCED:
        return Event.DEFERRED if _is_soft_bounce(event, esp_name) else Event.BOUNCED
    if event_type == EventType.REJECTED:
        reason = getattr(event, "reject_reason", None)
        if reason in (RejectReason.BOUNCED, RejectReason.INVALID):
            return Event.BOUNCED
        if reason == RejectReason.SPAM:
            return Event.COMPLAINED
    return None


def _is_soft_bounce(event, esp_name: str) -> bool:
    """Anymail reports some temporary failures as `bounced`; the raw event tells them apart."""
    raw = event.esp_event if isinstance(getattr(event, "esp_event", None), dict) else {}
    if esp_name == "Brevo":
        return raw.get("event") == "soft_bounce"
    if esp_name == "Mailjet":
        return raw.get("hard_bounce") is False
    if esp_name == "Postmark":
        return raw.get("Type") in ("SoftBounce", "Transient", "DnsError")
    if esp_name == "SendGrid":
        return raw.get("type") == "blocked"  # SendGrid's name for a temporary refusal
    # Mailgun's temporary failures are already `deferred` (anymail reads their severity).
    return False


def record_event(
    *, recipient: str, event: str, at, message_ids: list[uuid.UUID] | tuple = ()
) -> OutboundMessage | None:
    """Suppress the address for a hard bounce or a complaint and mark the message the event is
    about (returned; None if none was found). Idempotent: a repeated event changes nothing."""
    reason = {
        Event.BOUNCED: Suppression.Reason.HARD_BOUNCE,
        Event.COMPLAINED: Suppression.Reason.COMPLAINT,
    }.get(event)
    with transaction.atomic():
        if reason is not None:
            suppression.suppress(recipient, reason=reason, scope=Suppression.Scope.ALL)
        message = _find_message(recipient, message_ids)
        if message is None:
            return None
        if _RANK[event] >= _RANK[message.event]:
            message.event = event
            message.event_at = at
            message.save(update_fields=["event", "event_at"])
        return message


def _find_message(recipient: str, message_ids) -> OutboundMessage | None:
    # The address as the provider writes it and lower-cased: the to_email index serves both.
    addresses = {recipient, recipient.lower()}
    messages = OutboundMessage.objects.select_for_update().only("event", "event_at")
    if message_ids:
        found = messages.filter(pk__in=message_ids, to_email__in=addresses).first()
        if found is not None:
            return found
    return (
        messages.filter(to_email__in=addresses, status=OutboundMessage.Status.SENT)
        .order_by("-created_at")
        .first()
    )


def _recipient(event) -> str | None:
    recipient = getattr(event, "recipient", None)
    if not isinstance(recipient, str) or len(recipient) > 254:
        return None
    recipient = recipient.strip()
    try:
        validate_email(recipient)
    except ValidationError:
        return None
    return recipient


def _timestamp(event):
    at = getattr(event, "timestamp", None)
    if isinstance(at, datetime) and at.tzinfo is not None:
        return at
    return timezone.now()


def _our_message_ids(event) -> list[uuid.UUID]:
    """Every <uuid@opsx> in the event's message id and its raw payload (where providers keep
    the original Message-ID header: SendGrid's `smtp-id`, Mailgun's message headers...)."""
    texts = []
    if isinstance(getattr(event, "message_id", None), str):
        texts.append(event.message_id)
    raw = getattr(event, "esp_event", None)
    if hasattr(raw, "lists"):  # a QueryDict (Mailgun's legacy form posts)
        raw = dict(raw.lists())
    with contextlib.suppress(TypeError, ValueError):  # not JSON-able: nothing to search
        texts.append(json.dumps(raw, default=str)[:_RAW_SEARCH_LIMIT])
    found = []
    for text in texts:
        for match in _OUR_MESSAGE_ID.finditer(text):
            message_id = uuid.UUID(match.group(1))
            if message_id not in found:
                found.append(message_id)
    return found
