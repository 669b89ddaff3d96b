"""Fulfilling account deletion requests, and confirmed reports of a child's account.

A verified deletion request is scheduled (`deletion_schedule`): it runs by itself
PRIVACY_DELETION_WAIT_DAYS later (0: only when staff approve), and until then the user can
cancel it from their account pages, or staff can. Staff may approve it at once
(`deletion_approve`). Running it (`deletion_run`, in the Celery task privacy_deletion_run or the
daily privacy_deletions_due) first mails a confirmation to the account's address and waits
until that mail is delivered (retried daily, at most NOTICE_MAX_WAIT: then it goes ahead and
the timeline says the mail could not be delivered), then erases (privacy.erasure.user_erase)
and closes the request.

A report that an account belongs to someone under 16 (child data) is confirmed by staff
(`child_data_confirm`): the account is erased at once, with no waiting period and no mail to
the account (a child's address; the reporter is answered through the request).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from clients import audit
from opsx import mail
from opsx.models import OutboundMessage

from .erasure import user_erase
from .models import PrivacyRequest, PrivacyRequestEvent
from .services import request_event, request_transition

Kind = PrivacyRequest.Kind
Status = PrivacyRequest.Status
Action = PrivacyRequestEvent.Action

logger = logging.getLogger(__name__)

# How long the erasure waits for its confirmation mail to be delivered before going ahead.
NOTICE_MAX_WAIT = timedelta(days=3)

ERASING_KINDS = (Kind.DELETION, Kind.CHILD_DATA)


def _lock(request: PrivacyRequest) -> PrivacyRequest:
    return PrivacyRequest.objects.select_for_update().get(pk=request.pk)


def account_of(request: PrivacyRequest) -> User | None:
    """The account a deletion or child-data request concerns: the one staff named (subject),
    else the requester's own."""
    user_id = request.subject_user_id or request.requester_id
    return User.objects.filter(pk=user_id).first() if user_id else None


def _check_open_deletion(request: PrivacyRequest, kind: str = Kind.DELETION) -> None:
    if request.kind != kind:
        raise ValidationError(f"This is not a request of the kind “{Kind(kind).label}”.")
    if not request.is_open:
        raise ValidationError(f"This request is {request.get_status_display().lower()}.")


def _check_verified(request: PrivacyRequest) -> None:
    if request.channel == PrivacyRequest.Channel.PUBLIC and request.verified_at is None:
        raise ValidationError("The requester has not confirmed their address yet.")


def _to_in_progress(request: PrivacyRequest, *, actor, update_fields: tuple[str, ...]) -> None:
    if request.status != Status.IN_PROGRESS:
        request_transition(
            request, to_status=Status.IN_PROGRESS, actor=actor, update_fields=update_fields
        )
    else:
        request.save(update_fields=list(update_fields))


def _enqueue_run(request: PrivacyRequest, actor: User | None) -> None:
    from .tasks import privacy_deletion_run

    request_id, actor_id = request.pk, getattr(actor, "pk", None)
    # Broker down: erase_after has passed, so the daily privacy_deletions_due runs it.
    transaction.on_commit(lambda: _publish(privacy_deletion_run, request_id, actor_id))


def _publish(task, *args) -> None:
    try:
        task.apply_async(args=list(args), retry=False)
    except Exception:  # the daily task covers it; the admin's click must not fail for this
        logger.warning("Could not enqueue %s%r; the daily run will do it", task.name, args)


@transaction.atomic
def deletion_schedule(*, request: PrivacyRequest, actor: User | None) -> PrivacyRequest:
    """Schedule a verified deletion request: it runs by itself PRIVACY_DELETION_WAIT_DAYS from
    now (0: it waits for staff). The user is mailed when, and how to cancel."""
    locked = _lock(request)
    _check_open_deletion(locked)
    _check_verified(locked)
    if locked.events.filter(action=Action.DELETION_SCHEDULED).exists():
        raise ValidationError("This deletion is already scheduled.")
    user = account_of(locked)
    if user is None:
        raise ValidationError("This request names no account to delete.")
    request.refresh_from_db()
    wait = settings.PRIVACY_DELETION_WAIT_DAYS
    request.erase_after = timezone.now() + timedelta(days=wait) if wait > 0 else None
    _to_in_progress(request, actor=actor, update_fields=("erase_after",))
    when = request.erase_after
    request_event(
        request,
        action=Action.DELETION_SCHEDULED,
        actor=actor,
        message=(
            f"The account will be erased on {when:%Y-%m-%d} unless the deletion is cancelled."
            if when
            else "The account will be erased when HexCM staff approve it."
        ),
    )
    audit.record(
        actor=actor,
        action=audit.Action.USER_DELETION_SCHEDULED,
        target=request,
        client=audit.NO_CLIENT,
    )
    mail.queue(
        to=user.email,
        template="privacy-deletion-scheduled",
        context={
            "name": user.get_short_name(),
            "when": when,
            "account_url": settings.SITE_URL
            + reverse("privacy:account_request", args=[request.public_id]),
        },
        category=OutboundMessage.Category.ACCOUNT,
    )
    return request


@transaction.atomic
def deletion_cancel(*, request: PrivacyRequest, actor: User) -> PrivacyRequest:
    """The requester (from their account pages) or staff cancel a deletion that has not run:
    the request is withdrawn."""
    locked = _lock(request)
    _check_open_deletion(locked)
    is_staff = actor.is_staff and actor.client_id is None
    if not is_staff and actor.pk not in (locked.requester_id, locked.subject_user_id):
        raise ValidationError("Only the person who asked, or HexCM staff, can cancel it.")
    request.refresh_from_db()
    request.erase_after = None
    request_transition(
        request,
        to_status=Status.WITHDRAWN,
        actor=actor,
        action=Action.DELETION_CANCELLED,
        message="The account deletion was cancelled; nothing was erased.",
        update_fields=("erase_after",),
    )
    audit.record(
        actor=actor,
        action=audit.Action.USER_DELETION_CANCELLED,
        target=request,
        client=audit.NO_CLIENT,
    )
    return request


@transaction.atomic
def deletion_approve(*, request: PrivacyRequest, actor: User) -> PrivacyRequest:
    """Staff approve a verified deletion request: it runs now, in a task (the confirmation
    mail first)."""
    locked = _lock(request)
    _check_open_deletion(locked)
    _check_verified(locked)
    if account_of(locked) is None:
        raise ValidationError("This request names no account to delete.")
    request.refresh_from_db()
    request.erase_after = timezone.now()
    _to_in_progress(request, actor=actor, update_fields=("erase_after",))
    request_event(
        request,
        action=Action.NOTE,
        actor=actor,
        message="HexCM staff approved the deletion: the account is erased now.",
    )
    _enqueue_run(request, actor)
    return request


@transaction.atomic
def child_data_confirm(*, request: PrivacyRequest, user: User, actor: User) -> PrivacyRequest:
    """Staff confirm that `user`'s account belongs to someone under 16: it is erased at once
    (in a task, no waiting period, no mail to the account) and the request is done."""
    locked = _lock(request)
    _check_open_deletion(locked, Kind.CHILD_DATA)
    if user is None or user.client_id is None:
        raise ValidationError("Name the client user's account the report is about.")
    request.refresh_from_db()
    request.subject_user = user
    request.erase_after = timezone.now()
    _to_in_progress(request, actor=actor, update_fields=("subject_user", "erase_after"))
    request_event(
        request,
        action=Action.NOTE,
        actor=actor,
        message="HexCM staff confirmed the account belongs to someone under 16: erased at once.",
    )
    audit.record(
        actor=actor,
        action=audit.Action.USER_DELETION_SCHEDULED,
        target=request,
        client=audit.NO_CLIENT,
    )
    _enqueue_run(request, actor)
    return request


def _confirmation_delivered(request: PrivacyRequest, user: User) -> tuple[bool, bool]:
    """Mail the confirmation (once) and try to deliver it now. Returns (delivered, waited
    out): waited out once NOTICE_MAX_WAIT has passed since it was first queued."""
    with transaction.atomic():
        locked = _lock(request)
        message = locked.erasure_notice
        if message is None:
            message = mail.queue(
                to=user.email,
                template="privacy-deletion-confirmation",
                context={"name": user.get_short_name()},
                category=OutboundMessage.Category.ACCOUNT,
            )
            locked.erasure_notice = message
            locked.save(update_fields=["erasure_notice"])
    # Committed: sent by the on-commit task already (eager, or a fast worker), or now.
    if message.status == OutboundMessage.Status.PENDING:
        mail.deliver(message.pk)
    message.refresh_from_db()
    if message.status == OutboundMessage.Status.SENT:
        return True, True
    waited_out = timezone.now() - message.created_at >= NOTICE_MAX_WAIT
    if not waited_out and message.attempts == 1:
        until = message.created_at + NOTICE_MAX_WAIT
        request_event(
            request,
            action=Action.NOTE,
            actor=None,
            message=(
                "The confirmation mail could not be delivered: retried daily; the account is "
                f"erased on {until:%Y-%m-%d} at the latest."
            ),
        )
    return False, waited_out


def deletion_run(*, request: PrivacyRequest, actor: User | None, now=None) -> str:
    """Erase the account of a scheduled or approved deletion (or confirmed child-data
    report) whose time has come, then close the request. Idempotent: "done", "waiting" (the
    confirmation mail is not delivered yet; the daily task tries again) or "skipped" (not
    due, cancelled, already done, or being run by someone else right now).

    Not one transaction: the confirmation mail is committed and delivered first, so that it
    leaves before the address it goes to is erased; the erasure and the closing of the
    request are one transaction."""
    now = now or timezone.now()
    request = PrivacyRequest.objects.get(pk=request.pk)
    if not _due(request, now):
        return "skipped"
    user = account_of(request)
    note = ""
    if user is not None and request.kind == Kind.DELETION:
        delivered, waited_out = _confirmation_delivered(request, user)
        if not delivered and not waited_out:
            return "waiting"
        if not delivered:
            note = " The confirmation mail could not be delivered."
    with transaction.atomic():
        locked = (
            PrivacyRequest.objects.select_for_update(skip_locked=True).filter(pk=request.pk).first()
        )
        if locked is None or not _due(locked, now):
            return "skipped"
        user = account_of(locked)
        total = 0
        if user is not None:
            reason = "child_data" if locked.kind == Kind.CHILD_DATA else "deletion_request"
            total = sum(user_erase(user=user, actor=actor, reason=reason).values())
        locked.refresh_from_db()  # the erasure emptied the requester's fields
        request_event(
            locked,
            action=Action.ERASED,
            actor=actor,
            message=f"{total} records erased or anonymised.{note}",
        )
        locked.erase_after = None
        locked.outcome = (
            f"The account and its personal data were erased on {timezone.now():%Y-%m-%d}."
            if user is not None
            else "The account no longer existed: nothing was left to erase."
        )
        request_transition(
            locked,
            to_status=Status.DONE,
            actor=actor,
            action=Action.DONE,
            update_fields=("erase_after", "outcome"),
        )
    return "done"


def _due(request: PrivacyRequest, now) -> bool:
    return (
        request.kind in ERASING_KINDS
        and request.is_open
        and request.erase_after is not None
        and request.erase_after <= now
    )


def deletions_due(*, now=None) -> dict:
    """The daily run: every deletion or child-data request whose time has passed (including
    those waiting for their confirmation mail). Returns how many ended each way."""
    now = now or timezone.now()
    due = PrivacyRequest.objects.filter(
        kind__in=ERASING_KINDS, status__in=PrivacyRequest.OPEN_STATUSES, erase_after__lte=now
    ).order_by("erase_after")
    results: dict[str, int] = {}
    for request in list(due):
        outcome = deletion_run(request=request, actor=None, now=now)
        results[outcome] = results.get(outcome, 0) + 1
    return results
