"""Referrals: a user tells a friend about OpsX. Every change of state and every read about
referrals lives here.

What a referral is for, and nothing else: the invitation mail, at most one reminder, and seeing
whether it led to a sign-up. So:

- `referral_create` refuses, with one message that does not say which, an address that has an
  account, that is suppressed for referral mail, or that this user already referred (a user
  must not learn who uses OpsX or who asked not to hear from it); every attempt, refused or
  not, counts against the per-user daily limit, so the refusal cannot be used to test
  addresses in bulk.
- Every referral mail carries the friend's "remove my information" link (also its one-click
  List-Unsubscribe): `referral_data_remove` deletes every referral to the address, from any
  user, and suppresses the address for referral mail, so nobody can refer it again.
- Send time (`may_send`, registered with opsx.mail in AccountsConfig.ready) drops a pending
  referral mail whose address has an account by now or has no invited referral any more.
- `referrals_expire` deletes referrals older than REFERRAL_RETENTION_DAYS whatever their
  status; what is kept for "did referrals work" is one audit event per run with the counts
  (deleted, of which signed up), nothing about anyone.

The friend's name and note are untrusted text: the name is one line (no control characters:
no header injection, though it only ever appears in bodies and a subject that opsx.mail
flattens), the note is plain text of at most NOTE_MAX_LENGTH characters, escaped in the HTML
mail and rendered as it is in the text one.
"""

import datetime
import re
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from clients import audit
from opsx import mail, signed_links, suppression
from opsx.models import Suppression

from .models import Referral, User
from .services import email_has_account, limit_consume, retry_time

Category = mail.Category
Status = Referral.Status

NAME_MAX_LENGTH = 150
NOTE_MAX_LENGTH = 1000
EMAIL_MAX_LENGTH = 254
REMOVE_PURPOSE = "referral-remove"
# The removal link never expires: it only ever removes data about the address it was mailed
# to and stops referral mail to it, and a friend who finds an old invitation must still be
# able to say "never again" (the suppression outlives the referral data by design).
REMOVE_LINK_MAX_AGE = None
# How many due reminders one run of the periodic task sends at most.
REMINDER_BATCH = 200

# One message for every refusal of an address, so it cannot tell the referrer which applies.
REFUSED = (
    "We cannot send an invitation to this address. It may already have been invited, or it "
    "cannot receive invitations from OpsX. Nothing was sent."
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")  # \t and \n stay


def normalise(address: str) -> str:
    return (address or "").strip().lower()


# --- input ------------------------------------------------------------------------------


def clean_name(name: str) -> str:
    """One line of text: a line break or control character ("a\\r\\nBcc: x") is refused."""
    name = name or ""
    if _CONTROL.search(name):
        raise ValidationError(
            "The name must be on one line, without control characters.", code="name"
        )
    name = " ".join(name.split())
    if not name:
        raise ValidationError("Enter your friend's name.", code="name")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            f"The name can be at most {NAME_MAX_LENGTH} characters long.", code="name"
        )
    return name


def clean_note(note: str) -> str:
    note = (note or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if _CONTROL_IN_TEXT.search(note):
        raise ValidationError("The note cannot contain control characters.", code="note")
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError(
            f"The note can be at most {NOTE_MAX_LENGTH} characters long (it has {len(note)}).",
            code="note",
        )
    return note


def clean_address(address: str) -> str:
    address = normalise(address)
    if len(address) > EMAIL_MAX_LENGTH or _CONTROL.search(address):
        raise ValidationError("Enter a valid email address.", code="email")
    validate_email(address)  # its own message, code "invalid"
    return address


# --- links ------------------------------------------------------------------------------


def removal_token(address: str) -> str:
    return signed_links.make(REMOVE_PURPOSE, normalise(address))


def removal_url(address: str) -> str:
    """The friend's own "remove my information" link (absolute), also the mail's
    List-Unsubscribe target: opsx.mail asks for it through the category's builder."""
    return settings.SITE_URL + reverse("referral_remove", args=[removal_token(address)])


def address_from_token(token: str) -> str:
    """The address a removal link was made for; signed_links.LinkInvalid if it is not ours."""
    address = signed_links.read(REMOVE_PURPOSE, token, max_age=REMOVE_LINK_MAX_AGE)
    if not isinstance(address, str) or not address:
        raise signed_links.LinkInvalid
    return normalise(address)


# --- sending ----------------------------------------------------------------------------


def may_send(to_email: str) -> bool:
    """Asked by opsx.mail at send time, under the message's lock: a referral mail goes only to
    an address that still has no account and still has an invited referral (removal deletes
    them; retention too). Suppression itself is checked by opsx.mail.deliver."""
    address = normalise(to_email)
    if email_has_account(address):
        return False
    return Referral.objects.filter(friend_email=address, status=Status.INVITED).exists()


def _referrer_name(user: User) -> str:
    return user.full_name or user.email


def _queue(referral: Referral, template: str) -> None:
    mail.queue(
        to=referral.friend_email,
        template=template,
        context={
            "friend_name": referral.friend_name,
            "referrer_name": _referrer_name(referral.referrer),
            "note": referral.note,
            "signup_url": settings.SITE_URL + reverse("account_signup"),
        },
        category=Category.REFERRAL,
        unsubscribe_url=removal_url(referral.friend_email),
    )


def _consume_limit(user: User) -> None:
    amount = settings.REFERRALS_PER_USER_PER_DAY
    if amount <= 0:  # 0 turns the limit off
        return
    retry = limit_consume(f"referral:{user.pk}", amount=amount, window=86400, now=time.time())
    if retry is not None:
        friends = "friend" if amount == 1 else "friends"
        raise ValidationError(
            f"You have told {amount} {friends} about OpsX in the last 24 hours, the most one "
            f"person may. Nothing was sent. Try again after {retry_time(retry)}.",
            code="rate_limited",
        )


@transaction.atomic
def referral_create(*, referrer: User, name: str, email: str, note: str = "") -> Referral:
    """Tell a friend about OpsX: record the referral and queue the invitation, with the reminder
    due in REFERRAL_REMINDER_DAYS. Raises ValidationError: bad input (code name, note, email,
    invalid), the daily limit (rate_limited), or REFUSED (code refused) for an address that has
    an account, is suppressed for referral mail or was already referred by this user."""
    name, note, address = clean_name(name), clean_note(note), clean_address(email)
    _consume_limit(referrer)  # before the refusals: a refused address costs a try too
    if (
        email_has_account(address)
        or suppression.is_suppressed(address, category=Category.REFERRAL)
        or Referral.objects.filter(referrer=referrer, friend_email=address).exists()
    ):
        raise ValidationError(REFUSED, code="refused")
    now = timezone.now()
    try:  # a double-clicked "Send" loses the race on the constraint: the same refusal
        with transaction.atomic():
            referral = Referral.objects.create(
                referrer=referrer,
                friend_name=name,
                friend_email=address,
                note=note,
                remind_at=now + datetime.timedelta(days=settings.REFERRAL_REMINDER_DAYS),
            )
    except IntegrityError as exc:
        if "referral_once_per_friend" not in str(exc):
            raise
        raise ValidationError(REFUSED, code="refused") from None
    _queue(referral, "referral-invitation")
    audit.record(
        actor=referrer,
        action=audit.Action.REFERRAL_SENT,
        target=referral,
        client=audit.NO_CLIENT,  # the user's own doing, not their employer's business
        changes={"status": (None, referral.status)},
    )
    return referral


def referral_reminders_send(*, limit: int = REMINDER_BATCH) -> int:
    """Send the one reminder of each referral that is due and still invited, then clear its
    `remind_at` (so it is never sent twice). A due referral whose address has an account by
    now (made some way the sign-up hook does not see) loses its reminder without a mail; one
    suppressed since (a bounce, a complaint) is cancelled. Rows are taken under
    select_for_update(skip_locked=True): two runs never remind the same referral. Returns how
    many reminders were queued."""
    now = timezone.now()
    with transaction.atomic():
        due = list(
            Referral.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("referrer")
            .filter(remind_at__lte=now, status=Status.INVITED)
            .order_by("remind_at")[:limit]
        )
        sent = 0
        for referral in due:
            if suppression.is_suppressed(referral.friend_email, category=Category.REFERRAL):
                referral.status = Status.CANCELLED  # bounced or complained since
            elif not email_has_account(referral.friend_email):
                _queue(referral, "referral-reminder")
                referral.reminded_at = now
                sent += 1
            referral.remind_at = None
        Referral.objects.bulk_update(due, ["status", "remind_at", "reminded_at"])
        if due:
            audit.record(
                actor=None,
                action=audit.Action.REFERRAL_REMINDERS_SENT,
                client=audit.NO_CLIENT,
                counts={"due": len(due), "reminders": sent},
            )
    return sent


@transaction.atomic
def referrals_signed_up(*, user: User, email: str) -> int:
    """The person at `email` now has an account (`user`): their invited referrals become
    "signed up", which the referrers see, and lose their reminder. Returns how many."""
    count = Referral.objects.filter(friend_email=normalise(email), status=Status.INVITED).update(
        status=Status.SIGNED_UP, signed_up_at=timezone.now(), remind_at=None
    )
    if count:
        audit.record(
            actor=user,
            action=audit.Action.REFERRALS_SIGNED_UP,
            client=audit.NO_CLIENT,
            counts={"referrals": count},
        )
    return count


# --- the friend's removal ---------------------------------------------------------------


@transaction.atomic
def referral_data_remove(*, address: str, actor: User | None = None) -> int:
    """Delete every referral to `address`, from any user, and suppress the address for referral
    mail (a keyed hash only), so no referral mail reaches it again and nobody can refer it.
    For the friend's link (actor None) and a removal privacy request (actor: staff). Does the
    same whether or not anything was stored; returns how many referrals went. Pending referral
    mail to the address ends suppressed at send time (opsx.mail.deliver)."""
    address = normalise(address)
    deleted, _ = Referral.objects.filter(friend_email=address).delete()
    newly = suppression.suppress(
        address, reason=Suppression.Reason.REFERRAL_REMOVAL, scope=Suppression.Scope.REFERRAL
    )
    audit.record(
        actor=actor,
        action=audit.Action.REFERRAL_DATA_REMOVED,
        client=audit.NO_CLIENT,
        counts={"referrals": deleted, "suppressed": int(newly)},
    )
    return deleted


# --- retention --------------------------------------------------------------------------


@transaction.atomic
def referrals_expire() -> int:
    """Delete the referrals older than REFERRAL_RETENTION_DAYS, whatever their status: they
    have served. The audit trail keeps how many went and how many had led to a sign-up, and
    nothing about anyone. Returns how many were deleted."""
    cutoff = timezone.now() - datetime.timedelta(days=settings.REFERRAL_RETENTION_DAYS)
    old = Referral.objects.filter(created_at__lt=cutoff)
    counts = old.aggregate(
        referrals=Count("pk"), signed_up=Count("pk", filter=Q(status=Status.SIGNED_UP))
    )
    if not counts["referrals"]:
        return 0
    old.delete()
    audit.record(
        actor=None, action=audit.Action.REFERRALS_EXPIRED, client=audit.NO_CLIENT, counts=counts
    )
    return counts["referrals"]


# --- reads ------------------------------------------------------------------------------


def referrals_of(user: User) -> QuerySet[Referral]:
    """The user's own referrals for their page, newest first: who they told and the status,
    nothing else about the friend. One query (the index of the referrer constraint)."""
    return (
        Referral.objects.filter(referrer=user)
        .only("public_id", "friend_name", "friend_email", "status", "created_at")
        .order_by("-created_at")
    )
