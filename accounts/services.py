"""Every change of state about users, client accounts and invitations."""

import contextlib
import datetime
import hashlib
import math
import time

from allauth.account.models import EmailAddress
from allauth.usersessions.adapter import get_adapter as get_sessions_adapter
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from clients import audit, billing
from clients import cache as client_cache
from clients.models import Client
from opsx import mail

from . import signals
from .models import Invitation, ProfileRevision, User
from .queries import ACTIVE_USERS

MIN_AGE = 16
_INVITATION_SALT = "opsx.accounts.invitation"


class InvitationError(Exception):
    """An invitation link that cannot be used; the message says why, for the person holding it."""


# --- the age gate -----------------------------------------------------------


def age_on(birth_date: datetime.date, today: datetime.date) -> int:
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday


def check_age(birth_date: datetime.date) -> None:
    """Raise if the person is under 16. The birth date is never stored, only that this passed."""
    today = timezone.localdate()
    if birth_date > today:
        raise ValidationError("Your date of birth cannot be in the future.", code="future")
    if age_on(birth_date, today) < MIN_AGE:
        raise ValidationError(
            f"You must be at least {MIN_AGE} years old to use OpsX. "
            "We have not kept anything you entered.",
            code="under_age",
        )


# --- starting a client account ---------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "client"
    slug, n = base, 1
    while Client.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def client_account_start(*, user: User, company_name: str, full_name: str) -> User:
    """A new company signs up: create its Client and make `user` (unsaved, email and password
    already set by the sign-up form) its first admin, in one transaction."""
    client = Client.objects.create(
        name=company_name.strip(), slug=_unique_slug(company_name), contact_email=user.email
    )
    user.email = user.email.lower()
    user.client = client
    user.role = User.Role.ADMIN
    user.full_name = full_name.strip()
    user.age_check_passed_at = timezone.now()
    user.save()
    client_cache.forget(client, ACTIVE_USERS)
    audit.record(actor=user, action=audit.Action.CLIENT_ACCOUNT_STARTED, target=client)
    billing.billing_start(client=client, actor=user)
    return user


# --- invitations ------------------------------------------------------------


def email_has_account(email: str) -> bool:
    email = email.lower()  # both tables store addresses lower-case
    return (
        User.objects.filter(email=email).exists()
        or EmailAddress.objects.filter(email=email).exists()
    )


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps(
        {"i": str(invitation.public_id), "s": invitation.sent_at.timestamp()},
        salt=_INVITATION_SALT,
        compress=True,
    )


def invitation_url(invitation: Invitation) -> str:
    return settings.SITE_URL + reverse("invitation_accept", args=[invitation_token(invitation)])


def _is_member_of(client: Client, email: str) -> bool:
    """Whether `email` is (one of the addresses of) a user of `client`: that much the client's
    admin may be told, since those users are in their own list."""
    return (
        User.objects.for_client(client).filter(email=email).exists()
        or EmailAddress.objects.filter(email=email, user__client=client).exists()
    )


def _refuse_if_member(client: Client, email: str) -> None:
    if _is_member_of(client, email):
        raise ValidationError(
            f"{email} is already a member of your company: find them in the list of users.",
            code="already_member",
        )


def _send_invitation(invitation: Invitation) -> None:
    """Mail the link, or, when the address already has an OpsX account elsewhere, tell its owner
    that nothing changed. Either way one mail goes out and the inviter sees the same thing, so an
    invitation cannot be used to learn who has an account."""
    if email_has_account(invitation.email):
        mail.queue(
            to=invitation.email,
            template="invitation-existing-account",
            context={"client": invitation.client},
            category=mail.Category.ACCOUNT,
        )
        return
    mail.queue(
        to=invitation.email,
        template="invitation",
        context={
            "invitation": invitation,
            "client": invitation.client,
            "inviter": invitation.invited_by,
            "url": invitation_url(invitation),
            "max_age_days": settings.INVITATION_MAX_AGE_DAYS,
        },
        category=mail.Category.ACCOUNT,
        secret_ttl=datetime.timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
    )


# --- invitation limits: invitations must not relay mail for strangers --------

# Each limit's window is cut into this many buckets, so it slides: a use stops counting between
# one bucket and one window after it was made.
_LIMIT_BUCKETS = 24


def _limit_buckets(key: str, window: int, now: float) -> tuple[list[int], list[str], int]:
    # A window shorter than _LIMIT_BUCKETS seconds (the forum's 15 s between posts) gets one
    # bucket per second, so the step is never zero.
    count = max(1, min(_LIMIT_BUCKETS, window))
    step = window // count
    current = int(now // step)
    buckets = list(range(current - count + 1, current + 1))
    return buckets, [f"opsx:invitation-limit:{key}:{window}:{b}" for b in buckets], step


def limit_consume(key: str, *, amount: int, window: int, now: float) -> float | None:
    """Count one use against `amount` uses per `window` seconds. None if allowed; else the
    time (epoch seconds) when a use frees up, and this use is not counted.

    The cache is shared by every process (Redis); `incr` is atomic, so two concurrent uses at
    the edge can both be refused but never both allowed beyond `amount`."""
    buckets, keys, step = _limit_buckets(key, window, now)
    cache.add(keys[-1], 0, timeout=window + step)
    try:
        cache.incr(keys[-1])
    except ValueError:  # the key expired between add() and incr()
        cache.set(keys[-1], 1, timeout=window + step)
    counts = cache.get_many(keys)
    uses = [int(counts.get(k, 0)) for k in keys]
    if sum(uses) <= amount:
        return None
    with contextlib.suppress(ValueError):  # evicted meanwhile: nothing left to give back
        cache.decr(keys[-1])
    uses[-1] -= 1
    must_free, freed = sum(uses) - amount + 1, 0
    for bucket, count in zip(buckets, uses, strict=True):
        freed += count
        if freed >= must_free:
            return (bucket + len(buckets)) * step
    return (buckets[-1] + 1) * step  # only when concurrent uses vanished meanwhile


def _limit_release(key: str, *, window: int, now: float) -> None:
    _, keys, _ = _limit_buckets(key, window, now)
    with contextlib.suppress(ValueError):  # expired meanwhile: nothing left to give back
        cache.decr(keys[-1])


def _count(amount: int, noun: str) -> str:
    return f"{amount} {noun}{'' if amount == 1 else 's'}"


def limit_use(key: str, *, amount: int, window: int) -> float | None:
    """limit_consume now; an `amount` or a `window` of 0 is no limit. None if allowed, else when to retry
    (epoch seconds): the newsletter's sign-ups and the community's posting share it."""
    if amount <= 0 or window <= 0:
        return None
    return limit_consume(key, amount=amount, window=window, now=time.time())


def retry_time(epoch: float) -> str:
    moment = timezone.localtime(
        datetime.datetime.fromtimestamp(math.ceil(epoch / 60) * 60, tz=datetime.UTC)
    )
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


def _consume_invitation_limits(*, client: Client, sender: User | None, email: str) -> None:
    """Count one invitation mail per sending admin, per client and per recipient address, or
    raise ValidationError (code "rate_limited") naming the limit and when to try again; a
    refused mail counts against none of them. Called before anything is written or sent."""
    address = hashlib.sha256(email.encode()).hexdigest()  # no address in cache keys
    hour, day = 3600, 86400
    # (cache key, allowed uses, window in seconds, what the refusal says for that amount)
    limits = []
    if sender is not None:
        limits.append(
            (
                f"admin:{sender.pk}",
                settings.INVITATIONS_PER_ADMIN_PER_HOUR,
                hour,
                lambda n: (
                    f"You have sent {_count(n, 'invitation')} in the last hour, the most "
                    "one admin may send."
                ),
            )
        )
    limits += [
        (
            f"client:{client.pk}",
            settings.INVITATIONS_PER_CLIENT_PER_HOUR,
            hour,
            lambda n: (
                f"{client.name} has sent {_count(n, 'invitation')} in the last hour, the "
                "most one company may send."
            ),
        ),
        (
            f"address:{address}",
            settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY,
            day,
            lambda n: (
                f"{email} has been sent {_count(n, 'invitation email')} in the last 24 "
                "hours, the most OpsX sends to one address."
            ),
        ),
    ]
    now, counted = time.time(), []
    for key, amount, window, refusal in limits:
        if amount <= 0:  # 0 turns the limit off
            continue
        retry = limit_consume(key, amount=amount, window=window, now=now)
        if retry is not None:
            for done_key, done_window in counted:
                _limit_release(done_key, window=done_window, now=now)
            raise ValidationError(
                f"{refusal(amount)} Nothing was sent. Try again after {retry_time(retry)}.",
                code="rate_limited",
            )
        counted.append((key, window))


# --- invitations, continued -------------------------------------------------


@transaction.atomic
def invitation_create(*, client: Client, email: str, role: str, invited_by: User) -> Invitation:
    """Invite `email` to `client` and mail the link.

    An address with an account elsewhere (another client, HexCM staff) is not refused: saying
    so would let anyone who starts a client account learn who uses OpsX. Its invitation is
    recorded and listed like any other and counts against the same limits, but its owner gets
    a notice instead of a link (and `invitation_accept` would refuse it anyway). Only a member
    of the inviter's own client is refused plainly: that is in the inviter's own list.
    """
    email = email.strip().lower()
    _refuse_if_member(client, email)
    try:  # the constraint decides, so a double-clicked "Send" is refused too, not a 500
        with transaction.atomic():
            invitation = Invitation.objects.create(
                client=client, email=email, role=role, invited_by=invited_by
            )
    except IntegrityError as exc:
        if "invitation_pending_unique_per_client" not in str(exc):
            raise
        raise ValidationError(
            "This address already has a pending invitation. Resend it from the list instead.",
            code="already_invited",
        ) from None
    # After the insert, so a refused duplicate does not count; a refusal here rolls it back.
    _consume_invitation_limits(client=client, sender=invited_by, email=email)
    _send_invitation(invitation)
    audit.record(
        actor=invited_by,
        action=audit.Action.INVITATION_CREATED,
        target=invitation,
        changes={"role": (None, role)},
    )
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: Invitation, acting_user: User) -> Invitation:
    """Send a fresh link; the previous link stops working. A refused resend (limits) leaves the
    previous link as it was."""
    if invitation.status != Invitation.Status.PENDING:
        raise ValidationError("Only a pending invitation can be resent.", code="not_pending")
    _refuse_if_member(invitation.client, invitation.email)
    _consume_invitation_limits(client=invitation.client, sender=acting_user, email=invitation.email)
    invitation.sent_at = timezone.now()
    invitation.invited_by = acting_user
    invitation.save(update_fields=["sent_at", "invited_by"])
    _send_invitation(invitation)
    audit.record(actor=acting_user, action=audit.Action.INVITATION_RESENT, target=invitation)
    return invitation


@transaction.atomic
def invitation_cancel(*, invitation: Invitation, acting_user: User) -> Invitation:
    if invitation.status != Invitation.Status.PENDING:
        raise ValidationError("Only a pending invitation can be cancelled.", code="not_pending")
    invitation.status = Invitation.Status.CANCELLED
    invitation.save(update_fields=["status"])
    audit.record(
        actor=acting_user,
        action=audit.Action.INVITATION_CANCELLED,
        target=invitation,
        changes={"status": (Invitation.Status.PENDING, Invitation.Status.CANCELLED)},
    )
    return invitation


def invitation_from_token(token: str) -> Invitation:
    """The pending invitation a link names, or InvitationError saying why it cannot be used."""
    max_age = datetime.timedelta(days=settings.INVITATION_MAX_AGE_DAYS)
    try:
        data = signing.loads(token, salt=_INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise InvitationError(
            "This invitation link has expired. Ask your company's admin to send a new one."
        ) from None
    except signing.BadSignature:
        raise InvitationError(
            "This invitation link is not valid. Check that you opened the whole link from the "
            "email, or ask your company's admin to send a new one."
        ) from None
    invitation = (
        Invitation.objects.select_related("client", "invited_by")
        .filter(public_id=data.get("i"))
        .first()
    )
    if invitation is None or invitation.status == Invitation.Status.CANCELLED:
        raise InvitationError("This invitation was cancelled by your company's admin.")
    if invitation.status == Invitation.Status.ACCEPTED:
        raise InvitationError("This invitation has already been used. Sign in instead.")
    if abs(invitation.sent_at.timestamp() - float(data.get("s", 0))) > 0.001:
        raise InvitationError(
            "A newer invitation was sent to you. Use the link in the most recent email."
        )
    if not invitation.client.is_active:
        raise InvitationError(
            f"{invitation.client.name}'s OpsX account is suspended, so invitations cannot be "
            "accepted. Contact your company's admin."
        )
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, full_name: str, password: str) -> User:
    """Create the invited member. The email is verified: the link reached that mailbox."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != Invitation.Status.PENDING:
        raise InvitationError("This invitation has already been used or was cancelled.")
    if email_has_account(invitation.email):
        raise InvitationError(
            "This email address already has an OpsX account. Sign in instead, or ask your "
            "admin to invite another address."
        )
    user = User(
        email=invitation.email,
        full_name=full_name.strip(),
        client=invitation.client,
        role=invitation.role,
        age_check_passed_at=timezone.now(),
    )
    user.set_password(password)
    user.save()
    client_cache.forget(user.client_id, ACTIVE_USERS)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    invitation.status = Invitation.Status.ACCEPTED
    invitation.accepted_user = user
    invitation.save(update_fields=["status", "accepted_user"])
    from .referrals import referrals_signed_up  # referrals builds on this module

    referrals_signed_up(user=user, email=user.email)
    audit.record(
        actor=user,
        action=audit.Action.INVITATION_ACCEPTED,
        target=invitation,
        changes={"role": (None, user.role)},
    )
    return user


# --- managing a client's users ---------------------------------------------


def _refuse_if_last_admin(target: User, *, demoting: bool) -> None:
    if target.role != User.Role.ADMIN or not target.is_active:
        return
    admins = list(
        User.objects.for_client(target.client)
        .filter(role=User.Role.ADMIN, is_active=True)
        .select_for_update()
        .values_list("pk", flat=True)
    )
    if admins == [target.pk]:
        action = "change the role of" if demoting else "deactivate"
        raise ValidationError(
            f"You cannot {action} the last admin of {target.client.name}. "
            "Make someone else an admin first.",
            code="last_admin",
        )


def _cancel_invitations_sent_by(sender: User, *, roles: list[str]) -> int:
    """Cancel the pending invitations `sender` sent (or last resent) with one of `roles`.

    An invitation carries the authority of the admin who sent it; once that authority is
    withdrawn the link must stop working, not live on for INVITATION_MAX_AGE_DAYS."""
    return (
        Invitation.objects.for_client(sender.client)
        .filter(invited_by=sender, status=Invitation.Status.PENDING, role__in=roles)
        .update(status=Invitation.Status.CANCELLED)
    )


@transaction.atomic
def user_change_role(*, target: User, role: str, acting_user: User) -> User:
    """Change a user's role. Demoting to member cancels the admin-role invitations they sent;
    how many is left on the returned user as `invitations_cancelled`."""
    if role not in User.Role.values:
        raise ValidationError("Unknown role.", code="invalid_role")
    if role != User.Role.ADMIN:
        _refuse_if_last_admin(target, demoting=True)
    old_role = target.role
    target.role = role
    target.save(update_fields=["role"])
    target.invitations_cancelled = 0
    if role != User.Role.ADMIN and target.client_id is not None:
        # Their member invitations stay: the sender is still a trusted colleague, and those
        # grant nothing beyond what they have themselves. Making admins is what they lost.
        target.invitations_cancelled = _cancel_invitations_sent_by(target, roles=[User.Role.ADMIN])
    audit.record(
        actor=acting_user,
        action=audit.Action.USER_ROLE_CHANGED,
        target=target,
        changes={"role": (old_role, role)},
    )
    return target


def user_end_sessions(user: User, *, acting_user: User | None = None) -> int:
    """Sign the user out everywhere (allauth keeps a row per session). `acting_user`: who asked
    (None: the system), for the audit trail; nothing is recorded when no session was open."""
    sessions = list(UserSession.objects.filter(user=user))
    for session in sessions:
        session.user = user  # sessions_end names the person in the event; no query for it
    return sessions_end(sessions=sessions, acting_user=acting_user)


def sessions_end(*, sessions: list[UserSession], acting_user: User | None) -> int:
    """End these sessions (support ending a stolen browser's session, for example); one audit
    event per person whose sessions ended. Pass the sessions with their `user` loaded."""
    get_sessions_adapter().end_sessions(sessions)
    per_user: dict[int, list[UserSession]] = {}
    for session in sessions:
        per_user.setdefault(session.user_id, []).append(session)
    for ended in per_user.values():
        audit.record(
            actor=acting_user,
            action=audit.Action.USER_SESSIONS_ENDED,
            target=ended[0].user,
            counts={"sessions": len(ended)},
        )
    return len(sessions)


def _forget_active_users(user: User) -> None:
    """The cached active-user list of the user's client is out of date (staff have none)."""
    if user.client_id is not None:
        client_cache.forget(user.client_id, ACTIVE_USERS)


@transaction.atomic
def user_deactivate(*, target: User, acting_user: User | None) -> User:
    """Deactivate a user, end every session of theirs at once and cancel every pending
    invitation they sent; how many is left on the returned user as `invitations_cancelled`."""
    target.invitations_cancelled = 0
    if not target.is_active:
        return target
    _refuse_if_last_admin(target, demoting=False)
    target.is_active = False
    target.deactivated_at = timezone.now()
    target.save(update_fields=["is_active", "deactivated_at"])
    _forget_active_users(target)
    user_end_sessions(target, acting_user=acting_user)
    if target.client_id is not None:
        # Both roles: nobody vouches any more for the people a removed user invited (a member
        # invited on the way out would keep the company's data). Another admin can re-invite.
        target.invitations_cancelled = _cancel_invitations_sent_by(target, roles=User.Role.values)
    signals.user_deactivated.send(sender=User, target=target, acting_user=acting_user)
    audit.record(
        actor=acting_user,
        action=audit.Action.USER_DEACTIVATED,
        target=target,
        changes={"is_active": (True, False)},
    )
    return target


@transaction.atomic
def user_reactivate(*, target: User, acting_user: User | None) -> User:
    was_active = target.is_active
    target.is_active = True
    target.deactivated_at = None
    target.save(update_fields=["is_active", "deactivated_at"])
    _forget_active_users(target)
    audit.record(
        actor=acting_user,
        action=audit.Action.USER_REACTIVATED,
        target=target,
        changes={"is_active": (was_active, True)},
    )
    return target


def user_check_change(*, target: User, role: str, is_active: bool) -> None:
    """Raise the ValidationError that user_change_role or user_deactivate would raise for this
    change, before anything is written (Django admin's form asks, then calls the services)."""
    if role not in User.Role.values:
        raise ValidationError("Unknown role.", code="invalid_role")
    if target.is_active and not is_active:
        _refuse_if_last_admin(target, demoting=False)
    elif role != User.Role.ADMIN and target.role == User.Role.ADMIN:
        _refuse_if_last_admin(target, demoting=True)


# --- the user's own profile -------------------------------------------------


@transaction.atomic
def user_update_name(*, user: User, full_name: str, acting_user: User) -> User:
    full_name = full_name.strip()
    if not full_name:
        raise ValidationError("Your name cannot be empty.", code="required")
    if full_name == user.full_name:
        return user
    ProfileRevision.objects.create(
        user=user,
        field=ProfileRevision.Field.FULL_NAME,
        old_value=user.full_name,
        new_value=full_name,
        changed_by=acting_user,
    )
    user.full_name = full_name
    user.save(update_fields=["full_name"])
    _forget_active_users(user)
    # the name itself stays in ProfileRevision (which erasure handles), never in the trail
    audit.record(
        actor=acting_user,
        action=audit.Action.USER_NAME_CHANGED,
        target=user,
        changes={"full_name": None},
    )
    return user


@transaction.atomic
def user_record_email_change(*, user: User, old_email: str, new_email: str) -> None:
    """Keep the previous address once allauth has verified and switched to the new one."""
    if old_email.lower() == new_email.lower():
        return
    ProfileRevision.objects.create(
        user=user,
        field=ProfileRevision.Field.EMAIL,
        old_value=old_email,
        new_value=new_email,
        changed_by=user,
    )
    _forget_active_users(user)  # the list prints the email of a user without a name
    audit.record(
        actor=user, action=audit.Action.USER_EMAIL_CHANGED, target=user, changes={"email": None}
    )
