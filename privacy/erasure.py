"""Erasing a person: every holding of the personal data registry (opsx/personal_data.py).

`user_erase` walks the registry and applies each holding's strategy to the rows about the
person: rows keyed to their user row, or holding one of their addresses (their login, their
allauth addresses, and the old addresses their profile history remembers; compared
lower-case). It is one transaction of bulk statements (an UPDATE or DELETE per model and key,
never a Python loop over rows), so a heavy user's 10,000 timeline entries cost what one does.
Files leave storage only once that transaction has committed.

What stays, by design, holds no name, address, phone or IP of theirs. Where a record must
outlive them (the audit trail, the privacy request kept as proof, a legal hold, the metadata of
mail we sent, a client's contact address with nobody else to take it) the keyed hash of their
address stands in: HASH_FIELDS names every column that can hold it, and the erasure test checks
that it appears nowhere else.

Legal hold (privacy/holds.py). While an active hold names the person (by key, or by the keyed
hash of one of their addresses), erasure keeps the minimal record instead of deleting it:

- the user row stays, anonymised in place: address "erased-<hash16>@erased.invalid", no
  name, an unusable password, inactive (deactivated now if not before), no last sign-in, no
  staff rights; its public id, client, role and dates stay;
- so the keys that point at it stay too: Client Data they made (prospects, visits, files,
  timelines), the privacy requests they filed or are the subject of, the hold itself. Those
  records keep saying "the same (nameless) account did this", which is what a dispute needs,
  and the hold's user_hash lets staff match the account to an address they are given;
- everything else goes exactly as without a hold: their email addresses, sessions (ended),
  two-factor devices, profile history, invitations to them, pending mail and the addresses on
  sent mail, archives, support grants, the IP and actor key on their audit events, the names
  and words on their requests.

Releasing the hold does not undo anything; the anonymised row is then erased for good by the
next run of the retention of deactivated users (privacy/retention.py).
"""

import logging
import re
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from allauth.usersessions.adapter import get_adapter as get_sessions_adapter
from allauth.usersessions.models import UserSession
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.models.lookups import In
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import Invitation, ProfileRevision, User
from accounts.queries import ACTIVE_USERS
from clients import audit
from clients import cache as client_cache
from clients.models import AuditEvent, Client, TenantModel
from opsx.models import OutboundMessage
from opsx.personal_data import HASH, Erase, Holding, holdings, keyed_hash

from .models import AccessArchive, LegalHold, PrivacyRequest, PrivacyRequestEvent

logger = logging.getLogger(__name__)

# The domain of the placeholder addresses erasure writes (RFC 2606: never delivered).
ERASED_DOMAIN = "erased.invalid"

# Every column that may hold an erased person's keyed hash (whole, or its first 16 characters
# in a placeholder address). The erasure test reads the dump and fails if it appears elsewhere.
HASH_FIELDS = frozenset(
    {
        "clients.AuditEvent.actor_hash",
        "privacy.PrivacyRequest.requester_hash",
        "privacy.LegalHold.user_hash",
        "opsx.OutboundMessage.to_email",
        "clients.Client.contact_email",  # placeholder, when no other admin can take it
        "accounts.User.email",  # placeholder, under a legal hold
    }
)

# Holdings applied after every other one, in this order: the audit trail (the other steps must
# not leave an event pointing at the person after it ran), then the user row itself.
LAST = ("clients.AuditEvent", "accounts.User")

_REASON = re.compile(r"[a-z][a-z0-9_]{0,39}")


def erased_address(hash_: str) -> str:
    """The placeholder that takes the place of an erased person's address."""
    return f"erased-{hash_[:16]}@{ERASED_DOMAIN}"


def is_erased(user: User) -> bool:
    """The user row is what a legal hold leaves of an erased person."""
    return user.email.endswith("@" + ERASED_DOMAIN)


@dataclass
class Erasure:
    """What the handlers share while erasing one person."""

    user: User
    actor: User | None
    addresses: list[str]  # lower-case; never another existing account's login
    hash: str  # keyed hash of the person's login address
    held: bool  # an active legal hold names them
    files: list[str] = field(default_factory=list)  # storage names to delete on commit
    counts: dict[str, int] = field(default_factory=dict)

    def email_q(self, *fields: str) -> Q:
        """Rows whose `fields` hold one of the person's addresses (lower-case comparison)."""
        q = Q()
        for name in fields:
            q |= Q(In(Lower(name), self.addresses))
        return q

    def detach(self, model, *fields: str, base: Q | None = None) -> int:
        """Clear the keys in `fields` that point at the person (one UPDATE each). Under a legal
        hold the user row stays, anonymised, and the keys keep pointing at it."""
        if self.held:
            return 0
        qs = model._default_manager.all()
        if base is not None:
            qs = qs.filter(base)
        if self.user.client_id is not None and _has_client_key(model):
            # A user never moves between clients: their Client Data is all in theirs, and the
            # client key leads the tenant tables' indexes (some user keys have none alone).
            qs = qs.filter(client_id=self.user.client_id)
        return sum(qs.filter(**{name: self.user}).update(**{name: None}) for name in fields)


def _has_client_key(model) -> bool:
    """Client Data (TenantModel): a `client` key the person's rows always share with them. Not
    a PrivacyRequest's client, which names the client a request is about."""
    return issubclass(model, TenantModel)


def user_addresses(user: User) -> list[str]:
    """Every address the person is known by: the login, allauth's addresses, the old and new
    addresses of their profile history, lower-case; minus any that is now another account's
    login (that is someone else's address now, and their data)."""
    found = {user.email.lower()}
    found.update(
        e.lower() for e in EmailAddress.objects.filter(user=user).values_list("email", flat=True)
    )
    for old, new in ProfileRevision.objects.filter(
        user=user, field=ProfileRevision.Field.EMAIL
    ).values_list("old_value", "new_value"):
        found.update({old.strip().lower(), new.strip().lower()})
    found.discard("")
    others = set(
        User.objects.annotate(lower_email=Lower("email"))
        .filter(lower_email__in=found)
        .exclude(pk=user.pk)
        .values_list("lower_email", flat=True)
    )
    return sorted(found - others)


def hold_for(user: User, addresses: list[str] | None = None) -> LegalHold | None:
    """The active legal hold naming the user (by key, or by the keyed hash of an address)."""
    hashes = [keyed_hash(a) for a in (addresses or [user.email])]
    return (
        LegalHold.objects.filter(released_at__isnull=True)
        .filter(Q(user=user) | Q(user_hash__in=hashes))
        .first()
    )


def _order(items: list[Holding]) -> list[Holding]:
    rest = [h for h in items if h.model not in LAST]
    last = sorted((h for h in items if h.model in LAST), key=lambda h: LAST.index(h.model))
    return rest + last


def user_erase(*, user: User, actor: User | None, reason: str) -> dict:
    """Erase or irreversibly anonymise everything OpsX holds about `user`. Returns counts by
    model label. Callers: the deletion request, the child-data report, retention of
    deactivated users, client closure.

    One transaction, unscoped (the connection role: a person's rows span tables with and
    without a client key), of bulk statements. The user row goes last (its cascades take
    what is left); under an active legal hold it stays, anonymised (module docstring). One
    USER_ERASED audit event records the counts: no target, so it does not name the person.
    `reason`: a short code kept in that event ("deletion_request", "child_data",
    "retention", "client_closure"); anything else is kept as "other". `actor`: who asked
    (None: the system); when it is the person themself the event names no actor.
    """
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        addresses = user_addresses(user)
        ctx = Erasure(
            user=user,
            actor=actor,
            addresses=addresses,
            hash=keyed_hash(user.email),
            held=hold_for(user, addresses) is not None,
        )
        client_id = user.client_id
        for holding in _order(holdings()):
            ctx.counts[holding.model] = _apply(holding, ctx)
        if actor is not None and actor.pk == user.pk:
            actor = None
        audit.record(
            actor=actor,
            action=audit.Action.USER_ERASED,
            client=client_id,
            changes={"kind": ("", reason if _REASON.fullmatch(reason or "") else "other")},
            counts={"held": int(ctx.held), **ctx.counts},
        )
        if client_id is not None:
            client_cache.forget(client_id, ACTIVE_USERS)
        if ctx.files:
            files = list(ctx.files)
            transaction.on_commit(lambda: _delete_files(files))
    return ctx.counts


def _apply(holding: Holding, ctx: Erasure) -> int:
    if holding.erase == Erase.CUSTOM:
        return int(import_string(holding.handler.replace(":", "."))(ctx))
    model = apps.get_model(holding.model)
    about = Q()
    for name in holding.user_fields:
        about |= Q(**{name: ctx.user})
    if holding.email_fields:
        about |= ctx.email_q(*holding.email_fields)
    if holding.erase == Erase.DELETE:
        _total, per_model = model._default_manager.filter(about).delete()
        return per_model.get(model._meta.label, 0)
    if holding.erase == Erase.DETACH:
        return ctx.detach(model, *(tuple(holding.anonymise) or holding.user_fields))
    if holding.erase == Erase.ANONYMISE:
        values = {k: (ctx.hash if v is HASH else v) for k, v in holding.anonymise.items()}
        return model._default_manager.filter(about).update(**values)
    raise ValueError(f"{holding.model}: unknown erase strategy {holding.erase!r}")


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            # The rows are gone; a file left behind holds no key to anyone. Say so loudly.
            logger.exception("Could not delete the erased file %s", name)


# --- the registry's custom handlers (named in */personal_data.py) ------------------------


def erase_outbound_messages(ctx: Erasure) -> int:
    """Pending mail to them is deleted (never sent); mail already sent or failed keeps its
    metadata with the address replaced by the keyed hash, subject and error emptied (a
    subject greets them by name, an SMTP error may quote the address)."""
    to_them = OutboundMessage.objects.filter(ctx.email_q("to_email"))
    deleted, _ = to_them.filter(status=OutboundMessage.Status.PENDING).delete()
    kept = to_them.update(
        to_email=ctx.hash, subject="", body_text="", body_html="", headers={}, last_error=""
    )
    return deleted + kept


def erase_admin_log(ctx: Erasure) -> int:
    """Django admin's history. Entries about the person (their user row, their addresses, or
    naming them) keep the action and date, not the words: object_repr becomes "erased user"
    and change_message (which may name an inline's address) is emptied. Entries the person
    made as staff are deleted with their row (CASCADE), or kept under a hold."""
    user_type = ContentType.objects.get_for_model(User)
    address_type = ContentType.objects.get_for_model(EmailAddress)
    address_ids = [
        str(pk) for pk in EmailAddress.objects.filter(user=ctx.user).values_list("pk", flat=True)
    ]
    about = (
        Q(content_type=user_type, object_id=str(ctx.user.pk))
        | Q(content_type=address_type, object_id__in=address_ids)
        | Q(In(Lower("object_repr"), ctx.addresses))
    )
    if ctx.user.full_name.strip():
        about |= Q(object_repr__iexact=ctx.user.full_name.strip())
    for address in ctx.addresses:
        about |= Q(change_message__icontains=address)
    return LogEntry.objects.filter(about).update(object_repr="erased user", change_message="")


def erase_user_row(ctx: Erasure) -> int:
    """Last step. Deleted (its cascades take allauth's addresses, authenticators, sessions
    and whatever else is left); under a legal hold anonymised in place instead."""
    user = ctx.user
    if ctx.held:
        user.email = erased_address(ctx.hash)
        user.full_name = ""
        user.set_unusable_password()
        user.is_active = False
        user.deactivated_at = user.deactivated_at or timezone.now()
        user.last_login = None
        # No rights left; a staff row (no client) keeps is_staff for the table's constraint.
        user.is_superuser = False
        user.is_staff = user.client_id is None
        user.staff_enrolment_sent_at = None
        user.save()
        user.groups.clear()
        user.user_permissions.clear()
        return 1
    _total, per_model = User.objects.filter(pk=user.pk).delete()
    return per_model.get(User._meta.label, 0)


def erase_profile_revisions(ctx: Erasure) -> int:
    """Their own history (old names and addresses) is deleted, even under a hold; a change
    they made to someone else's profile stays with that person and forgets who made it."""
    deleted, _ = ProfileRevision.objects.filter(user=ctx.user).delete()
    return deleted + ctx.detach(ProfileRevision, "changed_by")


def erase_invitations(ctx: Erasure) -> int:
    """Invitations to one of their addresses, or that they accepted, are deleted (whichever
    client sent them); invitations they sent stay with the client without naming them."""
    deleted, _ = Invitation.objects.filter(
        Q(accepted_user=ctx.user) | ctx.email_q("email")
    ).delete()
    return deleted + ctx.detach(Invitation, "invited_by")


def erase_sessions(ctx: Erasure) -> int:
    """End every session of theirs (the session store's entry goes, so a browser still signed
    in is signed out) and delete allauth's records of them (IP, browser). No audit event of
    its own: USER_ERASED carries the count, and an event targeting them would name them."""
    sessions = list(UserSession.objects.filter(user=ctx.user))
    get_sessions_adapter().end_sessions(sessions)
    UserSession.objects.filter(user=ctx.user).delete()  # any the adapter left
    return len(sessions)


def erase_audit_events(ctx: Erasure) -> int:
    """Every event stays (the trigger refuses deletes). Events they made lose the actor key
    and the IP address and get the keyed hash (set once: the trigger allows that); events
    about their user row lose its public id (clients.audit.anonymise_user)."""
    theirs = AuditEvent.objects.filter(actor=ctx.user)
    theirs.filter(actor_hash="").update(actor_hash=ctx.hash, ip_address=None)
    theirs.exclude(ip_address=None).update(ip_address=None)
    return audit.anonymise_user(ctx.user)


def erase_client_contact(ctx: Erasure) -> int:
    """A client whose contact address is theirs takes another active admin's address (the
    longest-serving), or the placeholder when there is none."""
    clients = list(Client.objects.filter(ctx.email_q("contact_email")))
    for client in clients:
        other = (
            User.objects.filter(client=client, role=User.Role.ADMIN, is_active=True)
            .exclude(pk=ctx.user.pk)
            .exclude(email__endswith="@" + ERASED_DOMAIN)
            .order_by("date_joined", "pk")
            .values_list("email", flat=True)
            .first()
        )
        client.contact_email = other or erased_address(ctx.hash)
        client.save(update_fields=["contact_email"])
    return len(clients)


def erase_privacy_requests(ctx: Erasure) -> int:
    """Their own requests (as requester, or from one of their addresses) are kept as proof
    that they were answered: name, address, details, reference and staff's notes are emptied
    and the keyed hash kept. A request about them filed by someone else (a child-data report)
    loses its details and reference (they describe the person), keeps the reporter's own
    name and address. Requests they only handled as staff forget who handled them."""
    own = PrivacyRequest.objects.filter(Q(requester=ctx.user) | ctx.email_q("requester_email"))
    # The hash of the address the request came from (the services set it at filing; this
    # fills any left empty), else of their login.
    for address in ctx.addresses:
        own.filter(requester_hash="", requester_email__iexact=address).update(
            requester_hash=keyed_hash(address)
        )
    own.filter(requester_hash="").update(requester_hash=ctx.hash)
    _close_open_requests(own)
    n = own.update(requester_name="", requester_email="", details="", reference="", notes="")
    about = PrivacyRequest.objects.filter(subject_user=ctx.user).exclude(
        Q(requester=ctx.user) | ctx.email_q("requester_email")
    )
    n += about.update(details="", reference="", notes="")
    # The requests they handled as staff are not their data: they keep everything but the key.
    ctx.detach(PrivacyRequest, "requester", "subject_user", "assignee", "filed_by")
    return n


def _close_open_requests(own) -> None:
    """Their other open requests (a copy of their data, a correction) have nobody left to answer
    them: closed as done, with a line in each timeline. The deletion or child-data request
    being carried out is closed by its own service after the erasure."""
    open_ones = list(
        own.filter(status__in=PrivacyRequest.OPEN_STATUSES)
        .exclude(kind__in=[PrivacyRequest.Kind.DELETION, PrivacyRequest.Kind.CHILD_DATA])
        .values_list("pk", "status")
    )
    if not open_ones:
        return
    now = timezone.now()
    PrivacyRequest.objects.filter(pk__in=[pk for pk, _ in open_ones]).update(
        status=PrivacyRequest.Status.DONE,
        closed_at=now,
        erase_after=None,
        outcome="Closed when the person's account and data were erased.",
    )
    Event = PrivacyRequestEvent
    Event.objects.bulk_create(
        Event(
            request_id=pk,
            at=now,
            actor=None,
            actor_kind=Event.ActorKind.SYSTEM,
            action=Event.Action.DONE,
            from_status=old,
            to_status=PrivacyRequest.Status.DONE,
            message="Closed: the person's account and data were erased.",
        )
        for pk, old in open_ones
    )


def erase_access_archives(ctx: Erasure) -> int:
    """Archives of their data are deleted, and their files once the erasure has committed."""
    archives = AccessArchive.objects.filter(user=ctx.user)
    ctx.files.extend(name for name in archives.values_list("file", flat=True) if name)
    deleted, _ = archives.delete()
    return deleted
