"""HexCM staff reach Django admin only signed in through allauth and with MFA set up."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from accounts.models import User
from opsx.models import OutboundMessage
from tests.conftest import sign_in
from tests.factories import StaffFactory


@pytest.fixture
def staff(db):
    return StaffFactory(email="sam@hexcm.example")


@pytest.fixture
def staff_with_mfa(staff):
    TOTP.activate(staff, generate_totp_secret())
    return staff


@pytest.mark.django_db
def test_anonymous_visitors_go_to_the_allauth_sign_in(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_staff_without_mfa_are_told_to_set_it_up_with_the_link_mailed_to_them(client, staff):
    sign_in(client, staff)
    response = client.get(reverse("admin:index"), follow=True)
    # not to TOTP activation: the password alone must not set it up (test_staff_enrolment.py)
    assert response.status_code == 403
    assert "Check your email to set up two-factor authentication" in response.content.decode()
    assert OutboundMessage.objects.filter(to_email=staff.email).exists()


@pytest.mark.django_db
def test_staff_with_mfa_reach_the_admin(client, staff_with_mfa):
    client.force_login(staff_with_mfa)
    assert Authenticator.objects.filter(user=staff_with_mfa).exists()
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.django_db
def test_staff_signing_in_with_their_code_land_in_the_admin_not_on_the_clients_dashboard(
    client, staff
):
    from allauth.mfa import app_settings as mfa_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
    from django.utils import timezone

    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    sign_in(client, staff)
    counter = int(timezone.now().timestamp()) // mfa_settings.TOTP_PERIOD
    code = format_hotp_value(hotp_value(secret, counter))
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_client_users_still_land_on_their_dashboard_after_signing_in(client, personas):
    response = sign_in(client, personas.bob)
    assert response["Location"] == reverse("dashboard")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", [reverse("admin:index"), reverse("admin:privacy_privacyrequest_changelist")]
)
def test_admin_pages_name_our_icon_so_the_browser_does_not_ask_for_a_missing_favicon(
    client, staff_with_mfa, url
):
    client.force_login(staff_with_mfa)
    html = client.get(url).content.decode()
    assert '<link rel="icon" href="' in html and "img/favicon" in html
    assert client.get("/favicon.ico").status_code == 404  # what the browser would ask otherwise


@pytest.mark.django_db
def test_client_users_cannot_open_the_admin(client, personas):
    client.force_login(personas.alice)
    assert client.get(reverse("admin:index"), follow=True).status_code == 403


@pytest.mark.django_db
def test_staff_find_users_and_see_their_revision_history(client, staff_with_mfa, personas):
    from accounts import services

    services.user_update_name(user=personas.bob, full_name="Robert", acting_user=personas.bob)
    client.force_login(staff_with_mfa)
    page = client.get(reverse("admin:accounts_user_changelist"), {"q": "bob@acme"}).content.decode()
    assert "bob@acme.example" in page and "alice@acme.example" not in page
    page = client.get(
        reverse("admin:accounts_user_change", args=[personas.bob.pk])
    ).content.decode()
    assert "Bob Member" in page  # the previous name, from the revision inline


@pytest.mark.django_db
def test_staff_deactivate_a_user_from_the_admin(client, staff_with_mfa, personas):
    client.force_login(staff_with_mfa)
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "deactivate_users", "_selected_action": [personas.bob.pk]},
        follow=True,
    )
    assert "1 user(s) deactivated" in response.content.decode()
    assert not User.objects.get(pk=personas.bob.pk).is_active


@pytest.mark.django_db
def test_staff_cannot_deactivate_a_clients_last_admin_by_accident(client, staff_with_mfa, personas):
    client.force_login(staff_with_mfa)
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "deactivate_users", "_selected_action": [personas.alice.pk]},
        follow=True,
    )
    assert "last admin of Acme" in response.content.decode()
    assert User.objects.get(pk=personas.alice.pk).is_active


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    ["clients_client", "accounts_invitation", "opsx_outboundmessage", "accounts_profilerevision"],
)
def test_support_lists_open_with_search(client, staff_with_mfa, personas, name):
    OutboundMessage.objects.create(
        to_email="x@example.com",
        subject="s",
        body_text="b",
        category="account",
        from_email="f@x",
        next_attempt_at="2026-01-01T00:00Z",
    )
    client.force_login(staff_with_mfa)
    response = client.get(reverse(f"admin:{name}_changelist"), {"q": "acme"})
    assert response.status_code == 200
