"""A suspended client's users cannot sign in, are told why, and sessions opened before the
suspension end with it; a session that is still open gets the "suspended" page everywhere."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.usersessions.models import UserSession
from django.test import Client as BrowserClient
from django.urls import reverse

from clients import services
from clients.models import Client
from tests.conftest import sign_in
from tests.factories import PASSWORD, StaffFactory


@pytest.fixture
def suspended(personas):
    personas.client_a.status = "suspended"
    personas.client_a.save()
    return personas


@pytest.mark.django_db
def test_signing_in_is_refused_with_the_reason(client, suspended):
    response = client.post(
        reverse("account_login"), {"login": "bob@acme.example", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "Acme's OpsX account is suspended" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard")).status_code == 302  # not signed in


@pytest.mark.django_db
def test_a_session_opened_before_the_suspension_gets_a_clear_page(client, personas):
    client.force_login(personas.bob)
    personas.client_a.status = "suspended"
    personas.client_a.save()
    response = client.get(reverse("dashboard"))
    assert response.status_code == 403
    assert "account is suspended" in response.content.decode()


@pytest.mark.django_db
def test_other_clients_are_not_affected(client, suspended):
    response = client.post(
        reverse("account_login"), {"login": "dan@bravo.example", "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")


# --- suspending ends the client's sessions ------------------------------------


@pytest.mark.django_db
def test_suspending_a_client_ends_every_session_of_its_users(personas):
    browsers = {}
    for user in (personas.alice, personas.bob, personas.dan):
        browsers[user.email] = BrowserClient()
        sign_in(browsers[user.email], user)
    staff = StaffFactory()

    services.client_suspend(client=personas.client_a, acting_user=staff)

    assert Client.objects.get(pk=personas.client_a.pk).status == Client.Status.SUSPENDED
    assert not UserSession.objects.filter(user__client=personas.client_a).exists()
    for email in ("alice@acme.example", "bob@acme.example"):
        response = browsers[email].get(reverse("account_email"))
        assert response.status_code == 302  # signed out: to the sign-in page
        assert response["Location"].startswith(reverse("account_login"))
    # client B's user is still signed in
    assert browsers["dan@bravo.example"].get(reverse("dashboard")).status_code == 200
    assert UserSession.objects.filter(user=personas.dan).count() == 1


@pytest.mark.django_db
def test_reactivating_lets_the_clients_users_sign_in_again(client, suspended):
    services.client_reactivate(client=suspended.client_a, acting_user=StaffFactory())
    assert Client.objects.get(pk=suspended.client_a.pk).is_active
    sign_in(client, suspended.bob)
    assert client.get(reverse("dashboard")).status_code == 200


# --- an open session of a suspended client is refused everywhere ---------------


@pytest.fixture
def open_session_then_suspended(client, personas):
    """Bob signed in, then his client's status changed without the service (the way a row
    changed by hand or a future code path would): the pages must still refuse him."""
    sign_in(client, personas.bob)
    TOTP.activate(personas.bob, generate_totp_secret())
    Client.objects.filter(pk=personas.client_a.pk).update(status=Client.Status.SUSPENDED)
    return personas


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "dashboard",
        "account_settings",
        "account_email",
        "account_change_password",
        "mfa_index",
        "mfa_deactivate_totp",
        "mfa_activate_totp",
        "mfa_generate_recovery_codes",
        "usersessions_list",
        "prospects:list",
        "admin_tasks:users",
    ],
)
def test_every_signed_in_page_shows_the_suspended_page(client, open_session_then_suspended, name):
    response = client.get(reverse(name))
    assert response.status_code == 403, response.get("Location")
    assert "Acme's OpsX account is suspended" in response.content.decode()


@pytest.mark.django_db
def test_a_suspended_session_cannot_change_the_password_or_email(
    client, open_session_then_suspended
):
    bob = open_session_then_suspended.bob
    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a new long passphrase",
            "password2": "a new long passphrase",
        },
    )
    assert response.status_code == 403
    response = client.post(reverse("account_email"), {"action_add": "", "email": "b@x.example"})
    assert response.status_code == 403
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 403
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)
    assert Authenticator.objects.filter(user=bob, type=Authenticator.Type.TOTP).exists()
    assert not bob.emailaddress_set.filter(email="b@x.example").exists()


@pytest.mark.django_db
def test_a_suspended_session_can_still_sign_out(client, open_session_then_suspended):
    page = client.get(reverse("dashboard")).content.decode()
    assert f'action="{reverse("account_logout")}"' in page  # the page offers it
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# --- HexCM staff suspend and reactivate from Django admin -----------------------


@pytest.fixture
def staff_client(db):
    staff = StaffFactory(email="sam@hexcm.example")
    TOTP.activate(staff, generate_totp_secret())
    browser = BrowserClient()
    browser.force_login(staff)
    return browser


@pytest.mark.django_db
def test_staff_suspend_a_client_from_the_admin_and_its_users_are_signed_out(
    client, personas, staff_client
):
    sign_in(client, personas.bob)
    response = staff_client.post(
        reverse("admin:clients_client_changelist"),
        {"action": "suspend_clients", "_selected_action": [personas.client_a.pk]},
        follow=True,
    )
    assert "1 client(s) suspended" in response.content.decode()
    assert Client.objects.get(pk=personas.client_a.pk).status == Client.Status.SUSPENDED
    assert Client.objects.get(pk=personas.client_b.pk).is_active
    assert client.get(reverse("dashboard")).status_code == 302  # Bob was signed out

    response = staff_client.post(
        reverse("admin:clients_client_changelist"),
        {"action": "reactivate_clients", "_selected_action": [personas.client_a.pk]},
        follow=True,
    )
    assert "1 client(s) reactivated" in response.content.decode()
    assert Client.objects.get(pk=personas.client_a.pk).is_active


@pytest.mark.django_db
def test_the_status_cannot_be_edited_on_the_client_page(personas, staff_client):
    """Editing the field would skip ending the sessions: only the actions change it."""
    url = reverse("admin:clients_client_change", args=[personas.client_a.pk])
    page = staff_client.get(url).content.decode()
    assert 'name="status"' not in page
    response = staff_client.post(
        url,
        {"name": "Acme", "slug": personas.client_a.slug, "contact_email": "a@acme.example",
         "storage_bytes": 0, "status": "suspended"},
    )  # fmt: skip
    assert response.status_code == 302
    assert Client.objects.get(pk=personas.client_a.pk).is_active


@pytest.mark.django_db
def test_suspending_and_reactivating_are_in_the_audit_trail(personas):
    from clients.models import AuditEvent
    from tests.factories import StaffFactory

    staff = StaffFactory(email="sue@hexcm.example")
    services.client_suspend(client=personas.client_a, acting_user=staff)
    services.client_reactivate(client=personas.client_a, acting_user=staff)
    events = list(
        AuditEvent.objects.filter(client=personas.client_a, target_type="clients.client")
        .order_by("id")
        .values_list("action", "actor_id", "actor_kind", "changes")
    )
    assert events == [
        ("client.suspended", staff.pk, "staff", {"status": {"old": "active", "new": "suspended"}}),
        (
            "client.reactivated",
            staff.pk,
            "staff",
            {"status": {"old": "suspended", "new": "active"}},
        ),
    ]
