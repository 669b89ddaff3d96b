"""Account settings: name, email (verified through allauth) and password; a revision history."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from accounts.models import ProfileRevision, User
from opsx.models import OutboundMessage
from tests.conftest import sign_in
from tests.factories import PASSWORD


@pytest.mark.django_db
def test_changing_the_name_keeps_the_previous_one_with_its_date(client, personas):
    client.force_login(personas.bob)
    response = client.post(reverse("account_settings"), {"full_name": "Robert Member"}, follow=True)
    assert "Your name was updated" in response.content.decode()

    personas.bob.refresh_from_db()
    assert personas.bob.full_name == "Robert Member"
    [revision] = ProfileRevision.objects.filter(user=personas.bob)
    assert (revision.field, revision.old_value, revision.new_value) == (
        "full_name",
        "Bob Member",
        "Robert Member",
    )
    assert revision.changed_at is not None
    page = client.get(reverse("account_settings")).content.decode()
    assert "Bob Member" in page and revision.changed_at.strftime("%Y-%m-%d") in page


@pytest.mark.django_db
def test_an_unchanged_or_blank_name_records_nothing(client, personas):
    client.force_login(personas.bob)
    client.post(reverse("account_settings"), {"full_name": "Bob Member"})
    response = client.post(reverse("account_settings"), {"full_name": "   "})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    assert not ProfileRevision.objects.exists()


@pytest.mark.django_db
def test_a_name_too_long_is_refused(client, personas):
    client.force_login(personas.bob)
    response = client.post(reverse("account_settings"), {"full_name": "x" * 151})
    assert response.status_code == 400 and "at most 150 characters" in response.content.decode()


@pytest.mark.django_db
def test_changing_the_email_takes_effect_after_verification_and_keeps_the_old_address(
    client, personas
):
    client.force_login(personas.bob)
    response = client.post(
        reverse("account_email"), {"action_add": "", "email": "Robert@Acme.example"}
    )
    assert response.status_code == 302
    personas.bob.refresh_from_db()
    assert personas.bob.email == "bob@acme.example"  # not before it is verified

    mail = OutboundMessage.objects.get(to_email="robert@acme.example")
    confirm_path = re.search(r"https?://[^/]+(/accounts/confirm-email/\S+/)", mail.body_text).group(
        1
    )
    client.post(confirm_path)

    personas.bob.refresh_from_db()
    assert personas.bob.email == "robert@acme.example"
    [revision] = ProfileRevision.objects.filter(user=personas.bob, field="email")
    assert (revision.old_value, revision.new_value) == ("bob@acme.example", "robert@acme.example")
    assert not EmailAddress.objects.filter(email="bob@acme.example").exists()


@pytest.mark.django_db
def test_the_email_cannot_be_changed_to_another_users_address(client, personas):
    client.force_login(personas.bob)
    client.post(reverse("account_email"), {"action_add": "", "email": "dan@bravo.example"})
    assert User.objects.get(pk=personas.bob.pk).email == "bob@acme.example"
    assert User.objects.get(pk=personas.dan.pk).email == "dan@bravo.example"


@pytest.mark.django_db
def test_changing_the_password(client, personas):
    client.force_login(personas.bob)
    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a brand new pass phrase 7",
            "password2": "a brand new pass phrase 7",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(pk=personas.bob.pk).check_password("a brand new pass phrase 7")
    assert OutboundMessage.objects.filter(to_email="bob@acme.example", category="account").exists()


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2(personas):
    assert personas.bob.password.startswith("argon2")


@pytest.mark.django_db
def test_password_reset_mail_goes_through_the_outbox(client, personas):
    client.post(reverse("account_reset_password"), {"email": "BOB@acme.example"})
    mail = OutboundMessage.objects.get(to_email="bob@acme.example")
    assert mail.category == "account" and "/accounts/password/reset/key/" in mail.body_text


@pytest.mark.django_db
def test_every_user_is_offered_two_factor_authentication(client, personas):
    sign_in(client, personas.bob)
    response = client.get(reverse("mfa_activate_totp"))
    # allauth asks for the password again before a security change
    assert response.status_code == 302 and "reauthenticate" in response["Location"]
    client.post(response["Location"], {"password": PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    assert "otpauth" in page.content.decode() or "secret" in page.content.decode().lower()


@pytest.mark.django_db
def test_repeated_failed_sign_ins_are_rate_limited(client, personas):
    for _ in range(6):
        client.post(reverse("account_login"), {"login": "bob@acme.example", "password": "wrong"})
    response = client.post(
        reverse("account_login"), {"login": "bob@acme.example", "password": PASSWORD}
    )
    assert response.status_code != 302
    assert "too many" in response.content.decode().lower()
