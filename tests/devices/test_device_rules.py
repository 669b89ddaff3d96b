"""The rules of devices: one row per installation, one active device per user (replace or
approve), refused installations stay refused, one active holder per phone and push token;
the database's own constraints behind them; and the audit trail of each."""

import pytest
from django.db import IntegrityError, transaction
from django.test import Client as Browser

from clients.models import AuditEvent, Client
from devices import services
from devices.models import Device
from tests.factories import StaffFactory, UserFactory

from .helpers import api, app_sign_in, register, signed_in_device

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Every test makes the personas and signs in: Argon2 would spend most of the time here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


Status = Device.Status
Reason = Device.RevokeReason
Action = AuditEvent.Action


def phone():
    return Browser()


def ping(app, token):
    return api(app, "get", "/api/v1/ping", token)


def me(app, token):
    return api(app, "get", "/api/v1/me", token)


def approve_policy(client):
    Client.objects.filter(pk=client.pk).update(device_policy=Client.DevicePolicy.APPROVE)


def events(action, device):
    return list(AuditEvent.objects.filter(action=action, target_id=device.public_id))


# --- the same installation -----------------------------------------------------------------


def test_registering_the_same_installation_again_updates_its_row(personas):
    app = phone()
    token = app_sign_in(app, personas.bob)
    first = register(app, token, push_token="push-old", app_version="1.0")
    assert first.status_code == 201
    again = register(app, token, push_token="push-new", app_version="1.1", device_model="Pixel 8")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    [device] = Device.objects.filter(user=personas.bob)
    assert (device.push_token, device.app_version, device.device_model) == (
        "push-new",
        "1.1",
        "Pixel 8",
    )
    [updated] = events(Action.DEVICE_UPDATED, device)
    assert set(updated.changes) == {"push_token", "app_version", "device_model"}
    assert updated.changes["push_token"] == {}  # a token is no value for the audit log


def test_signing_in_again_on_the_same_installation_keeps_one_row_and_one_session(personas):
    app = phone()
    token1 = signed_in_device(app, personas.bob, installation_id="phone-bob-1")
    token2 = signed_in_device(app, personas.bob, installation_id="phone-bob-1")
    [device] = Device.objects.filter(user=personas.bob)
    assert device.session_key == token2 and device.status == Status.ACTIVE
    assert me(app, token1).status_code == 401  # one session per installation
    assert ping(app, token2).json() == {"ok": True}


def test_patching_the_current_device_rotates_its_push_token(personas):
    app = phone()
    token = signed_in_device(app, personas.bob, push_token="push-1")
    response = api(app, "patch", "/api/v1/devices/current", token, {"push_token": "push-2"})
    assert response.status_code == 200 and response.json()["has_push_token"] is True
    assert Device.objects.get(user=personas.bob).push_token == "push-2"
    assert Device.objects.count() == 1


# --- replace ---------------------------------------------------------------------------------


def test_under_replace_a_second_installation_revokes_the_first_and_ends_its_session(personas):
    old_phone, new_phone = phone(), phone()
    old_token = signed_in_device(old_phone, personas.bob, "phone-old", push_token="push-old")
    new_token = signed_in_device(new_phone, personas.bob, "phone-new", push_token="push-new")

    old = Device.objects.get(installation_id="phone-old")
    assert (old.status, old.revoke_reason, old.revoked_by) == (
        Status.REVOKED,
        Reason.REPLACED,
        personas.bob,
    )
    assert old.push_token == "" and old.session_key == ""
    assert me(old_phone, old_token).status_code == 401
    assert ping(new_phone, new_token).status_code == 200
    assert Device.objects.filter(user=personas.bob, status=Status.ACTIVE).count() == 1

    # the audit trail: the replacement was the user's own doing
    [revoked] = events(Action.DEVICE_REVOKED, old)
    assert revoked.actor == personas.bob and revoked.actor_kind == "user"
    assert revoked.changes["revoke_reason"] == {"old": None, "new": "replaced"}
    assert revoked.client_id == personas.client_a.pk
    new = Device.objects.get(installation_id="phone-new")
    [registered] = events(Action.DEVICE_REGISTERED, new)
    assert registered.actor == personas.bob and registered.changes["status"]["new"] == "active"


# --- approve -----------------------------------------------------------------------------


def test_under_approve_the_first_device_is_active_at_once(personas):
    approve_policy(personas.client_a)
    app = phone()
    token = app_sign_in(app, personas.bob)
    response = register(app, token, push_token="push-1")
    assert response.status_code == 201 and response.json()["status"] == "active"
    assert ping(app, token).status_code == 200


def test_under_approve_a_second_device_waits_and_field_work_is_refused(personas):
    approve_policy(personas.client_a)
    old_phone, new_phone = phone(), phone()
    old_token = signed_in_device(old_phone, personas.bob, "phone-old", push_token="push-old")
    new_token = app_sign_in(new_phone, personas.bob)
    response = register(new_phone, new_token, "phone-new", push_token="push-new")
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert "approve" in response.json()["message"]
    assert response.json()["has_push_token"] is False  # nothing is pushed to it yet

    # signed in: /me and the device's state answer; field work does not
    assert me(new_phone, new_token).json()["device"]["status"] == "pending"
    current = api(new_phone, "get", "/api/v1/devices/current", new_token)
    assert current.json()["status"] == "pending"
    refused = ping(new_phone, new_token)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "device_pending"
    assert "admin" in refused.json()["error"]["message"]
    # the old device works on
    assert ping(old_phone, old_token).status_code == 200

    pending = Device.objects.get(installation_id="phone-new")
    [asked] = events(Action.DEVICE_PENDING, pending)
    assert asked.actor == personas.bob

    # The admin approves: the new device is the one, the old is revoked and signed out.
    services.device_approve(device=pending, actor=personas.alice)
    assert ping(new_phone, new_token).status_code == 200
    assert me(old_phone, old_token).status_code == 401
    old = Device.objects.get(installation_id="phone-old")
    assert (old.status, old.revoke_reason, old.revoked_by) == (
        Status.REVOKED,
        Reason.REPLACED,
        personas.alice,
    )
    [approved] = events(Action.DEVICE_APPROVED, pending)
    assert approved.actor == personas.alice and approved.actor_kind == "user"
    [revoked] = events(Action.DEVICE_REVOKED, old)
    assert revoked.actor == personas.alice


def test_a_pending_device_sending_its_details_again_is_no_refused_attempt(personas):
    approve_policy(personas.client_a)
    signed_in_device(phone(), personas.bob, "phone-old")
    app = phone()
    token = app_sign_in(app, personas.bob)
    register(app, token, "phone-new")
    register(app, token, "phone-new", app_version="2.0")  # a retry of the same session
    api(app, "patch", "/api/v1/devices/current", token, {"push_token": "push-x"})
    pending = Device.objects.get(installation_id="phone-new")
    assert pending.refused_attempts == 0 and pending.push_token == ""
    assert len(events(Action.DEVICE_PENDING, pending)) == 1

    # signing in on it again while it waits is an attempt
    token2 = app_sign_in(app, personas.bob)
    assert register(app, token2, "phone-new").json()["status"] == "pending"
    pending.refresh_from_db()
    assert pending.refused_attempts == 1 and pending.last_refused_at is not None


def test_a_refused_installation_stays_refused_and_its_attempts_are_counted(personas):
    approve_policy(personas.client_a)
    signed_in_device(phone(), personas.bob, "phone-old")
    app = phone()
    token = app_sign_in(app, personas.bob)
    register(app, token, "phone-new")
    pending = Device.objects.get(installation_id="phone-new")
    services.device_reject(device=pending, actor=personas.alice)
    assert me(app, token).status_code == 401  # its session ended with the refusal
    [rejected] = events(Action.DEVICE_REJECTED, pending)
    assert rejected.actor == personas.alice

    for attempt in (1, 2):
        token = app_sign_in(app, personas.bob)
        response = register(app, token, "phone-new", push_token="push-new")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "device_refused"
        assert me(app, token).status_code == 401  # the sign-in on it is ended at once
        pending.refresh_from_db()
        assert pending.status == Status.REJECTED
        assert pending.refused_attempts == attempt and pending.push_token == ""
    # even with the "replace" policy now, a refusal holds
    Client.objects.filter(pk=personas.client_a.pk).update(device_policy="replace")
    token = app_sign_in(app, personas.bob)
    assert register(app, token, "phone-new").status_code == 403
    assert Device.objects.filter(user=personas.bob).count() == 2


def test_an_admin_can_still_approve_a_refused_installation(personas):
    approve_policy(personas.client_a)
    old_phone, app = phone(), phone()
    old_token = signed_in_device(old_phone, personas.bob, "phone-old")
    register(app, app_sign_in(app, personas.bob), "phone-new")
    device = Device.objects.get(installation_id="phone-new")
    services.device_reject(device=device, actor=personas.alice)

    services.device_approve(device=device, actor=personas.alice)
    device.refresh_from_db()
    assert device.status == Status.ACTIVE and device.session_key == ""
    assert me(old_phone, old_token).status_code == 401
    # the user signs in on the approved phone and works
    token = app_sign_in(app, personas.bob)
    assert register(app, token, "phone-new").json()["status"] == "active"
    assert ping(app, token).status_code == 200


# --- the same phone, another user ------------------------------------------------------------


@pytest.mark.parametrize("other", ["alice", "dan"])  # same client, another client
def test_the_same_phone_signed_in_by_another_user_revokes_the_old_row(personas, other):
    bobs = phone()
    bob_token = signed_in_device(bobs, personas.bob, "shared-phone", push_token="push-shared")
    other_user = getattr(personas, other)
    other_token = signed_in_device(phone(), other_user, "shared-phone", push_token="push-shared")

    bob_device = Device.objects.get(user=personas.bob)
    assert (bob_device.status, bob_device.revoke_reason, bob_device.revoked_by) == (
        Status.REVOKED,
        Reason.OTHER_USER,
        None,
    )
    assert me(bobs, bob_token).status_code == 401
    assert ping(phone(), other_token).status_code == 200
    [revoked] = events(Action.DEVICE_REVOKED, bob_device)
    assert revoked.actor is None and revoked.actor_kind == "system"
    # the event belongs to Bob's client, whoever signed in
    assert revoked.client_id == personas.client_a.pk


def test_a_push_token_belongs_to_one_active_device(personas):
    """Another installation id (the app was reinstalled) but the same push token: the phone
    is the same, its old holder is revoked."""
    bobs = phone()
    bob_token = signed_in_device(bobs, personas.bob, "install-before", push_token="push-same")
    dan_token = signed_in_device(phone(), personas.dan, "install-after", push_token="push-same")
    bob_device = Device.objects.get(user=personas.bob)
    assert bob_device.status == Status.REVOKED and bob_device.revoke_reason == Reason.OTHER_USER
    assert me(bobs, bob_token).status_code == 401
    assert Device.objects.get(user=personas.dan).push_token == "push-same"
    assert ping(phone(), dan_token).status_code == 200


def test_a_push_token_taken_by_a_patch_frees_it_from_its_old_holder(personas):
    signed_in_device(phone(), personas.bob, "bob-phone", push_token="push-moving")
    app = phone()
    token = signed_in_device(app, personas.alice, "alice-phone")
    response = api(app, "patch", "/api/v1/devices/current", token, {"push_token": "push-moving"})
    assert response.status_code == 200
    assert Device.objects.get(user=personas.bob).status == Status.REVOKED
    assert Device.objects.filter(push_token="push-moving", status="active").count() == 1


def test_empty_push_tokens_do_not_collide(personas):
    signed_in_device(phone(), personas.bob, "bob-phone")
    signed_in_device(phone(), personas.alice, "alice-phone")
    assert Device.objects.filter(status=Status.ACTIVE, push_token="").count() == 2


# --- the database's own constraints ---------------------------------------------------------


def _row(user, installation_id, **fields):
    return Device(
        client_id=user.client_id,
        user=user,
        installation_id=installation_id,
        platform="android",
        **fields,
    )


@pytest.mark.parametrize(
    "second, constraint",
    [
        (lambda p: _row(p.bob, "bob-2"), "device_one_active_per_user"),
        (lambda p: _row(p.dan, "dan-1", push_token="push-1"), "device_push_token_active_once"),
        (lambda p: _row(p.dan, "bob-1"), "device_installation_active_once"),
        (
            lambda p: _row(p.bob, "bob-1", status=Status.REVOKED),
            "device_one_row_per_installation",
        ),
    ],
)
def test_the_database_refuses_what_the_services_prevent(personas, second, constraint):
    _row(personas.bob, "bob-1", push_token="push-1").save()
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        second(personas).save()


def test_the_constraints_allow_what_the_rules_allow(personas):
    _row(personas.bob, "bob-1", push_token="push-1").save()
    _row(personas.bob, "bob-0", status=Status.REVOKED, push_token="").save()
    _row(personas.bob, "bob-2", status=Status.PENDING).save()
    _row(personas.dan, "bob-0", push_token="push-0").save()  # Bob's old phone, Dan's now
    assert Device.objects.count() == 4


# --- revocation by admins, staff and the system: the audit trail ------------------------------


def test_revocations_name_who_did_it(personas):
    bob_token = signed_in_device(phone(), personas.bob, "bob-phone")
    device = Device.objects.get(user=personas.bob)
    services.device_revoke(device=device, actor=personas.alice, note="Left the company")
    [by_admin] = events(Action.DEVICE_REVOKED, device)
    assert by_admin.actor == personas.alice and by_admin.actor_kind == "user"
    assert by_admin.changes["revoke_reason"]["new"] == "admin"
    assert "revoke_note" not in by_admin.changes  # free text stays out of the log
    assert me(phone(), bob_token).status_code == 401

    staff = StaffFactory()
    signed_in_device(phone(), personas.dan, "dan-phone")
    dans = Device.objects.get(user=personas.dan)
    services.device_revoke(device=dans, actor=staff)
    dans.refresh_from_db()
    assert dans.revoke_reason == Reason.STAFF and dans.revoked_by == staff
    [by_staff] = events(Action.DEVICE_REVOKED, dans)
    assert by_staff.actor_kind == "staff" and by_staff.client_id == personas.client_b.pk

    with pytest.raises(Exception, match="already revoked"):
        services.device_revoke(device=dans, actor=staff)


def test_a_sign_in_on_a_device_is_recorded_for_the_users_client(personas):
    signed_in_device(phone(), personas.dan, "dan-phone", push_token="push-d")
    device = Device.objects.get(user=personas.dan)
    [event] = events(Action.DEVICE_REGISTERED, device)
    assert event.actor == personas.dan and event.client_id == personas.client_b.pk
    assert event.changes["status"] == {"old": None, "new": "active"}
    assert event.changes["push_token"] == {}


def test_deactivation_revokes_with_the_admin_as_actor(personas):
    from accounts.services import user_deactivate

    signed_in_device(phone(), personas.bob, "bob-phone")
    device = Device.objects.get(user=personas.bob)
    user_deactivate(target=personas.bob, acting_user=personas.alice)
    [event] = events(Action.DEVICE_REVOKED, device)
    assert event.actor == personas.alice
    assert event.changes["revoke_reason"]["new"] == "deactivated"


def test_a_users_devices_of_another_user_are_untouched(personas):
    """Revoking Bob's device leaves the same client's other users signed in."""
    alices = phone()
    alice_token = signed_in_device(alices, personas.alice, "alice-phone")
    signed_in_device(phone(), personas.bob, "bob-phone")
    services.device_revoke(device=Device.objects.get(user=personas.bob), actor=personas.alice)
    assert ping(alices, alice_token).status_code == 200


def test_a_user_of_a_new_client_follows_its_own_policy(db):
    client = Client.objects.create(
        name="Charlie", slug="charlie", contact_email="c@c.example", device_policy="approve"
    )
    user = UserFactory(client=client)
    signed_in_device(phone(), user, "charlie-1")
    app = phone()
    token = app_sign_in(app, user)
    assert register(app, token, "charlie-2").json()["status"] == "pending"


def test_another_installation_registered_in_the_same_session_keeps_the_session(personas):
    """The app lost its installation id (data cleared) but not its token: the new id replaces
    the old row, and the session both name stays open for the new one."""
    app = phone()
    token = signed_in_device(app, personas.bob, "phone-before")
    response = register(app, token, "phone-after")
    assert response.status_code == 201 and response.json()["status"] == "active"
    assert ping(app, token).status_code == 200
    before = Device.objects.get(installation_id="phone-before")
    assert before.status == Status.REVOKED and before.revoke_reason == Reason.REPLACED
    assert Device.objects.get(installation_id="phone-after").session_key == token
