"""The actions on devices: every change of a Device goes through one of these, with its audit
event, whether it comes from the mobile API, Admin tasks, Django admin, a task or a signal.

Sign-ins on devices are serialised per user by a row lock on the user, and per installation
and push token by transaction-level advisory locks, so two sign-ins at the same moment cannot
both end with an active device; the partial unique constraints in models.py back this up.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from importlib import import_module

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth import get_user
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from accounts.services import sessions_end
from clients import audit
from clients.models import Client

from .models import Device

Status = Device.Status
Reason = Device.RevokeReason

MAX_NOTE = 500


@dataclass(frozen=True)
class DeviceDetails:
    """What the app reports about its installation (validated by the API's schema)."""

    installation_id: str
    platform: str
    push_token: str = ""
    app_version: str = ""
    device_model: str = ""


# --- sessions ---------------------------------------------------------------------------


def _end_session(user: User, session_key: str, *, actor: User | None) -> None:
    """End one headless session (the device's X-Session-Token) at once."""
    if not session_key:
        return
    sessions = list(UserSession.objects.filter(user=user, session_key=session_key))
    for session in sessions:
        session.user = user
    if sessions:
        sessions_end(sessions=sessions, acting_user=actor)
    # allauth's row may be missing (a session it did not track): the store is the truth.
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore(session_key=session_key).delete()


def advisory_lock(*keys: str) -> None:
    """Transaction-level advisory locks on these strings (PostgreSQL), in a fixed order."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for key in sorted(set(k for k in keys if k)):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


# --- sign-in on a device -------------------------------------------------------------------


def _revoke(
    device: Device, *, actor: User | None, reason: str, note: str = "", keep_session: str = ""
) -> None:
    """`keep_session`: the session signing in now, which the revoked row may still name (the
    app registered another installation id in the same session): it is not ended."""
    old_status = device.status
    session_key = device.session_key
    device.status = Status.REVOKED
    device.revoked_at = timezone.now()
    device.revoked_by = actor
    device.revoke_reason = reason
    device.revoke_note = note[:MAX_NOTE]
    device.push_token = ""  # the policy: a revoked device's token is removed
    device.session_key = ""
    device.save(
        update_fields=[
            "status",
            "revoked_at",
            "revoked_by",
            "revoke_reason",
            "revoke_note",
            "push_token",
            "session_key",
        ]
    )
    if session_key != keep_session:
        _end_session(device.user, session_key, actor=actor)
    audit.record(
        actor=actor,
        action=audit.Action.DEVICE_REVOKED,
        target=device,
        client=device.client_id,
        changes={"status": (old_status, Status.REVOKED), "revoke_reason": (None, reason)},
    )


def _free_for(user: User, details: DeviceDetails, *, exclude_pk: int | None) -> None:
    """Revoke other users' active devices holding this installation or push token (the same
    phone, signed in now by someone else). Runs unscoped: the other user may be another
    client's."""
    holders = Q(installation_id=details.installation_id)
    if details.push_token:
        holders |= Q(push_token=details.push_token)
    others = (
        Device.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(holders, status=Status.ACTIVE)
        .exclude(user=user)
    )
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    for other in others:
        _revoke(other, actor=None, reason=Reason.OTHER_USER)


def _other_active(user: User, device: Device) -> Device | None:
    """The user's active device other than `device`, locked (at most one: the constraint)."""
    return (
        Device.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(user=user, status=Status.ACTIVE)
        .exclude(pk=device.pk)
        .first()
    )


def _activate(
    device: Device, user: User, details: DeviceDetails, *, actor, previous: Device | None
) -> None:
    """Make `device` the user's one active device: `previous` (the user's other active device,
    from _other_active) is revoked (replaced)."""
    if previous is not None:
        _revoke(previous, actor=actor, reason=Reason.REPLACED, keep_session=device.session_key)
    _free_for(user, details, exclude_pk=device.pk)
    device.status = Status.ACTIVE
    device.revoked_at = None
    device.revoked_by = None
    device.revoke_reason = ""
    device.revoke_note = ""


@transaction.atomic
def device_sign_in(*, user: User, session_key: str, details: DeviceDetails) -> Device:
    """Register the installation the user signed in on (the mobile API's POST /devices).

    The same installation again updates its row (a rotated push token, a new app version, a
    new session after signing in again). A new installation follows the client's policy:
    REPLACE revokes the user's active device and signs it out; APPROVE leaves the new one
    pending until an admin approves or refuses it (the user's first device needs nobody's
    approval). A refused installation stays refused, and the attempt is counted.

    The device returned has `created_now`: whether this call made its row (decided under the
    locks, so of two identical registrations at once exactly one is told "created")."""
    if user.client_id is None:
        raise ValidationError("Only a client's users sign in on the mobile app.", code="no_client")
    user = User.objects.select_for_update(of=("self",)).select_related("client").get(pk=user.pk)
    # No lock on an empty push token: it would serialise every sign-in without one.
    advisory_lock(
        f"device-installation:{details.installation_id}",
        f"device-token:{details.push_token}" if details.push_token else "",
    )
    client: Client = user.client
    device = (
        Device.objects.select_for_update()
        .filter(user=user, installation_id=details.installation_id)
        .first()
    )
    created = device is None
    if created:
        device = Device(client=client, user=user, installation_id=details.installation_id)
    device.created_now = created
    # A new row has no status yet (its default is no change to record).
    old = (
        None if created else device.status,
        device.push_token,
        device.app_version,
        device.device_model,
    )
    old_session = device.session_key
    device.platform = details.platform
    device.push_token = details.push_token
    device.app_version = details.app_version
    device.device_model = details.device_model
    device.session_key = session_key
    device.last_seen_at = timezone.now()
    now = timezone.now()

    if device.status == Status.REJECTED and not created:
        device.refused_attempts += 1
        device.last_refused_at = now
        device.session_key = ""
        device.push_token = ""
        device.save()
        _end_session(user, session_key, actor=None)
        return device

    refreshing = device.status == Status.ACTIVE and not created
    previous = None if refreshing else _other_active(user, device)
    if refreshing:
        _free_for(user, details, exclude_pk=device.pk)
        action = audit.Action.DEVICE_UPDATED
    elif client.device_policy == Client.DevicePolicy.APPROVE and previous is not None:
        waiting = device.status == Status.PENDING and not created
        # A new sign-in on a waiting device is a refused attempt; the same session sending its
        # details again (a retry, a PATCH of its push token) is not.
        same_session = waiting and old_session == session_key
        if waiting and not same_session:
            device.refused_attempts += 1
            device.last_refused_at = now
        device.status = Status.PENDING
        device.push_token = ""  # nothing is pushed to a device nobody approved
        # The phone is this user's now: another user's registration of it ends here, where it
        # is visible (the approval runs as a client admin, who cannot see another client's).
        _free_for(user, details, exclude_pk=device.pk)
        action = audit.Action.DEVICE_UPDATED if same_session else audit.Action.DEVICE_PENDING
    else:
        _activate(device, user, details, actor=user, previous=previous)
        action = audit.Action.DEVICE_REGISTERED
    device.save()
    if old_session and old_session != session_key:
        _end_session(user, old_session, actor=None)  # one session per installation
    new = (device.status, device.push_token, device.app_version, device.device_model)
    if created or new != old or action != audit.Action.DEVICE_UPDATED:
        names = ("status", "push_token", "app_version", "device_model")
        audit.record(
            actor=user,
            action=action,
            target=device,
            changes={n: (a, b) for n, a, b in zip(names, old, new, strict=True) if a != b},
        )
    return device


# --- admins and staff ------------------------------------------------------------------------


@transaction.atomic
def device_revoke(*, device: Device, actor: User, note: str = "") -> Device:
    """An admin (or HexCM staff) revokes a device: signed out at once, its push token removed.
    `note` is the reason they give; it is shown to the client's admins."""
    device = Device.objects.select_for_update(of=("self",)).select_related("user").get(pk=device.pk)
    if device.status == Status.REVOKED:
        raise ValidationError("This device is already revoked.", code="already_revoked")
    reason = Reason.STAFF if actor.is_staff and actor.client_id is None else Reason.ADMIN
    _revoke(device, actor=actor, reason=reason, note=note.strip())
    return device


@transaction.atomic
def device_approve(*, device: Device, actor: User) -> Device:
    """Approve a pending (or refused) device: it becomes the user's active device and the one
    it replaces is revoked and signed out."""
    user = User.objects.select_for_update().get(pk=device.user_id)
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.status not in (Status.PENDING, Status.REJECTED):
        raise ValidationError("Only a device waiting for approval can be approved.", code="state")
    # A refused device never holds a session (each sign-in on it is ended): approved, it is the
    # user's device, and their next sign-in on it opens it. A pending one that signed out would
    # be approved blind: the user signs in on it again first.
    if device.status == Status.PENDING and not device.session_key:
        raise ValidationError(
            "This device is no longer signed in: the user signs in on it again, then you approve it.",
            code="signed_out",
        )
    old_status = device.status
    details = DeviceDetails(device.installation_id, device.platform)
    advisory_lock(f"device-installation:{device.installation_id}")
    _activate(device, user, details, actor=actor, previous=_other_active(user, device))
    try:
        with transaction.atomic():
            device.save()
    except IntegrityError:
        # The phone is still another user's active device, one row-level security hides from
        # a client admin (another client's user): refuse, and this transaction undoes the rest.
        raise ValidationError(
            "This phone is still registered to someone else, perhaps at another company: the "
            "user signs in on it again, then you approve it.",
            code="installation_taken",
        ) from None
    audit.record(
        actor=actor,
        action=audit.Action.DEVICE_APPROVED,
        target=device,
        changes={"status": (old_status, Status.ACTIVE)},
    )
    return device


@transaction.atomic
def device_reject(*, device: Device, actor: User) -> Device:
    """Refuse a pending device: its session ends; signing in on it again stays refused."""
    device = Device.objects.select_for_update(of=("self",)).select_related("user").get(pk=device.pk)
    if device.status != Status.PENDING:
        raise ValidationError("Only a device waiting for approval can be refused.", code="state")
    session_key = device.session_key
    device.status = Status.REJECTED
    device.session_key = ""
    device.last_refused_at = timezone.now()
    device.save(update_fields=["status", "session_key", "last_refused_at"])
    _end_session(device.user, session_key, actor=actor)
    audit.record(
        actor=actor,
        action=audit.Action.DEVICE_REJECTED,
        target=device,
        changes={"status": (Status.PENDING, Status.REJECTED)},
    )
    return device


@transaction.atomic
def client_set_device_policy(*, client: Client, policy: str, actor: User) -> Client:
    if policy not in Client.DevicePolicy.values:
        raise ValidationError("Choose one of the device policies.", code="invalid_policy")
    client = Client.objects.select_for_update().get(pk=client.pk)
    old = client.device_policy
    if old != policy:
        client.device_policy = policy
        client.save(update_fields=["device_policy"])
        audit.record(
            actor=actor,
            action=audit.Action.DEVICE_POLICY_CHANGED,
            target=client,
            client=client,
            changes={"device_policy": (old, policy)},
        )
    return client


# --- the user and the system -----------------------------------------------------------------


@transaction.atomic
def device_unregister(*, device: Device, actor: User) -> None:
    """The app unregisters itself (signing out for good, or uninstalling)."""
    device = Device.objects.select_for_update(of=("self",)).select_related("user").get(pk=device.pk)
    if device.status != Status.REVOKED:
        _revoke(device, actor=actor, reason=Reason.UNREGISTERED)


def devices_revoke_for_user(*, user: User, actor: User | None, reason: str) -> int:
    """Revoke every device of the user that is not revoked yet (deactivation, erasure)."""
    devices = list(
        Device.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(user=user)
        .exclude(status=Status.REVOKED)
    )
    for device in devices:
        _revoke(device, actor=actor, reason=reason)
    return len(devices)


def devices_session_ended(*, session_keys: list[str]) -> int:
    """Sessions ended elsewhere (sign-out, a password change): the devices hold none now."""
    keys = [k for k in session_keys if k]
    if not keys:
        return 0
    return Device.objects.filter(session_key__in=keys).update(session_key="")


def devices_forget_dead_session(*, session_key: str) -> int:
    """allauth deleted its row of this session (ended from the account's sessions page, by
    accounts.services.sessions_end, or purged): if the session no longer signs anybody in, the
    device that held it holds none. A row deleted while its session lives changes nothing."""
    if not session_key or not Device.objects.filter(session_key=session_key).exists():
        return 0
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    if get_user(request).is_authenticated:
        return 0
    return devices_session_ended(session_keys=[session_key])


def devices_end_sessions_for_password_change(
    *, user: User, keep_session_key: str = "", previous_session_key: str = ""
) -> int:
    """A password change (or reset) signs the user's devices out, but the session the change
    was made from: each device signs in again with the new password.

    Django cycles the key of the session that made the change (update_session_auth_hash): when
    the app changed the password, `previous_session_key` is its old token and `keep_session_key`
    the new one, and its device follows the session to the new key."""
    if previous_session_key and keep_session_key and previous_session_key != keep_session_key:
        Device.objects.filter(user=user, session_key=previous_session_key).update(
            session_key=keep_session_key
        )
    devices = list(
        Device.objects.filter(user=user)
        .exclude(session_key="")
        .exclude(session_key=keep_session_key)
    )
    for device in devices:
        _end_session(user, device.session_key, actor=user)
    return devices_session_ended(session_keys=[d.session_key for d in devices])


@transaction.atomic
def device_clear_push_token(*, device_id: int, token: str) -> bool:
    """The push service says this token is dead: clear it, unless the app registered another
    one meanwhile. The device stays signed in; the app registers a fresh token."""
    device = Device.objects.select_for_update().filter(pk=device_id, push_token=token).first()
    if device is None:
        return False
    device.push_token = ""
    device.save(update_fields=["push_token"])
    audit.record(
        actor=None,
        action=audit.Action.DEVICE_TOKEN_CLEARED,
        target=device,
        changes={"push_token": (token, "")},
    )
    return True


def device_touch(device: Device) -> None:
    """Record that the device was seen, at most every DEVICE_LAST_SEEN_EVERY_SECONDS (one
    UPDATE then, none in between). Not audited: no change of state anyone acts on."""
    now = timezone.now()
    every = datetime.timedelta(seconds=settings.DEVICE_LAST_SEEN_EVERY_SECONDS)
    if device.last_seen_at is None or now - device.last_seen_at >= every:
        Device.objects.filter(pk=device.pk).update(last_seen_at=now)
        device.last_seen_at = now


def idempotency_forget(*, client_id: int, public_ids: list) -> int:
    """Delete the stored API answers (kept for retried requests) that hold any of these
    prospects' or visits' ids: an erased prospect leaves no copy behind in them. Not audited:
    the erasure that causes it is."""
    from django.db.models import TextField
    from django.db.models.functions import Cast

    from .models import IdempotencyRecord

    if not public_ids:
        return 0
    mentions = Q()
    for public_id in public_ids:
        mentions |= Q(text__contains=str(public_id))
    stored = (
        IdempotencyRecord.objects.filter(client_id=client_id)
        .annotate(text=Cast("body", TextField()))
        .filter(mentions)
    )
    return IdempotencyRecord.objects.filter(pk__in=stored.values("pk")).delete()[0]
