"""Mobile sign-in through allauth's headless API (client "app"), and every way its session
token ends: sign-out, a password change (web and app), a password reset, deactivation and a
device revocation."""

import re

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from allauth.usersessions.models import UserSession
from django.core.cache import cache
from django.test import Client as Browser
from django.urls import reverse

from accounts.models import User
from accounts.services import user_deactivate
from clients.models import Client
from clients.services import client_suspend
from devices import services
from devices.models import Device
from opsx.models import OutboundMessage
from tests.conftest import sign_in
from tests.factories import PASSWORD, StaffFactory

from .helpers import LOGIN, api, app_sign_in, register, signed_in_device

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new pass phrase 7"
SESSION = "/_allauth/app/v1/auth/session"


@pytest.fixture
def app():
    """The phone: a client of its own, so no web cookie rides along with its calls."""
    return Browser()


def login(app, email, password=PASSWORD, **extra):
    return app.post(
        LOGIN, {"email": email, "password": password}, content_type="application/json", **extra
    )


def me(app, token):
    return api(app, "get", "/api/v1/me", token)


def assert_refused_token(response):
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "not_signed_in"


# --- signing in --------------------------------------------------------------------------


def test_the_app_signs_in_and_its_token_opens_the_api(app, personas):
    response = login(app, personas.bob.email)
    assert response.status_code == 200
    body = response.json()
    assert body["meta"]["is_authenticated"] is True
    token = body["meta"]["session_token"]
    answer = me(app, token)
    assert answer.status_code == 200
    assert answer.json()["email"] == "bob@acme.example"
    assert answer.json()["client"]["name"] == "Acme"


def test_a_wrong_password_is_refused_with_allauths_error_and_no_token(app, personas):
    response = login(app, personas.bob.email, "not the password")
    assert response.status_code == 400
    body = response.json()
    assert "session_token" not in body.get("meta", {})
    [error] = body["errors"]
    assert error["code"] == "email_password_mismatch"
    assert "not correct" in error["message"]


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(app, personas):
    wrong = login(app, personas.bob.email, "not the password").json()
    unknown = login(app, "nobody@acme.example", "not the password").json()
    assert unknown == wrong


def _code(secret) -> str:
    counters = list(yield_hotp_counters_from_time())  # the tolerance window around now
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def test_a_user_with_totp_finishes_the_second_step_before_the_token_works(app, personas):
    secret = generate_totp_secret()
    TOTP.activate(personas.bob, secret)

    response = login(app, personas.bob.email)
    assert response.status_code == 401
    body = response.json()
    assert body["meta"]["is_authenticated"] is False
    [pending] = [flow for flow in body["data"]["flows"] if flow.get("is_pending")]
    assert pending["id"] == "mfa_authenticate" and "totp" in pending["types"]
    pending_token = body["meta"]["session_token"]
    # Half signed in is not signed in: the API refuses the token of the pending flow.
    assert_refused_token(me(app, pending_token))

    wrong = app.post(
        "/_allauth/app/v1/auth/2fa/authenticate",
        {"code": "000000" if _code(secret) != "000000" else "111111"},
        content_type="application/json",
        HTTP_X_SESSION_TOKEN=pending_token,
    )
    assert wrong.status_code == 400

    done = app.post(
        "/_allauth/app/v1/auth/2fa/authenticate",
        {"code": _code(secret)},
        content_type="application/json",
        HTTP_X_SESSION_TOKEN=pending_token,
    )
    assert done.status_code == 200, done.content
    assert done.json()["meta"]["is_authenticated"] is True
    token = done.json()["meta"]["session_token"]
    assert me(app, token).json()["email"] == personas.bob.email
    assert register(app, token).json()["status"] == "active"


@pytest.mark.parametrize("path", ["/_allauth/app/v1/auth/signup", "/_allauth/app/v1/auth/signup/"])
def test_sign_up_through_the_app_is_refused_and_creates_nothing(app, personas, path):
    users, clients = User.objects.count(), Client.objects.count()
    response = app.post(
        path,
        {"email": "newcomer@example.com", "password": PASSWORD, "company_name": "New Co"},
        content_type="application/json",
    )
    assert response.status_code in (403, 404)
    if response.status_code == 403:
        assert response.json()["errors"][0]["code"] == "signup_closed"
    assert (User.objects.count(), Client.objects.count()) == (users, clients)
    assert not User.objects.filter(email="newcomer@example.com").exists()


def test_the_signup_refusal_answers_any_method(app):
    assert app.get("/_allauth/app/v1/auth/signup").status_code == 403


def test_a_staff_member_signs_in_but_the_api_says_it_is_for_client_users(app, db):
    staff = StaffFactory(email="steve@hexcm.example")
    token = app_sign_in(app, staff)
    response = me(app, token)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "no_client"
    assert "users of a client" in error["message"]
    assert register(app, token).status_code == 403
    assert not Device.objects.exists()


def test_a_user_of_a_suspended_client_is_told_so(app, personas):
    token = app_sign_in(app, personas.bob)
    # Suspended by hand (no service ends the sessions): the API itself refuses the token.
    Client.objects.filter(pk=personas.client_a.pk).update(status=Client.Status.SUSPENDED)
    response = me(app, token)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "client_suspended"
    assert "suspended" in response.json()["error"]["message"]


def test_signing_in_to_a_suspended_client_is_a_clear_403(app, personas):
    Client.objects.filter(pk=personas.client_a.pk).update(status=Client.Status.SUSPENDED)
    response = login(app, personas.bob.email)
    assert response.status_code == 403
    [error] = response.json()["errors"]
    assert error["code"] == "client_suspended"
    assert "suspended" in error["message"]
    assert "session_token" not in response.json().get("meta", {})
    assert not UserSession.objects.filter(user=personas.bob).exists()


def test_suspending_the_client_ends_the_apps_token(app, personas):
    token = signed_in_device(app, personas.bob)
    client_suspend(client=personas.client_a, acting_user=None)
    assert_refused_token(me(app, token))


# --- rate limits ---------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_for_the_app_too(app, personas):
    for _ in range(5):
        assert login(app, personas.bob.email, "wrong").json()["errors"][0]["code"] == (
            "email_password_mismatch"
        )
    response = login(app, personas.bob.email)  # even the right password, now
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "too_many_login_attempts"
    # another account from another address is not locked
    other = Browser(REMOTE_ADDR="192.0.2.55")
    assert login(other, personas.dan.email).status_code == 200


def test_a_flood_of_sign_ins_from_one_address_is_answered_429(app, personas):
    statuses = [
        login(app, f"guess{n}@acme.example", "wrong", REMOTE_ADDR="198.51.100.9").status_code
        for n in range(31)
    ]
    assert statuses[-1] == 429
    assert 429 not in statuses[:30]
    assert login(app, personas.bob.email, REMOTE_ADDR="198.51.100.9").status_code == 429
    cache.clear()
    assert login(app, personas.bob.email, REMOTE_ADDR="198.51.100.9").status_code == 200


# --- the allauth session row -------------------------------------------------------------


def test_an_app_sign_in_is_listed_among_the_accounts_sessions(app, client, personas):
    token = signed_in_device(app, personas.bob)
    assert UserSession.objects.filter(user=personas.bob, session_key=token).exists()

    # Ended from the account's sessions page on the web: the token is dead, the device
    # remembers it has no session.
    sign_in(client, personas.bob)
    row = UserSession.objects.get(session_key=token)
    response = client.post(reverse("usersessions_list"), {"sessions": [row.pk]})
    assert response.status_code == 302
    assert_refused_token(me(app, token))
    device = Device.objects.get(user=personas.bob)
    assert device.status == Device.Status.ACTIVE and device.session_key == ""


# --- every way the token ends ------------------------------------------------------------


def _device(user) -> Device:
    return Device.objects.get(user=user)


def test_signing_out_ends_the_token_and_the_device_keeps_its_row(app, personas):
    token = signed_in_device(app, personas.bob, push_token="push-1")
    response = app.delete(SESSION, HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 401  # allauth's answer: signed out
    assert response.json()["meta"]["is_authenticated"] is False
    assert_refused_token(me(app, token))
    device = _device(personas.bob)
    assert device.status == Device.Status.ACTIVE and device.session_key == ""

    # Signing in again on the same installation: the same row, with the new session.
    token2 = signed_in_device(app, personas.bob, push_token="push-1")
    assert token2 != token
    [again] = Device.objects.filter(user=personas.bob)
    assert again.pk == device.pk and again.session_key == token2
    assert me(app, token2).json()["device"]["status"] == "active"


def test_a_password_change_on_the_web_ends_the_apps_token(app, client, personas):
    token = signed_in_device(app, personas.bob)
    sign_in(client, personas.bob)
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert_refused_token(me(app, token))
    device = _device(personas.bob)
    assert device.status == Device.Status.ACTIVE and device.session_key == ""
    assert not UserSession.objects.filter(session_key=token).exists()
    # The browser the change was made in stays signed in.
    assert client.get(reverse("account_settings")).status_code == 200

    token2 = app_sign_in(app, personas.bob, password=NEW_PASSWORD)
    assert register(app, token2).status_code == 200  # the same installation: updated
    assert _device(personas.bob).pk == device.pk
    assert me(app, token2).status_code == 200


def test_a_password_change_in_the_app_ends_the_old_token(app, personas):
    token = signed_in_device(app, personas.bob)
    other_phone = Browser()
    other_token = app_sign_in(other_phone, personas.bob)  # signed in, never registered
    response = app.post(
        "/_allauth/app/v1/account/password/change",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        content_type="application/json",
        HTTP_X_SESSION_TOKEN=token,
    )
    assert response.status_code == 200, response.content
    assert_refused_token(me(app, token))
    assert_refused_token(me(other_phone, other_token))
    assert User.objects.get(pk=personas.bob.pk).check_password(NEW_PASSWORD)

    # The app that made the change gets a new token (Django cycles the session key) and
    # stays this installation's session: the device follows it.
    new_token = response.json()["meta"]["session_token"]
    assert new_token != token
    answer = me(app, new_token).json()
    assert answer["device"]["status"] == "active"
    assert _device(personas.bob).session_key == new_token


def _reset_link(user) -> str:
    mail = OutboundMessage.objects.filter(to_email=user.email).latest("pk")
    return re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.body_text)[1]


def test_a_password_reset_ends_the_apps_token(app, client, personas):
    token = signed_in_device(app, personas.bob)
    client.post(reverse("account_reset_password"), {"email": personas.bob.email})
    form = client.get(_reset_link(personas.bob), follow=True)
    assert form.status_code == 200
    response = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else _reset_link(personas.bob),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert User.objects.get(pk=personas.bob.pk).check_password(NEW_PASSWORD)
    assert_refused_token(me(app, token))
    device = _device(personas.bob)
    assert device.status == Device.Status.ACTIVE and device.session_key == ""


def test_deactivation_ends_the_apps_token_and_revokes_the_device(app, personas):
    token = signed_in_device(app, personas.bob, push_token="push-1")
    user_deactivate(target=personas.bob, acting_user=personas.alice)
    assert_refused_token(me(app, token))
    device = _device(personas.bob)
    assert device.status == Device.Status.REVOKED
    assert device.revoke_reason == Device.RevokeReason.DEACTIVATED
    assert device.revoked_by == personas.alice
    assert device.push_token == "" and device.session_key == ""
    # and the password no longer opens a new session
    assert login(app, personas.bob.email).status_code in (400, 401)


def test_revoking_the_device_ends_its_token_at_once(app, personas):
    token = signed_in_device(app, personas.bob, push_token="push-1")
    services.device_revoke(device=_device(personas.bob), actor=personas.alice, note="Lost phone")
    assert_refused_token(me(app, token))
    assert not UserSession.objects.filter(session_key=token).exists()
    device = _device(personas.bob)
    assert (device.status, device.revoke_reason, device.revoke_note) == (
        Device.Status.REVOKED,
        Device.RevokeReason.ADMIN,
        "Lost phone",
    )
    # Signing in again on the revoked installation makes the same row active again (the
    # policy lets a user back on their phone; the admin's recourse is deactivation).
    token2 = signed_in_device(app, personas.bob)
    [again] = Device.objects.filter(user=personas.bob)
    assert again.pk == device.pk and again.session_key == token2


def test_revocation_ends_a_session_that_allauth_does_not_track(app, personas):
    token = signed_in_device(app, personas.bob)
    UserSession.objects.filter(session_key=token).delete()
    services.device_revoke(device=_device(personas.bob), actor=personas.alice)
    assert_refused_token(me(app, token))


@pytest.mark.parametrize(
    "body, content_type",
    [
        ({"email": "bob@acme.example\x00", "password": PASSWORD}, "application/json"),
        ({"email": "bob@acme.example", "password": "pass\x00word"}, "application/json"),
        ({"email": "bob@acme.example", "password": "x" * 100_000}, "application/json"),
        ({"email": ["bob@acme.example"], "password": 5}, "application/json"),
        ("{not json", "application/json"),
        ("email=bob@acme.example&password=x", "application/x-www-form-urlencoded"),
    ],
)
def test_hostile_sign_in_input_is_refused_without_a_500(app, personas, body, content_type):
    if isinstance(body, dict):
        import json

        body = json.dumps(body)
    response = app.post(LOGIN, body, content_type=content_type)
    assert response.status_code == 400, response.content[:300]
    if response["Content-Type"].startswith("application/json"):
        assert response.json()["errors"]
    else:
        # allauth's own answer to a body that is not a JSON object: a bare 400
        assert response.content == b""
    assert not UserSession.objects.exists()
