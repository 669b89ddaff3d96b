"""Privacy requests: the actions that change them. Each records a line of the request's own
timeline (PrivacyRequestEvent) and an audit event, in one transaction.

The request's statuses move only along ALLOWED: a closed request (done, refused, withdrawn)
never reopens; a new request is filed instead.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from clients import audit

from .models import PrivacyRequest, PrivacyRequestEvent

Status = PrivacyRequest.Status
Kind = PrivacyRequest.Kind
Action = PrivacyRequestEvent.Action
ActorKind = PrivacyRequestEvent.ActorKind

ALLOWED = {
    Status.RECEIVED: {
        Status.VERIFYING,
        Status.IN_PROGRESS,
        Status.DONE,
        Status.REFUSED,
        Status.WITHDRAWN,
    },
    Status.VERIFYING: {Status.IN_PROGRESS, Status.DONE, Status.REFUSED, Status.WITHDRAWN},
    Status.IN_PROGRESS: {Status.DONE, Status.REFUSED, Status.WITHDRAWN},
    Status.DONE: set(),
    Status.REFUSED: set(),
    Status.WITHDRAWN: set(),
}


def due_for(kind: str, received_at):
    """When a request of `kind` received at `received_at` must be answered: 72 hours for a
    report of a child's data, 30 days for the rest (settings)."""
    if kind == Kind.CHILD_DATA:
        return received_at + timedelta(hours=settings.PRIVACY_CHILD_DATA_DUE_HOURS)
    return received_at + timedelta(days=settings.PRIVACY_REQUEST_DUE_DAYS)


def actor_kind_for(request: PrivacyRequest, actor: User | None) -> str:
    if actor is None:
        return ActorKind.SYSTEM
    if actor.is_staff and actor.client_id is None:
        return ActorKind.STAFF
    if request.requester_id is not None and actor.pk == request.requester_id:
        return ActorKind.REQUESTER
    if request.client_id is not None and actor.client_id == request.client_id:
        return ActorKind.CLIENT_ADMIN
    return ActorKind.REQUESTER


def request_event(
    request: PrivacyRequest,
    *,
    action: str,
    actor: User | None,
    message: str = "",
    from_status: str = "",
    to_status: str = "",
    actor_kind: str | None = None,
) -> PrivacyRequestEvent:
    """Add one line to the request's timeline. `message` is read by staff and the requester:
    what happened, never the personal data itself."""
    return PrivacyRequestEvent.objects.create(
        request=request,
        at=timezone.now(),
        actor=actor,
        actor_kind=actor_kind or actor_kind_for(request, actor),
        action=action,
        from_status=from_status,
        to_status=to_status,
        message=message,
    )


AUDIT_ACTIONS = {
    Status.DONE: audit.Action.PRIVACY_REQUEST_DONE,
    Status.REFUSED: audit.Action.PRIVACY_REQUEST_REFUSED,
    Status.WITHDRAWN: audit.Action.PRIVACY_REQUEST_WITHDRAWN,
}


@transaction.atomic
def request_transition(
    request: PrivacyRequest,
    *,
    to_status: str,
    actor: User | None,
    action: str = Action.STATUS_CHANGED,
    message: str = "",
    update_fields: tuple[str, ...] = (),
) -> PrivacyRequest:
    """Move the request to `to_status` (checked against ALLOWED, under a row lock so two
    people acting at once cannot both move it), with its timeline line and audit event.
    Closing statuses set closed_at. `update_fields`: other fields the caller changed on
    `request` that are saved with it (refusal_reason, outcome...)."""
    locked = PrivacyRequest.objects.select_for_update().get(pk=request.pk)
    if to_status not in ALLOWED[locked.status]:
        raise ValidationError(
            f"This request is {locked.get_status_display().lower()}: it cannot become "
            f"{Status(to_status).label.lower()}."
        )
    from_status = locked.status
    request.status = to_status
    fields = {"status", *update_fields}
    if to_status not in PrivacyRequest.OPEN_STATUSES:
        request.closed_at = timezone.now()
        fields.add("closed_at")
    request.save(update_fields=sorted(fields))
    request_event(
        request,
        action=action,
        actor=actor,
        message=message,
        from_status=from_status,
        to_status=to_status,
    )
    audit.record(
        actor=actor,
        action=AUDIT_ACTIONS.get(to_status, audit.Action.PRIVACY_REQUEST_STATUS),
        target=request,
        client=request.client_id,
        changes={"status": (from_status, to_status)},
    )
    return request
