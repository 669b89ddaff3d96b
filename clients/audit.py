"""The audit trail: the one function that writes an AuditEvent, and the reads of the log.

Services call `record()` inside their own transaction, so an event exists exactly when its
change committed. The request's IP address comes from a context variable set by
clients.middleware.AuditContextMiddleware: services need no `request` argument, and Celery
tasks and management commands (no request) record none.

Why our own small model rather than django-pghistory: pghistory records every row change by
trigger. We want one event per action (a bulk change of 500 prospects or an import of 100,000
rows is one event with counts, and the import's COPY must not pay a trigger per row), events for
things that change no row of ours (an export, a download), and no copy of personal data (a row
snapshot holds names, emails and notes, which erasure would then have to hunt down in history).
"""

import base64
import contextvars
import datetime
import json
import uuid
from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from .models import AuditEvent, Client

Action = AuditEvent.Action

# Fields whose old and new values may be kept: states and flags, never what a person wrote or
# what identifies one. Any other field changed is recorded by name only.
VALUE_FIELDS = frozenset(
    {
        "status",
        "role",
        "is_active",
        "outcome",
        "on_duplicate",
        "kind",
        "required",
        "key",
        "revoke_reason",
        "device_policy",
        "platform",
        "service_notices",
        "newsletter",
        "audience",
    }
)

_request: contextvars.ContextVar = contextvars.ContextVar("opsx_audit_request", default=None)


# --- request context ------------------------------------------------------------------


def set_request(request) -> contextvars.Token:
    """Make `request` the current one for events recorded until reset_request(token)."""
    return _request.set(request)


def reset_request(token: contextvars.Token) -> None:
    _request.reset(token)


def current_ip() -> str | None:
    """The current request's client IP through allauth's adapter (which honours the trusted
    proxy settings), or None outside a request or when it cannot be told."""
    request = _request.get()
    if request is None:
        return None
    if not hasattr(request, "_opsx_audit_ip"):
        from allauth.account.adapter import get_adapter

        try:
            request._opsx_audit_ip = get_adapter(request).get_client_ip(request)
        except (PermissionDenied, ImproperlyConfigured):
            # no usable address (or a proxy header that does not match the setting): an event
            # without an IP beats refusing the action
            request._opsx_audit_ip = None
    return request._opsx_audit_ip


# --- writing ----------------------------------------------------------------------------


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, models.Model):
        return str(getattr(value, "public_id", value.pk))
    return str(value)


def _changes(changes: dict | None) -> dict:
    out = {}
    for name, values in (changes or {}).items():
        if name in VALUE_FIELDS and isinstance(values, (tuple, list)) and len(values) == 2:
            out[name] = {"old": _plain(values[0]), "new": _plain(values[1])}
        else:
            out[name] = {}  # personal, or free text: that it changed, not what it says
    return out


class _NoClient:
    def __repr__(self) -> str:
        return "NO_CLIENT"


# record(client=NO_CLIENT): the event belongs to no client, even when the actor is a client's
# user (a user's own privacy request to HexCM is no business of their employer's admins).
NO_CLIENT = _NoClient()


def actor_kind_of(actor) -> str:
    if actor is None:
        return AuditEvent.ActorKind.SYSTEM
    if actor.client_id is None:
        return AuditEvent.ActorKind.STAFF
    return AuditEvent.ActorKind.USER


def record(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    client: Client | int | object | None = None,
    changes: dict | None = None,
    counts: dict[str, int] | None = None,
) -> AuditEvent:
    """Write one audit event in the caller's transaction.

    actor: the User who acted, or None for the system (a task, a command). target: the model
    instance acted on; its label and public id are kept, never its name. client: the tenant the
    event belongs to; by default the target's client, else the actor's (NO_CLIENT: none).
    changes: {field: (old, new)}; values are kept only for VALUE_FIELDS, every other field by name only, so a caller
    cannot leak a name or an email here by mistake. counts: {what: how many} for batches.
    """
    if client is NO_CLIENT:
        client_id = None
    elif client is None:
        client_id = getattr(target, "client_id", None) or getattr(actor, "client_id", None)
    else:
        client_id = client.pk if isinstance(client, Client) else client
    return AuditEvent.objects.create(
        client_id=client_id,
        actor=actor,
        actor_kind=actor_kind_of(actor),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=getattr(target, "public_id", None) if target is not None else None,
        changes=_changes(changes),
        counts={k: int(v) for k, v in (counts or {}).items()},
        ip_address=current_ip() if actor is not None else None,
    )


def anonymise_user(user) -> int:
    """Detach a person being erased from the audit trail, keeping every event.

    Events hold no name or email of theirs (record() never copies one), only the key of their
    user row as actor and their public id as target. Both are cleared here, the one change the
    table's trigger allows, so the events read "erased user" whether the row is then deleted or
    kept anonymised. Returns how many events were touched. Deleting the user row alone also
    clears `actor` (SET_NULL); only the target id needs this function.
    """
    as_actor = AuditEvent.objects.filter(actor=user).update(actor=None)
    as_target = AuditEvent.objects.filter(
        target_type=user._meta.label_lower, target_id=user.public_id
    ).update(target_id=None)
    return as_actor + as_target


# --- reading: the client admin's log --------------------------------------------------

PAGE_SIZE = 50
_MAX_PK = 2**63 - 1
# Targets a row can link to while they exist: model label -> URL name (the prospects app's
# URL names, by name only, so this ground-floor app imports nothing of it).
TARGET_LINKS = {
    "prospects.prospect": "prospects:detail",
    "prospects.visit": "prospects:visit",
    "prospects.folder": "prospects:folder",
    "prospects.importjob": "prospects:import_detail",
}
TARGET_WORDS = {
    "accounts.user": "user",
    "accounts.invitation": "invitation",
    "clients.client": "client account",
    "prospects.prospect": "prospect",
    "prospects.visit": "visit",
    "prospects.folder": "folder",
    "prospects.storedfile": "file",
    "prospects.importjob": "import",
    "prospects.customfield": "prospect field",
    "prospects.checklist": "checklist",
}


@dataclass
class LogFilters:
    person: str = ""  # a user's public id
    action: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, params) -> "LogFilters":
        """Read filters from a query string; anything malformed is dropped with a message."""
        f = cls()
        person = params.get("person", "").strip()
        if person:
            try:
                f.person = str(uuid.UUID(person[:100]))
            except ValueError:
                f.errors.append("Unknown person; not filtered by person.")
        action = params.get("action", "").strip()
        if action:
            if action in Action.values:
                f.action = action
            else:
                f.errors.append("Unknown action; not filtered by action.")
        for name, label in (("date_from", "From"), ("date_to", "To")):
            raw = params.get(name, "").strip()
            if not raw:
                continue
            try:
                setattr(f, name, datetime.date.fromisoformat(raw[:20]))
            except ValueError:
                f.errors.append(f"“{label}” must be a date like 2026-03-31; not filtered by it.")
        if f.date_from and f.date_to and f.date_from > f.date_to:
            f.errors.append("“From” is after “To”; showing both days' range swapped.")
            f.date_from, f.date_to = f.date_to, f.date_from
        return f

    def as_query(self) -> dict:
        values = {"person": self.person, "action": self.action}
        values["date_from"] = self.date_from.isoformat() if self.date_from else ""
        values["date_to"] = self.date_to.isoformat() if self.date_to else ""
        return {k: v for k, v in values.items() if v}


def _day_start(day: datetime.date) -> datetime.datetime | None:
    try:
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    except (OverflowError, ValueError):  # the first or last representable day
        return None


def client_log(client: Client, filters: LogFilters, *, people) -> models.QuerySet[AuditEvent]:
    """The client's events matching `filters`, newest first. `people`: the client's users, for
    the person filter (an id that is not one of them is reported, not searched)."""
    qs = AuditEvent.objects.filter(client=client)
    if filters.person:
        person = next((p for p in people if str(p.public_id) == filters.person), None)
        if person is None:
            filters.errors.append("Unknown person; not filtered by person.")
            filters.person = ""
        else:
            qs = qs.filter(actor=person)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.date_from and (start := _day_start(filters.date_from)):
        qs = qs.filter(created_at__gte=start)
    if filters.date_to:
        end = (
            _day_start(filters.date_to + datetime.timedelta(days=1))
            if (filters.date_to < datetime.date.max)
            else None
        )
        if end:
            qs = qs.filter(created_at__lt=end)
    return qs


def _encode_cursor(event: AuditEvent) -> str:
    raw = json.dumps([event.created_at.isoformat(), event.pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor[:200] + "=" * (-len(cursor[:200]) % 4))
        when, pk = json.loads(raw)
        when = datetime.datetime.fromisoformat(when)
        if not isinstance(pk, int) or not 0 < pk <= _MAX_PK or when.tzinfo is None:
            raise ValueError
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationError("That page link is broken; showing the newest events.") from None
    return when, pk


@dataclass
class LogRow:
    event: AuditEvent
    who: str
    target_words: str
    target_url: str | None
    target_short: str
    summary: str


@dataclass
class LogPage:
    rows: list[LogRow]
    next_cursor: str | None


def _who(event: AuditEvent) -> str:
    if event.actor_kind == AuditEvent.ActorKind.SYSTEM:
        return "system"
    if event.actor is None:
        return "erased user"
    if event.actor_kind == AuditEvent.ActorKind.STAFF:
        return "HexCM staff"
    return str(event.actor)


def _summary(event: AuditEvent) -> str:
    parts = []
    for name, values in event.changes.items():
        label = name.replace("_", " ")
        if "old" in values or "new" in values:
            old, new = values.get("old"), values.get("new")
            parts.append(f"{label}: {old} → {new}" if old is not None else f"{label}: {new}")
        else:
            parts.append(f"{label} changed")
    parts.extend(f"{n:,} {what.replace('_', ' ')}" for what, n in event.counts.items())
    return "; ".join(parts)


def _existing_targets(events: list[AuditEvent], people) -> dict[tuple[str, str], object]:
    """The targets still there: users from `people` (the client's users, already loaded), the
    others one query per kind of linkable target on the page (at most len(TARGET_LINKS),
    whatever the page size)."""
    found = {("accounts.user", str(p.public_id)): p for p in people}
    wanted: dict[str, set] = {}
    for event in events:
        if event.target_id and event.target_type in TARGET_LINKS:
            wanted.setdefault(event.target_type, set()).add(event.target_id)
    for label, ids in wanted.items():
        model = apps.get_model(label)
        # scoped by client: an id of another client's object is never linked
        rows = model._default_manager.filter(client_id=events[0].client_id, public_id__in=ids)
        for obj in rows.only("pk", "public_id"):
            found[(label, str(obj.public_id))] = obj
    return found


def log_page(
    qs: models.QuerySet[AuditEvent], *, people, after: str = "", size: int = PAGE_SIZE
) -> LogPage:
    """One page, newest first, by keyset on (created_at, id): no OFFSET, no COUNT. `people`:
    the client's users (as given to client_log), to name the users events are about.

    Raises ValidationError for a broken cursor (the caller shows the first page)."""
    if after:
        when, pk = _decode_cursor(after)
        qs = qs.filter(Q(created_at__lte=when) & (Q(created_at__lt=when) | Q(id__lt=pk)))
    events = list(qs.select_related("actor").order_by("-created_at", "-id")[: size + 1])
    more = len(events) > size
    events = events[:size]
    targets = _existing_targets(events, people) if events else {}
    rows = []
    for event in events:
        target = targets.get((event.target_type, str(event.target_id)))
        url = None
        if target is not None and event.target_type in TARGET_LINKS:
            url = reverse(TARGET_LINKS[event.target_type], args=[event.target_id])
        words = TARGET_WORDS.get(event.target_type, event.target_type.split(".")[-1])
        if event.target_type == "accounts.user" and target is not None:
            words = f"user {target}"
        elif event.target_type == "accounts.user" and event.target_id is None:
            words = "erased user"
        rows.append(
            LogRow(
                event=event,
                who=_who(event),
                target_words=words if event.target_type else "",
                target_url=url,
                target_short=str(event.target_id)[:8] if event.target_id else "",
                summary=_summary(event),
            )
        )
    return LogPage(rows=rows, next_cursor=_encode_cursor(events[-1]) if more else None)
