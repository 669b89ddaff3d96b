"""Who gets a push notification, saying what: the callers' side of devices/push.

Every push is queued after the transaction that caused it commits (a rolled-back assignment
sends nothing) and sent by the Celery task devices.tasks.push_send. A failure to queue or to
send never reaches the action that caused it: it is logged, and the action has happened.

The texts are short and carry only the recipient's own client's data (a prospect's name, a
visit's time); what the app needs to open the right screen goes in `data` as public ids.
"""

from __future__ import annotations

import logging
import time
from functools import partial

from celery.exceptions import Retry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.services import limit_consume, retry_time
from clients import audit
from clients.models import Client
from clients.tenancy import tenant_scope
from prospects import sensitive

from .models import Device

logger = logging.getLogger("opsx.push")

# FCM shows a notification's title on one line and a few lines of body: longer is cut here.
TITLE_MAX = 80
BODY_MAX = 500
NAME_MAX = 60  # of a prospect's name inside a text


def _cut(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def notify_user(user: User, *, title: str, body: str, data: dict | None = None) -> bool:
    """Queue a push to the user's active device after the transaction commits. False when
    they have none with a push token (or are inactive): nothing to send."""
    if user is None or not user.is_active:
        return False
    device = (
        Device.objects.filter(user=user, status=Device.Status.ACTIVE)
        .exclude(push_token="")
        .values_list("pk", "push_token")
        .first()
    )
    if device is None:
        return False
    device_id, token = device
    data = {str(k): str(v) for k, v in (data or {}).items()}  # FCM's and the broker's JSON
    transaction.on_commit(
        partial(_enqueue, device_id, token, _cut(title, TITLE_MAX), _cut(body, BODY_MAX), data)
    )
    return True


def _enqueue(device_id: int, token: str, title: str, body: str, data: dict | None) -> None:
    """Hand one push to the broker, in an on-commit hook: it gives up fast (the broker
    timeouts in settings, no retry) and never raises. A push lost with the broker is not
    resent: unlike mail, a late notification is worth little."""
    from .tasks import push_send

    try:
        push_send.apply_async(args=[device_id, token, title, body, data or {}], retry=False)
    except Retry:
        # Tasks run eagerly (no broker, the embedded default) and propagate their errors:
        # Celery cannot run the retry later, so the push is dropped.
        logger.warning("Push to device %s failed and is not retried (tasks run eagerly)", device_id)
    except Exception as exc:
        logger.warning(
            "Could not queue a push to device %s (%s: %s); it is not sent",
            device_id,
            type(exc).__name__,
            exc,
        )


def quietly(what: str, function, *args, **kwargs) -> None:
    """Run a notification from a signal receiver: whatever goes wrong is logged, never
    raised into the service (and the request) that sent the signal."""
    try:
        function(*args, **kwargs)
    except Exception:
        logger.exception("Could not notify %s", what)


# --- prospects and visits (receivers.py) ---------------------------------------------------


def prospects_assigned(*, prospects: list, owner: User, actor: User | None) -> None:
    """Tell the new owner, unless they assigned the prospects themselves. A bulk assignment
    is one notification, whatever its size."""
    if owner is None or not prospects or (actor is not None and owner.pk == actor.pk):
        return
    if len(prospects) == 1:
        prospect = prospects[0]
        notify_user(
            owner,
            title="New prospect for you",
            body=f"{_cut(prospect.name, NAME_MAX)} was assigned to you.",
            data={"kind": "prospect_assigned", "prospect": prospect.public_id},
        )
    else:
        notify_user(
            owner,
            title="New prospects for you",
            body=f"{len(prospects)} prospects were assigned to you.",
            data={"kind": "prospects_assigned", "count": len(prospects)},
        )


VISIT_TITLES = {"planned": "Visit planned for you", "cancelled": "Visit cancelled"}


def visit_changed(*, visit, actor: User | None, change: str) -> None:
    """Tell the visit's user that someone else planned or changed their visit."""
    user = visit.user
    if user is None or (actor is not None and user.pk == actor.pk):
        return
    when = (
        timezone.localtime(visit.scheduled_at).strftime("%a %d %b, %H:%M %Z")
        if visit.scheduled_at
        else "no date yet"
    )
    notify_user(
        user,
        title=VISIT_TITLES.get(change, "Visit changed"),
        body=f"{_cut(visit.prospect.name, NAME_MAX)}: {when}",
        data={
            "kind": f"visit_{change}",
            "visit": visit.public_id,
            "prospect": visit.prospect.public_id,
            "scheduled_at": visit.scheduled_at.isoformat() if visit.scheduled_at else "",
        },
    )


# --- "message your team" (devices/message.py) ------------------------------------------------

# Devices one run of the fan-out task queues before it hands the rest to its next run.
FAN_OUT_BATCH = 500


def team_message_devices(client: Client | int) -> QuerySet:
    """The devices a team message reaches: the client's active devices with a push token,
    of its active users (one each: a user has at most one active device)."""
    return (
        Device.objects.for_client(client)
        .filter(status=Device.Status.ACTIVE, user__is_active=True)
        .exclude(push_token="")
    )


@transaction.atomic
def team_message_send(*, client: Client, actor: User, title: str, body: str) -> int:
    """A client admin's message to every user of the client who has the app with
    notifications on; returns how many devices it goes to. Limited to
    TEAM_MESSAGES_PER_CLIENT_PER_HOUR per client; the text itself is not kept (the audit event
    counts the recipients), and the pushes are fanned out by a task after the commit."""
    title, body = " ".join(title.split()), body.strip()
    errors = {}
    for field, text, limit, label in (
        ("title", title, TITLE_MAX, "The title"),
        ("body", body, BODY_MAX, "The message"),
    ):
        if not text:
            errors[field] = [f"{label} is required."]
        elif len(text) > limit:
            errors[field] = [f"{label} can be at most {limit} characters."]
        elif "\x00" in text:
            errors[field] = [f"{label} contains a character that cannot be sent (NUL)."]
        else:
            try:
                sensitive.check_text(text, field=label)
            except ValidationError as exc:
                errors[field] = exc.messages
    if errors:
        raise ValidationError(errors)
    recipients = team_message_devices(client).count()
    if recipients == 0:
        raise ValidationError(
            "Nobody in your company has the OpsX app signed in with notifications on yet; "
            "nothing was sent.",
            code="no_recipients",
        )
    _consume_team_message_limit(client)
    audit.record(
        actor=actor,
        action=audit.Action.TEAM_MESSAGE_SENT,
        target=client,
        client=client,
        changes={"title": None, "body": None},  # by name: what it said is not kept
        counts={"recipients": recipients},
    )
    transaction.on_commit(partial(_enqueue_fan_out, client.pk, title, body))
    return recipients


def _consume_team_message_limit(client: Client) -> None:
    amount = settings.TEAM_MESSAGES_PER_CLIENT_PER_HOUR
    if amount <= 0:  # 0 turns the limit off
        return
    retry = limit_consume(f"team-message:{client.pk}", amount=amount, window=3600, now=time.time())
    if retry is not None:
        raise ValidationError(
            f"{client.name} has sent {amount} team message{'' if amount == 1 else 's'} in the "
            f"last hour, the most one company may send. Nothing was sent. Try again after "
            f"{retry_time(retry)}.",
            code="rate_limited",
        )


def _enqueue_fan_out(client_id: int, title: str, body: str) -> None:
    from .tasks import team_message_fan_out

    try:
        team_message_fan_out.apply_async(args=[client_id, title, body], retry=False)
    except Exception as exc:
        logger.warning(
            "Could not queue the team message of client %s (%s: %s); it is not sent",
            client_id,
            type(exc).__name__,
            exc,
        )


def team_message_fan_out(*, client_id: int, title: str, body: str, after_id: int = 0) -> int | None:
    """Queue one batch of a team message's pushes, from the device after `after_id`; the id
    of the batch's last device when more may follow, else None. The batch is read restricted
    to the client (row-level security), and queued after that read's transaction ended."""
    with tenant_scope(client_id):
        devices = list(
            team_message_devices(client_id)
            .filter(pk__gt=after_id)
            .order_by("pk")
            .values_list("pk", "push_token")[:FAN_OUT_BATCH]
        )
    for device_id, token in devices:
        _enqueue(device_id, token, title, body, {"kind": "team_message"})
    return devices[-1][0] if len(devices) == FAN_OUT_BATCH else None
