"""Sign-ins on devices at the same moment, each request in its own thread with its own
PostgreSQL connection (and so its own transaction, as two gunicorn workers would have), lined
up by a barrier: the row and advisory locks of devices.services let exactly one win, and no
request fails on the unique constraints behind them."""

import threading

import pytest
from django.db import connections
from django.test import Client as Browser

from clients.models import Client
from devices.models import Device
from tests.factories import UserFactory

from .helpers import app_sign_in, register

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 4


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Each round makes users and signs them in: Argon2 would spend seconds on what this test
    # is not about. The users of the round are hashed and checked with this hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def at_once(*calls):
    """Run each call in its own thread, released together; their results (or exceptions)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except Exception as exc:  # reported by the test, not lost in the thread
            results[index] = exc
        finally:
            connections.close_all()  # this thread's connection, not the test's

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a sign-in hung (a deadlock?)"
    return results


def registering(app, token, installation_id, **fields):
    return lambda: register(app, token, installation_id, **fields)


def assert_answered(responses):
    for response in responses:
        assert not isinstance(response, Exception), repr(response)
        assert response.status_code in (200, 201), response.content


@pytest.mark.parametrize("policy", ["replace", "approve"])
def test_two_installations_of_one_user_at_once_leave_one_active_device(personas, policy):
    Client.objects.filter(pk=personas.client_a.pk).update(device_policy=policy)
    for round_ in range(ROUNDS):
        # A new user each round: under "approve" the race that matters is the first device.
        user = UserFactory(client=personas.client_a)
        phones = [Browser(), Browser()]
        tokens = [app_sign_in(app, user) for app in phones]
        responses = at_once(
            *(
                registering(app, token, f"r{round_}-phone-{n}", push_token=f"push-{round_}-{n}")
                for n, (app, token) in enumerate(zip(phones, tokens, strict=True))
            )
        )
        assert_answered(responses)

        statuses = sorted(Device.objects.filter(user=user).values_list("status", flat=True))
        if policy == "replace":
            assert statuses == ["active", "revoked"], statuses
            revoked = Device.objects.get(user=user, status="revoked")
            assert revoked.revoke_reason == "replaced" and revoked.session_key == ""
        else:
            assert statuses == ["active", "pending"], statuses
        # Each phone was told the state its row ended in, or that it was replaced after.
        answered = {r.json()["installation_id"]: r.json()["status"] for r in responses}
        active = Device.objects.get(user=user, status="active")
        assert answered[active.installation_id] == "active"


def test_the_same_user_registering_one_installation_twice_at_once_gets_one_row(personas):
    for round_ in range(ROUNDS):
        user = UserFactory(client=personas.client_a)
        app = Browser()
        token = app_sign_in(app, user)
        responses = at_once(
            registering(app, token, f"retry-phone-{round_}", app_version="1.0"),
            registering(app, token, f"retry-phone-{round_}", app_version="1.0"),
        )
        assert_answered(responses)
        assert sorted(r.status_code for r in responses) == [200, 201]
        [device] = Device.objects.filter(user=user)
        assert device.status == "active" and device.session_key == token


@pytest.mark.parametrize("same", ["installation", "push_token"])
def test_two_users_signing_in_on_one_phone_at_once_leave_one_active_row(personas, same):
    for round_ in range(ROUNDS):
        # Users of two clients (the phone handed over between companies): one holds it. The
        # phone is known by its installation id, or by its push token after a reinstall.
        users = [UserFactory(client=personas.client_a), UserFactory(client=personas.client_b)]
        phones = [Browser(), Browser()]
        tokens = [app_sign_in(app, user) for app, user in zip(phones, users, strict=True)]
        installations = [f"shared-{round_}"] * 2
        if same == "push_token":
            installations = [f"shared-{round_}-{n}" for n in range(2)]
        responses = at_once(
            *(
                registering(app, token, installation, push_token=f"push-shared-{round_}")
                for app, token, installation in zip(phones, tokens, installations, strict=True)
            )
        )
        assert_answered(responses)

        rows = Device.objects.filter(user__in=users)
        assert sorted(rows.values_list("status", flat=True)) == ["active", "revoked"]
        loser = rows.get(status="revoked")
        assert loser.revoke_reason == "other_user" and loser.push_token == ""
        assert (
            Device.objects.filter(push_token=f"push-shared-{round_}", status="active").count() == 1
        )


def test_a_sign_in_racing_an_admins_approval_never_leaves_two_active(personas):
    from devices import services

    Client.objects.filter(pk=personas.client_a.pk).update(device_policy="approve")
    for round_ in range(ROUNDS):
        user = UserFactory(client=personas.client_a)
        first, second, third = Browser(), Browser(), Browser()
        register(first, app_sign_in(first, user), f"phone-a-{round_}")
        register(second, app_sign_in(second, user), f"phone-b-{round_}")
        pending = Device.objects.get(user=user, status="pending")
        token = app_sign_in(third, user)
        results = at_once(
            lambda pending=pending: services.device_approve(device=pending, actor=personas.alice),
            registering(third, token, f"phone-c-{round_}"),
        )
        assert not isinstance(results[0], Exception), repr(results[0])
        assert_answered(results[1:])
        assert Device.objects.filter(user=user, status="active").count() == 1
        assert Device.objects.get(installation_id=f"phone-b-{round_}").status == "active"
