"""Way in no. 2: a client admin invites a person by email; the signed link creates a member."""

import re
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, User
from opsx.models import OutboundMessage
from tests.conftest import sign_in
from tests.factories import InvitationFactory


def _link_in_mail(to):
    body = OutboundMessage.objects.filter(to_email=to).latest("created_at").body_text
    return re.search(r"https?://\S+(/invitation/\S+/)", body).group(1)


def _accept_data(**overrides):
    return {
        "full_name": "Nina New",
        "date_of_birth": "1995-06-01",
        "password1": "a sturdy pass phrase 42",
        "password2": "a sturdy pass phrase 42",
        **overrides,
    }


@pytest.fixture
def invited(client, personas):
    client.force_login(personas.alice)
    client.post(reverse("admin_tasks:invite"), {"email": "Nina@Example.com", "role": "member"})
    client.logout()
    return _link_in_mail("nina@example.com")


@pytest.mark.django_db
def test_accepting_creates_a_verified_member_of_the_inviting_client_and_signs_in(
    client, personas, invited
):
    response = client.get(invited)
    assert response.status_code == 200
    assert "Join Acme on OpsX" in response.content.decode()

    response = client.post(invited, _accept_data())

    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    user = User.objects.get(email="nina@example.com")
    assert user.client == personas.client_a and user.role == User.Role.MEMBER
    assert user.age_check_passed_at is not None
    assert EmailAddress.objects.get(user=user).verified
    assert Invitation.objects.get(email="nina@example.com").status == "accepted"
    assert client.get(reverse("dashboard")).status_code == 200


@pytest.mark.django_db
def test_the_invited_role_is_kept(client, personas):
    client.force_login(personas.alice)
    client.post(reverse("admin_tasks:invite"), {"email": "boss@example.com", "role": "admin"})
    client.logout()
    client.post(_link_in_mail("boss@example.com"), _accept_data())
    assert User.objects.get(email="boss@example.com").role == User.Role.ADMIN


@pytest.mark.django_db
def test_an_under_16_invitee_is_refused_and_nothing_is_created(client, invited):
    today = timezone.localdate()
    response = client.post(
        invited, _accept_data(date_of_birth=today.replace(year=today.year - 15).isoformat())
    )
    assert response.status_code == 400
    assert "at least 16 years old" in response.content.decode()
    assert not User.objects.filter(email="nina@example.com").exists()


@pytest.mark.django_db
def test_a_used_link_cannot_be_used_again(client, invited):
    client.post(invited, _accept_data())
    client.logout()
    response = client.get(invited)
    assert response.status_code == 400
    assert "already been used" in response.content.decode()


@pytest.mark.django_db
def test_a_tampered_link_is_refused_with_a_clear_message(client, invited):
    tampered = invited[:-6] + ("A" if invited[-6] != "A" else "B") + invited[-5:]
    response = client.get(tampered)
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    response = client.post(reverse("invitation_accept", args=["garbage"]), _accept_data())
    assert response.status_code == 400
    assert not User.objects.filter(email="nina@example.com").exists()


@pytest.mark.django_db
def test_an_expired_link_is_refused(client, invited, settings):
    settings.INVITATION_MAX_AGE_DAYS = 7
    with time_machine.travel(timezone.now() + timedelta(days=7, hours=1)):
        response = client.get(invited)
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    with time_machine.travel(timezone.now() + timedelta(days=6)):
        assert client.get(invited).status_code == 200


@pytest.mark.django_db
def test_a_cancelled_invitation_cannot_be_accepted(client, personas, invited):
    client.force_login(personas.alice)
    invitation = Invitation.objects.get(email="nina@example.com")
    client.post(reverse("admin_tasks:invitation_cancel", args=[invitation.public_id]))
    client.logout()
    response = client.post(invited, _accept_data())
    assert response.status_code == 400
    assert "cancelled" in response.content.decode()
    assert not User.objects.filter(email="nina@example.com").exists()


@pytest.mark.django_db
def test_resending_sends_a_new_link_and_the_old_one_stops_working(client, personas, invited):
    client.force_login(personas.alice)
    invitation = Invitation.objects.get(email="nina@example.com")
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        client.post(reverse("admin_tasks:invitation_resend", args=[invitation.public_id]))
    client.logout()
    new_link = _link_in_mail("nina@example.com")
    assert new_link != invited
    assert OutboundMessage.objects.filter(to_email="nina@example.com").count() == 2
    response = client.get(invited)
    assert response.status_code == 400 and "newer invitation" in response.content.decode()
    assert client.get(new_link).status_code == 200


@pytest.mark.django_db
def test_inviting_a_member_of_ones_own_company_is_refused_plainly(client, personas):
    client.force_login(personas.alice)
    response = client.post(
        reverse("admin_tasks:invite"), {"email": "BOB@acme.example", "role": "member"}
    )
    assert response.status_code == 400
    assert "bob@acme.example is already a member of your company" in response.content.decode()
    assert not Invitation.objects.exists()
    assert not OutboundMessage.objects.exists()


@pytest.mark.django_db
def test_an_address_that_got_an_account_after_the_invitation_cannot_accept(
    client, personas, invited
):
    User.objects.create_user(
        "nina@example.com", "pw-whatever-123", full_name="Nina", client=personas.client_b
    )
    response = client.post(invited, _accept_data())
    assert response.status_code == 400
    assert "already has an OpsX account" in response.content.decode()
    assert User.objects.filter(email="nina@example.com").count() == 1


@pytest.mark.django_db
def test_inviting_the_same_address_twice_points_to_resend(client, personas, invited):
    client.force_login(personas.alice)
    response = client.post(
        reverse("admin_tasks:invite"), {"email": "nina@example.com", "role": "member"}
    )
    assert response.status_code == 400
    assert "pending invitation" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email", "role": "member"}, "Enter a valid email address"),
        ({"email": "x@example.com", "role": "owner"}, "Select a valid choice"),
        ({"email": "", "role": "member"}, "This field is required"),
    ],
)
def test_bad_invitation_input_is_refused_with_a_clear_message(client, personas, data, message):
    client.force_login(personas.alice)
    response = client.post(reverse("admin_tasks:invite"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_a_suspended_clients_invitation_cannot_be_accepted(client, personas, invited):
    personas.client_a.status = "suspended"
    personas.client_a.save()
    response = client.get(invited)
    assert response.status_code == 400
    assert "suspended" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password2": "something else entirely"}, "do not match"),
        ({"password1": "short", "password2": "short"}, "too short"),
        ({"full_name": ""}, "This field is required"),
    ],
)
def test_bad_acceptance_input_is_refused(client, invited, overrides, message):
    response = client.post(invited, _accept_data(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.filter(email="nina@example.com").exists()


@pytest.mark.django_db
def test_invitation_factory_builds_a_pending_invitation():
    invitation = InvitationFactory()
    assert services.invitation_from_token(services.invitation_token(invitation)) == invitation


@pytest.mark.django_db
def test_a_password_with_spaces_at_its_ends_is_kept_as_typed(client, personas, invited):
    """The password chosen on the invitation page works on the sign-in page exactly as typed."""
    password = "  a sturdy pass phrase 42  "
    response = client.post(invited, _accept_data(password1=password, password2=password))
    assert response.status_code == 302
    client.logout()
    nina = User.objects.get(email="nina@example.com")
    assert nina.check_password(password) and not nina.check_password(password.strip())
    sign_in(client, nina, password)
