"""An invitation carries its sender's authority: it ends when the sender is deactivated (all
their pending invitations) or demoted to member (their admin-role invitations)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.models import Invitation, User
from tests.factories import AdminFactory, InvitationFactory


@pytest.fixture
def eve(personas):
    """A second admin of Acme, so that Alice may deactivate or demote her."""
    return AdminFactory(client=personas.client_a, email="eve@acme.example", full_name="Eve Admin")


@pytest.fixture
def eves_invitations(personas, eve):
    return {
        "admin": InvitationFactory(
            client=personas.client_a, invited_by=eve, email="boss@example.com", role="admin"
        ),
        "member": InvitationFactory(
            client=personas.client_a, invited_by=eve, email="hand@example.com", role="member"
        ),
    }


@pytest.fixture
def others_invitations(personas):
    """Invitations of other senders that must survive: Alice's at Acme, Carol's at Bravo."""
    return [
        InvitationFactory(
            client=personas.client_a, invited_by=personas.alice, email="a@example.com", role="admin"
        ),
        InvitationFactory(
            client=personas.client_b, invited_by=personas.carol, email="c@example.com", role="admin"
        ),
    ]


def _status(invitation):
    invitation.refresh_from_db()
    return invitation.status


def _link_refusal(invitation) -> str:
    with pytest.raises(services.InvitationError) as exc:
        services.invitation_from_token(services.invitation_token(invitation))
    return str(exc.value)


@pytest.mark.django_db
def test_deactivating_an_admin_cancels_every_invitation_they_sent_and_says_how_many(
    client, personas, eve, eves_invitations, others_invitations
):
    client.force_login(personas.alice)
    response = client.post(
        reverse("admin_tasks:user_deactivate", args=[eve.public_id]), follow=True
    )

    page = response.content.decode()
    assert "Eve Admin was deactivated and signed out everywhere." in page
    assert "The 2 pending invitations they sent were cancelled." in page
    assert _status(eves_invitations["admin"]) == Invitation.Status.CANCELLED
    assert _status(eves_invitations["member"]) == Invitation.Status.CANCELLED
    assert "cancelled" in _link_refusal(eves_invitations["admin"])
    assert [_status(i) for i in others_invitations] == ["pending", "pending"]
    assert "boss@example.com" not in page and "a@example.com" in page


@pytest.mark.django_db
def test_demoting_an_admin_cancels_their_admin_invitations_only(
    client, personas, eve, eves_invitations, others_invitations
):
    client.force_login(personas.alice)
    response = client.post(
        reverse("admin_tasks:user_role", args=[eve.public_id]), {"role": "member"}, follow=True
    )

    page = response.content.decode()
    assert "Eve Admin is now member. The pending admin invitation they sent was cancelled." in page
    assert _status(eves_invitations["admin"]) == Invitation.Status.CANCELLED
    assert "cancelled" in _link_refusal(eves_invitations["admin"])
    assert _status(eves_invitations["member"]) == Invitation.Status.PENDING
    assert [_status(i) for i in others_invitations] == ["pending", "pending"]


@pytest.mark.django_db
def test_without_pending_invitations_the_messages_say_nothing_about_them(client, personas, eve):
    client.force_login(personas.alice)
    response = client.post(
        reverse("admin_tasks:user_deactivate", args=[eve.public_id]), follow=True
    )
    page = response.content.decode()
    assert "Eve Admin was deactivated and signed out everywhere." in page
    assert "invitation" not in page.split("signed out everywhere.")[1].split("</")[0]


@pytest.mark.django_db
def test_promoting_cancels_nothing(client, personas, eves_invitations):
    client.force_login(personas.alice)
    client.post(reverse("admin_tasks:user_role", args=[personas.bob.public_id]), {"role": "admin"})
    assert _status(eves_invitations["admin"]) == Invitation.Status.PENDING


@pytest.mark.django_db
def test_the_services_cancel_in_the_same_call_whoever_acts(
    personas, eve, eves_invitations, others_invitations
):
    # staff act through Django admin with acting_user=None; the rule is in the service
    demoted = services.user_change_role(target=eve, role=User.Role.MEMBER, acting_user=None)
    assert demoted.invitations_cancelled == 1
    assert _status(eves_invitations["admin"]) == Invitation.Status.CANCELLED

    deactivated = services.user_deactivate(target=eve, acting_user=None)
    assert deactivated.invitations_cancelled == 1
    assert _status(eves_invitations["member"]) == Invitation.Status.CANCELLED
    assert [_status(i) for i in others_invitations] == ["pending", "pending"]


@pytest.mark.django_db
def test_a_refused_deactivation_cancels_nothing(personas, eves_invitations):
    # Alice is not the sender here, but the last-admin refusal must leave every row as it was
    InvitationFactory(client=personas.client_a, invited_by=personas.alice, role="admin")
    eve = User.objects.get(email="eve@acme.example")
    services.user_deactivate(target=eve, acting_user=personas.alice)
    with pytest.raises(ValidationError, match="last admin"):
        services.user_deactivate(target=personas.alice, acting_user=personas.alice)
    assert Invitation.objects.filter(invited_by=personas.alice, status="pending").count() == 1
