"""Reads of privacy requests: the requester's, the client admins', the staff list."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Now
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User
from clients.models import Client

from .models import PrivacyRequest, PrivacyRequestEvent

Kind = PrivacyRequest.Kind
Action = PrivacyRequestEvent.Action

# Timeline lines the requester reads; assignments and staff notes are for whoever answers.
REQUESTER_ACTIONS = [a for a in Action.values if a not in (Action.ASSIGNED, Action.NOTE)]
DUE_SOON_DAYS = 7
COMPANY_SEARCH_MIN = 3
COMPANY_SEARCH_MAX = 10


# --- deadlines ------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    label: str  # "12 days left", "30 hours left", "overdue by 2 days"
    css: str  # "overdue", "due-soon" or ""


def deadline(request: PrivacyRequest, now: datetime | None = None) -> Deadline:
    """How much time the request has left, as staff and admins read it; closed: none."""
    if not request.is_open:
        return Deadline(request.get_status_display(), "")
    if request.status == PrivacyRequest.Status.VERIFYING:
        # Nothing can be done before the requester confirms: no deadline to chase yet.
        return Deadline("awaiting the requester's confirmation", "")
    left = request.due_at - (now or timezone.now())
    hours = left.total_seconds() / 3600
    if hours < 0:
        if -hours < 24:
            late = max(1, math.floor(-hours))
            return Deadline(f"overdue by {late} hour{'s' if late != 1 else ''}", "overdue")
        days = math.floor(-hours / 24)
        return Deadline(f"overdue by {days} day{'s' if days != 1 else ''}", "overdue")
    css = "due-soon" if left <= timedelta(days=DUE_SOON_DAYS) else ""
    if hours < 72:  # the last three days (all of a child-data report) count in hours
        whole = math.floor(hours)
        return Deadline(f"{whole} hour{'s' if whole != 1 else ''} left", css)
    days = math.floor(hours / 24)
    return Deadline(f"{days} days left", css)


# --- the requester --------------------------------------------------------------------


def account_requests(user: User) -> QuerySet[PrivacyRequest]:
    return (
        PrivacyRequest.objects.filter(requester=user)
        .select_related("client")
        .order_by("-received_at")
    )


def access_account_request(user: User, public_id) -> PrivacyRequest:
    """The user's own request, or 404 (another person's request does not exist for them)."""
    return get_object_or_404(account_requests(user), public_id=public_id)


def requester_timeline(request: PrivacyRequest) -> QuerySet[PrivacyRequestEvent]:
    return request.events.filter(action__in=REQUESTER_ACTIONS).order_by("at", "pk")


def company_search(text: str) -> list[Client]:
    """Active clients whose name contains `text` (at least COMPANY_SEARCH_MIN characters), by
    name only, at most COMPANY_SEARCH_MAX: a visitor finds the company they mean, never a list
    of every client."""
    text = text.strip()[:100].replace("\x00", "")
    if len(text) < COMPANY_SEARCH_MIN:
        return []
    return list(
        Client.objects.filter(status=Client.Status.ACTIVE, name__icontains=text)
        .only("public_id", "name")
        .order_by("name")[:COMPANY_SEARCH_MAX]
    )


def active_company(public_id) -> Client | None:
    return (
        Client.objects.filter(status=Client.Status.ACTIVE, public_id=public_id)
        .only("public_id", "name", "status")
        .first()
    )


# --- the client's admins (inside the client's tenant scope) ---------------------------


def client_requests(client: Client) -> QuerySet[PrivacyRequest]:
    """The prospect data requests naming `client`, once their requesters confirmed them."""
    return (
        PrivacyRequest.objects.filter(
            client=client, kind=Kind.PROSPECT_DATA, verified_at__isnull=False
        )
        .annotate(open_first=Case(When(_open(), then=Value(0)), default=1))
        .order_by("open_first", "due_at")
    )


def access_client_request(client: Client, public_id) -> PrivacyRequest:
    return get_object_or_404(client_requests(client), public_id=public_id)


# --- HexCM staff -----------------------------------------------------------------------


def _open() -> Q:
    return Q(status__in=PrivacyRequest.OPEN_STATUSES)


def _actionable() -> Q:
    """Open and confirmed: someone must act on it by its deadline."""
    return Q(status__in=[PrivacyRequest.Status.RECEIVED, PrivacyRequest.Status.IN_PROGRESS])


def staff_priority() -> Case:
    """0: child-data reports to act on, 1: overdue ones, 2: the rest to act on, 3: waiting for
    the requester's confirmation, 4: closed."""
    return Case(
        When(_actionable() & Q(kind=Kind.CHILD_DATA), then=Value(0)),
        When(_actionable() & Q(due_at__lt=Now()), then=Value(1)),
        When(_actionable(), then=Value(2)),
        When(_open(), then=Value(3)),
        default=Value(4),
        output_field=IntegerField(),
    )


def staff_request_list() -> QuerySet[PrivacyRequest]:
    return (
        PrivacyRequest.objects.select_related("assignee", "client")
        .annotate(priority=staff_priority())
        .order_by("priority", "due_at")
    )


def digest_requests(now: datetime | None = None) -> tuple[list, list]:
    """(overdue, due within DUE_SOON_DAYS): open requests whose requester confirmed them."""
    now = now or timezone.now()
    rows = list(
        PrivacyRequest.objects.filter(
            _open(),
            verified_at__isnull=False,
            due_at__lte=now + timedelta(days=DUE_SOON_DAYS),
        )
        .select_related("client")
        .only("public_id", "kind", "status", "due_at", "client__name")
        .annotate(priority=staff_priority())
        .order_by("priority", "due_at")
    )
    return [r for r in rows if r.due_at < now], [r for r in rows if r.due_at >= now]
