"""Privacy requests: the actions that change them. Each records a line of the request's own
timeline (PrivacyRequestEvent) and an audit event, in one transaction.

The request's statuses move only along ALLOWED: a closed request (done, refused, withdrawn)
never reopens; a new request is filed instead.
"""

import hashlib
import time
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.referrals import referral_data_remove
from accounts.services import limit_consume, retry_time, user_update_name
from clients import audit
from clients.models import Client
from opsx import mail
from opsx.models import OutboundMessage
from opsx.personal_data import keyed_hash

from .models import PrivacyRequest, PrivacyRequestEvent

Status = PrivacyRequest.Status
Kind = PrivacyRequest.Kind
RemovalTarget = PrivacyRequest.RemovalTarget
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
    # RECEIVED: the visitor opened the link, the request now waits to be taken up.
    Status.VERIFYING: {
        Status.RECEIVED,
        Status.IN_PROGRESS,
        Status.DONE,
        Status.REFUSED,
        Status.WITHDRAWN,
    },
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


def _audit_client(request: PrivacyRequest):
    """The client whose audit log shows the request's events: the one a prospect data request
    names; for every other request none, even when a client's user files or withdraws it (their
    own request to HexCM is not their employer's business)."""
    return request.client_id or audit.NO_CLIENT


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
    actor_kind: str | None = None,
    audit_action: str | None = None,
) -> PrivacyRequest:
    """Move the request to `to_status` (checked against ALLOWED, under a row lock so two
    people acting at once cannot both move it), with its timeline line and audit event.
    Closing statuses set closed_at. `update_fields`: other fields the caller changed on
    `request` that are saved with it (refusal_reason, outcome...). `actor_kind` for an actor
    with no account (a visitor through their link: REQUESTER); `audit_action` instead of the
    one the status implies."""
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
        actor_kind=actor_kind,
    )
    audit.record(
        actor=actor,
        action=audit_action or AUDIT_ACTIONS.get(to_status, audit.Action.PRIVACY_REQUEST_STATUS),
        target=request,
        client=_audit_client(request),
        changes={"status": (from_status, to_status)},
    )
    return request


# --- the request workflow: filing, confirming, answering -----------------------------------

_LINK_SALT = "privacy.request"


class RequestLinkError(Exception):
    """A request's signed link that cannot be used; the message says why, for its holder."""


def request_token(request: PrivacyRequest) -> str:
    """The requester's link to their request: it confirms a visitor's address once, then keeps
    showing the request's status until it expires (PRIVACY_LINK_MAX_AGE_DAYS)."""
    return signing.dumps(str(request.public_id), salt=_LINK_SALT)


def request_status_url(request: PrivacyRequest) -> str:
    return settings.SITE_URL + reverse("privacy:request_status", args=[request_token(request)])


def request_from_token(token: str) -> PrivacyRequest:
    """The request a link names, or RequestLinkError saying why the link cannot be used."""
    max_age = timedelta(days=settings.PRIVACY_LINK_MAX_AGE_DAYS)
    try:
        public_id = signing.loads(token, salt=_LINK_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise RequestLinkError(
            "This link has expired. If your request is still open, write to us again from the "
            "privacy request form and mention the earlier request."
        ) from None
    except signing.BadSignature:
        raise RequestLinkError(
            "This link is not valid. Check that you opened the whole link from the email."
        ) from None
    request = (
        PrivacyRequest.objects.select_related("client").filter(public_id=public_id).first()
        if isinstance(public_id, str)
        else None
    )
    if request is None:
        raise RequestLinkError("This request no longer exists.")
    return request


def answered_by(request: PrivacyRequest) -> str:
    """Who answers the request, as the requester is told."""
    if request.kind == Kind.PROSPECT_DATA and request.client is not None:
        return f"{request.client.name}'s administrators"
    return "HexCM support"


def _account_for(email: str) -> User | None:
    """The account an address belongs to (its sign-in address or a verified other one)."""
    from allauth.account.models import EmailAddress

    user = User.objects.filter(email=email).first()
    if user is None:
        address = (
            EmailAddress.objects.select_related("user").filter(email=email, verified=True).first()
        )
        user = address.user if address else None
    return user


def _mail_requester(request: PrivacyRequest, template: str, **context) -> None:
    if not request.requester_email:
        return
    mail.queue(
        to=request.requester_email,
        template=template,
        context={
            "request": request,
            "url": request_status_url(request),
            "answered_by": answered_by(request),
            **context,
        },
        category=mail.Category.ACCOUNT,
        secret_ttl=timedelta(days=settings.PRIVACY_LINK_MAX_AGE_DAYS),
    )


def _refuse_unless_open(request: PrivacyRequest) -> None:
    if not request.is_open:
        raise ValidationError(
            f"This request is {request.get_status_display().lower()}: nothing more can be done "
            "with it.",
            code="closed",
        )


def _refuse_unless_verified(request: PrivacyRequest) -> None:
    if request.verified_at is None:
        raise ValidationError(
            "The requester has not confirmed their address yet: nothing is done before that.",
            code="unverified",
        )


def _refuse_unless_answerer(request: PrivacyRequest, actor: User | None) -> None:
    """A prospect data request is answered by its client's admins, every other one by HexCM
    staff (the system, actor None, may act on either)."""
    if actor is None:
        return
    if request.kind == Kind.PROSPECT_DATA:
        allowed = actor.client_id == request.client_id and actor.is_client_admin
        who = "its company's administrators"
    else:
        allowed = actor.is_staff and actor.client_id is None
        who = "HexCM support"
    if not allowed:
        raise ValidationError(f"This request is answered by {who}.", code="not_answerer")


def _locked(request: PrivacyRequest) -> PrivacyRequest:
    """Re-read the request under a row lock; copy what changed onto the caller's instance."""
    locked = PrivacyRequest.objects.select_for_update().get(pk=request.pk)
    for field in ("status", "verified_at", "extended_at", "due_at", "assignee_id", "notes"):
        setattr(request, field, getattr(locked, field))
    return request


def public_request_limit(*, ip: str) -> None:
    """Count one request from the public form against PRIVACY_REQUESTS_PER_IP_PER_HOUR for
    `ip`, or raise ValidationError (code "rate_limited") saying when to try again: the form
    sends mail to any address typed in, so it must not become a way to mail strangers."""
    amount = settings.PRIVACY_REQUESTS_PER_IP_PER_HOUR
    if amount <= 0:
        return
    key = "privacy-request-ip:" + hashlib.sha256(ip.encode()).hexdigest()
    retry = limit_consume(key, amount=amount, window=3600, now=time.time())
    if retry is not None:
        raise ValidationError(
            f"We have received {amount} privacy requests from your network in the last hour, "
            f"the most we accept. Nothing was sent. Try again after {retry_time(retry)}, or "
            "write to HexCM support by email.",
            code="rate_limited",
        )


FILED_MESSAGES = {
    PrivacyRequest.Channel.ACCOUNT: "Filed from the account pages.",
    PrivacyRequest.Channel.PUBLIC: "Filed from the public request form.",
    PrivacyRequest.Channel.STAFF: "Filed by HexCM support on the requester's behalf.",
}


@transaction.atomic
def request_file(
    *,
    kind: str,
    channel: str,
    requester: User | None = None,
    name: str,
    email: str,
    details: str,
    client: Client | None = None,
    removal_target: str = "",
    reference: str = "",
    filed_by: User | None = None,
) -> PrivacyRequest:
    """Record a privacy request, due by `due_for(kind)` from now.

    channel ACCOUNT: `requester` is the signed-in user; their own name and address are used and
    the request counts as confirmed. STAFF: `filed_by` (staff) took it by letter or phone and
    checked who asks; it is confirmed, and linked to the account the address belongs to. PUBLIC:
    a visitor; the request waits (VERIFYING) for the link mailed to `email`, and nothing is
    done, or shown to anyone but staff, before it is opened.
    """
    Channel = PrivacyRequest.Channel
    if kind not in Kind.values:
        raise ValidationError("Choose what the request is about.", code="kind")
    if channel == Channel.ACCOUNT:
        if requester is None:
            raise ValueError("an account request needs its requester")
        name, email = requester.full_name or name, requester.email
    elif channel == Channel.STAFF:
        if filed_by is None or not filed_by.is_staff:
            raise ValueError("a request filed by staff needs the staff member")
    elif channel != Channel.PUBLIC:
        raise ValueError(f"unknown channel {channel!r}")
    email = (email or "").strip().lower()
    if not email:
        raise ValidationError("An email address is needed to answer the request.", code="email")
    if kind == Kind.PROSPECT_DATA:
        if client is None or not client.is_active:
            raise ValidationError(
                "Choose the company that holds your data from the search.", code="client"
            )
    else:
        client = None
    if kind == Kind.REMOVAL:
        if removal_target not in PrivacyRequest.RemovalTarget.values:
            raise ValidationError("Choose what should be removed.", code="removal_target")
    else:
        removal_target = ""
    if kind not in (Kind.REMOVAL, Kind.CORRECTION):
        reference = ""
    now = timezone.now()
    public = channel == Channel.PUBLIC
    if channel == Channel.STAFF:
        requester = _account_for(email)
    if requester is not None and kind in (Kind.ACCESS, Kind.DELETION):
        _refuse_if_already_open(requester, kind)
    request = PrivacyRequest.objects.create(
        kind=kind,
        channel=channel,
        status=Status.VERIFYING if public else Status.RECEIVED,
        requester=requester,
        requester_name=name.strip()[:150],
        requester_email=email,
        requester_hash=keyed_hash(email),
        client=client,
        removal_target=removal_target,
        reference=reference.strip()[:500],
        details=details.strip(),
        received_at=now,
        due_at=due_for(kind, now),
        verification_sent_at=now if public else None,
        verified_at=None if public else now,
        filed_by=filed_by if channel == Channel.STAFF else None,
    )
    actor = filed_by if channel == Channel.STAFF else requester
    request_event(
        request,
        action=Action.FILED,
        actor=actor,
        actor_kind=ActorKind.STAFF if channel == Channel.STAFF else ActorKind.REQUESTER,
        message=FILED_MESSAGES[channel],
        to_status=request.status,
    )
    if public:
        _mail_requester(
            request, "privacy-request-confirm", max_age_days=settings.PRIVACY_LINK_MAX_AGE_DAYS
        )
        request_event(
            request,
            action=Action.VERIFICATION_SENT,
            actor=None,
            actor_kind=ActorKind.SYSTEM,
            message="A link to confirm the address was emailed.",
        )
    elif channel == Channel.STAFF:
        _mail_requester(request, "privacy-request-received")
    audit.record(
        actor=actor,
        action=audit.Action.PRIVACY_REQUEST_FILED,
        target=request,
        client=_audit_client(request),
        changes={"kind": (None, kind), "status": (None, request.status)},
    )
    if request.verified_at is not None:
        _start_fulfilment(request)
    return request


def _refuse_if_already_open(requester: User, kind: str) -> None:
    """One open copy or deletion request per account: a second one (a double submit) would
    build a second copy, or keep a deletion scheduled after the user cancelled the first.
    Locks the account's row so two submits at once cannot both pass."""
    User.objects.select_for_update().filter(pk=requester.pk).first()
    if PrivacyRequest.objects.filter(
        requester=requester, kind=kind, status__in=PrivacyRequest.OPEN_STATUSES
    ).exists():
        raise ValidationError(
            f"You already have an open request of this kind ({Kind(kind).label.lower()}): "
            "see it in Privacy and your data.",
            code="duplicate",
        )


def _start_fulfilment(request: PrivacyRequest) -> None:
    """What starts by itself once a request is confirmed and names an account: an access
    request's copy of the data is built (a task), an account deletion is scheduled for the end
    of its waiting period (the user can cancel until then; staff may run it sooner). The rest
    waits for whoever answers it."""
    if request.requester_id is None:
        return
    if request.kind == Kind.ACCESS:
        from .archive import archive_request  # archive builds on this module

        archive_request(user=request.requester, request=request, actor=None)
    elif request.kind == Kind.DELETION and settings.PRIVACY_DELETION_WAIT_DAYS > 0:
        from .deletion import deletion_schedule  # deletion builds on this module

        deletion_schedule(request=request, actor=None)


@transaction.atomic
def request_verify(*, request: PrivacyRequest, actor: User | None = None) -> bool:
    """Confirm a visitor's request: by its link (actor None) or by staff who checked the
    address another way. Happens once: True if this call confirmed it. The account the address
    belongs to, if any, becomes the requester (the request then shows in its account pages)."""
    _locked(request)
    if request.verified_at is not None:
        return False
    if request.status != Status.VERIFYING:
        raise ValidationError(
            f"This request is {request.get_status_display().lower()}: it can no longer be "
            "confirmed.",
            code="closed",
        )
    if actor is not None:
        _refuse_unless_answerer(request, actor)
    request.verified_at = timezone.now()
    fields = ["verified_at"]
    if request.requester_id is None:
        request.requester = _account_for(request.requester_email)
        fields.append("requester")
    request_transition(
        request,
        to_status=Status.RECEIVED,
        actor=actor,
        action=Action.VERIFIED,
        message="The requester's address is confirmed."
        if actor is None
        else "HexCM support confirmed the requester's identity.",
        update_fields=tuple(fields),
        actor_kind=ActorKind.REQUESTER if actor is None else None,
        audit_action=audit.Action.PRIVACY_REQUEST_VERIFIED,
    )
    _start_fulfilment(request)
    return True


@transaction.atomic
def request_assign(
    *, request: PrivacyRequest, assignee: User | None, actor: User
) -> PrivacyRequest:
    """Give the request to a member of HexCM staff (None: to nobody)."""
    _locked(request)
    _refuse_unless_open(request)
    _refuse_unless_answerer(request, actor)
    if assignee is not None and not (
        assignee.is_staff and assignee.is_active and assignee.client_id is None
    ):
        raise ValidationError("Requests are assigned to HexCM staff only.", code="assignee")
    request.assignee = assignee
    request.save(update_fields=["assignee"])
    request_event(
        request,
        action=Action.ASSIGNED,
        actor=actor,
        # No name in the timeline: it outlives the assignee's erasure. The request's assignee
        # key (cleared by erasure) says who holds it now.
        message="Assigned to a member of HexCM staff." if assignee else "Unassigned.",
    )
    audit.record(
        actor=actor,
        action=audit.Action.PRIVACY_REQUEST_ASSIGNED,
        target=request,
        client=_audit_client(request),
        changes={"assignee": (None, None)},
    )
    return request


def extension_period(kind: str) -> timedelta:
    """An extension adds the request's own period once more: 30 days, or 72 hours for a
    child-data report (which must stay urgent)."""
    now = timezone.now()
    return due_for(kind, now) - now


@transaction.atomic
def request_extend(*, request: PrivacyRequest, reason: str, actor: User) -> PrivacyRequest:
    """Push the deadline back by the request's own period, once only, with a reason the
    requester is emailed."""
    reason = reason.strip()
    _locked(request)
    _refuse_unless_open(request)
    _refuse_unless_answerer(request, actor)
    if request.extended_at is not None:
        raise ValidationError(
            "The deadline of this request was already extended once; it cannot be again.",
            code="already_extended",
        )
    if not reason:
        raise ValidationError("Give the reason the requester will be told.", code="reason")
    old_due = request.due_at
    request.due_at = old_due + extension_period(request.kind)
    request.extended_at = timezone.now()
    request.extension_reason = reason
    request.save(update_fields=["due_at", "extended_at", "extension_reason"])
    request_event(
        request,
        action=Action.EXTENDED,
        actor=actor,
        message=f"Deadline moved from {old_due:%Y-%m-%d} to {request.due_at:%Y-%m-%d}: {reason}",
    )
    audit.record(
        actor=actor,
        action=audit.Action.PRIVACY_REQUEST_EXTENDED,
        target=request,
        client=_audit_client(request),
        changes={"due_at": (old_due, request.due_at)},
    )
    _mail_requester(request, "privacy-request-extended", reason=reason)
    return request


@transaction.atomic
def request_start(*, request: PrivacyRequest, actor: User) -> PrivacyRequest:
    """Mark a confirmed request as being worked on."""
    _locked(request)
    _refuse_unless_answerer(request, actor)
    _refuse_unless_verified(request)
    return request_transition(request, to_status=Status.IN_PROGRESS, actor=actor)


@transaction.atomic
def request_refuse(*, request: PrivacyRequest, reason: str, actor: User) -> PrivacyRequest:
    """Refuse the request with a reason, which the requester is emailed (for example a forum
    post that must stay, or an unconfirmed identity)."""
    reason = reason.strip()
    _locked(request)
    _refuse_unless_open(request)
    _refuse_unless_answerer(request, actor)
    if not reason:
        raise ValidationError("Give the reason the requester will be told.", code="reason")
    request.refusal_reason = reason
    request_transition(
        request,
        to_status=Status.REFUSED,
        actor=actor,
        action=Action.REFUSED,
        message=reason,
        update_fields=("refusal_reason",),
    )
    _mail_requester(request, "privacy-request-refused", reason=reason)
    return request


@transaction.atomic
def request_complete(
    *, request: PrivacyRequest, actor: User | None, outcome: str
) -> PrivacyRequest:
    """Close a confirmed request as answered; `outcome` (what was done) is emailed to the
    requester."""
    outcome = outcome.strip()
    _locked(request)
    _refuse_unless_open(request)
    _refuse_unless_answerer(request, actor)
    _refuse_unless_verified(request)
    if not outcome:
        raise ValidationError("Say what was done: the requester is told.", code="outcome")
    request.outcome = outcome
    request_transition(
        request,
        to_status=Status.DONE,
        actor=actor,
        action=Action.DONE,
        message=outcome,
        update_fields=("outcome",),
    )
    _mail_requester(request, "privacy-request-done", outcome=outcome)
    return request


@transaction.atomic
def request_correct_name(*, request: PrivacyRequest, full_name: str, actor: User) -> PrivacyRequest:
    """Staff apply a correction request to the requester's name (accounts.services
    user_update_name: the old value stays in their revision history, with staff as who changed
    it) and close the request, telling the requester what was corrected."""
    _locked(request)
    _refuse_unless_open(request)
    _refuse_unless_answerer(request, actor)
    _refuse_unless_verified(request)
    if request.kind != Kind.CORRECTION:
        raise ValidationError("Only a correction request is answered with a correction.")
    if request.requester is None:
        raise ValidationError("This request names no account to correct.")
    user_update_name(user=request.requester, full_name=full_name, acting_user=actor)
    request_event(request, action=Action.CORRECTED, actor=actor, message="The name was corrected.")
    return request_complete(
        request=request,
        actor=actor,
        outcome="Your name was corrected in your account; the previous value is kept in your "
        "account's revision history.",
    )


REFERRAL_REMOVED_OUTCOME = (
    "We deleted every referral to your address and put it on our list of addresses that never "
    "get referral mail, so nobody can send you an invitation through OpsX again."
)


@transaction.atomic
def request_remove_referrals(*, request: PrivacyRequest, actor: User) -> PrivacyRequest:
    """Answer a removal request for referral data: the same as the friend's own link in a
    referral mail (accounts.referrals.referral_data_remove, for the requester's confirmed
    address), then close the request, telling the requester."""
    _locked(request)
    _refuse_unless_open(request)
    _refuse_unless_answerer(request, actor)
    _refuse_unless_verified(request)
    if request.kind != Kind.REMOVAL or request.removal_target != RemovalTarget.REFERRAL:
        raise ValidationError("Only a removal request for referral data is answered this way.")
    referral_data_remove(address=request.requester_email, actor=actor)
    return request_complete(request=request, actor=actor, outcome=REFERRAL_REMOVED_OUTCOME)


@transaction.atomic
def request_withdraw(*, request: PrivacyRequest, actor: User | None) -> PrivacyRequest:
    """The requester withdraws their open request: signed in (actor is the requester) or
    through their link (actor None)."""
    _locked(request)
    if actor is not None and actor.pk != request.requester_id:
        raise ValidationError("Only the requester can withdraw a request.", code="not_requester")
    _refuse_unless_open(request)
    return request_transition(
        request,
        to_status=Status.WITHDRAWN,
        actor=actor,
        action=Action.WITHDRAWN,
        message="The requester withdrew the request.",
        actor_kind=ActorKind.REQUESTER,
    )


@transaction.atomic
def request_note(*, request: PrivacyRequest, note: str, actor: User) -> PrivacyRequest:
    """Add to the working notes of whoever answers the request; never shown to the requester
    (the timeline line says only that a note was added)."""
    note = note.strip()
    if not note:
        raise ValidationError("Write the note first.", code="note")
    _locked(request)
    _refuse_unless_answerer(request, actor)
    stamp = f"{timezone.localtime():%Y-%m-%d %H:%M} {actor}"
    request.notes = f"{request.notes}\n\n{stamp}: {note}".strip()
    request.save(update_fields=["notes"])
    request_event(request, action=Action.NOTE, actor=actor, message="Note added.")
    audit.record(
        actor=actor,
        action=audit.Action.PRIVACY_REQUEST_NOTED,
        target=request,
        client=_audit_client(request),
        changes={"notes": (None, None)},
    )
    return request


# --- daily: unconfirmed requests expire, staff get their digest ---------------------------

UNCONFIRMED_REASON = (
    "The confirmation link was never opened before it expired, so nothing was done. The "
    "details of the request were deleted."
)


def requests_close_unconfirmed() -> int:
    """Close the visitors' requests whose confirmation link expired unopened: refused with a
    reason (no mail: the address was never shown to be the requester's), and the name, the
    address and what they wrote deleted. Only the keyed hash of the address stays with the
    closed request, so a stranger's data is not kept for a request nobody confirmed. Returns
    how many were closed."""
    cutoff = timezone.now() - timedelta(days=settings.PRIVACY_LINK_MAX_AGE_DAYS)
    ids = list(
        PrivacyRequest.objects.filter(
            status=Status.VERIFYING, verified_at__isnull=True, verification_sent_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    closed = 0
    for pk in ids:
        with transaction.atomic():
            request = (
                PrivacyRequest.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=Status.VERIFYING)
                .first()
            )
            if request is None:  # confirmed or closed meanwhile, or another run has it
                continue
            request.refusal_reason = UNCONFIRMED_REASON
            request.requester_name = request.requester_email = ""
            request.details = request.reference = ""
            request_transition(
                request,
                to_status=Status.REFUSED,
                actor=None,
                action=Action.REFUSED,
                message=UNCONFIRMED_REASON,
                update_fields=(
                    "refusal_reason",
                    "requester_name",
                    "requester_email",
                    "details",
                    "reference",
                ),
            )
            closed += 1
    return closed


DIGEST_SUBJECT_START = "Privacy requests:"  # emails/privacy-requests-digest-subject.txt


def requests_digest_send() -> int:
    """Mail each active member of HexCM staff the open, confirmed requests that are overdue or
    due within 7 days: kind, time left, status and the admin link; never a requester's name,
    address or details (of a prospect data request, only the company that answers it). Nothing
    is sent on a day with nothing due. Returns how many mails were queued. Changes no request,
    so it records no audit event (the outbox rows are its record)."""
    from .queries import deadline, digest_requests

    overdue, due_soon = digest_requests()
    if not overdue and not due_soon:
        return 0

    def rows(requests):
        return [
            {
                "kind": r.get_kind_display(),
                "left": deadline(r).label,
                "status": r.get_status_display().lower(),
                "client": r.client.name if r.kind == Kind.PROSPECT_DATA and r.client else "",
                "url": settings.SITE_URL
                + reverse("admin:privacy_privacyrequest_change", args=[r.pk]),
            }
            for r in requests
        ]

    context = {
        "overdue": rows(overdue),
        "due_soon": rows(due_soon),
        "list_url": settings.SITE_URL + reverse("admin:privacy_privacyrequest_changelist"),
    }
    staff = User.objects.filter(is_staff=True, is_active=True, client__isnull=True)
    sent = 0
    with transaction.atomic():
        # Once a day: a second run (beat restarted, a retry, two at once: the row locks make
        # the second wait) skips whoever already has today's digest.
        members = list(staff.select_for_update().only("email", "full_name").order_by("pk"))
        midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        already = set(
            OutboundMessage.objects.filter(
                created_at__gte=midnight, subject__startswith=DIGEST_SUBJECT_START
            ).values_list("to_email", flat=True)
        )
        for member in members:
            if member.email in already:
                continue
            mail.queue(
                to=member.email,
                template="privacy-requests-digest",
                context={**context, "staff": member.full_name or member.email},
                category=mail.Category.ACCOUNT,
            )
            sent += 1
    return sent
