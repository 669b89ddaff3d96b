"""Admin tasks: a client admin manages their company's users, and nobody else's."""

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.urls import reverse

from accounts.models import Invitation, User
from tests.conftest import sign_in
from tests.factories import PASSWORD, InvitationFactory, UserFactory

USER_ACTIONS = [
    "admin_tasks:user_role",
    "admin_tasks:user_deactivate",
    "admin_tasks:user_reactivate",
]
INVITATION_ACTIONS = ["admin_tasks:invitation_resend", "admin_tasks:invitation_cancel"]


def _sign_in(client, user):
    sign_in(client, user)
    client.get(reverse("dashboard"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", USER_ACTIONS)
def test_another_clients_user_is_a_404_for_every_user_action(client, personas, name):
    client.force_login(personas.alice)
    response = client.post(reverse(name, args=[personas.dan.public_id]), {"role": "admin"})
    assert response.status_code == 404
    personas.dan.refresh_from_db()
    assert personas.dan.role == User.Role.MEMBER and personas.dan.is_active


@pytest.mark.django_db
@pytest.mark.parametrize("name", INVITATION_ACTIONS)
def test_another_clients_invitation_is_a_404(client, personas, name):
    invitation = InvitationFactory(client=personas.client_b, invited_by=personas.carol)
    client.force_login(personas.alice)
    assert client.post(reverse(name, args=[invitation.public_id])).status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


@pytest.mark.django_db
def test_the_user_list_shows_only_this_clients_people(client, personas):
    client.force_login(personas.alice)
    page = client.get(reverse("admin_tasks:users")).content.decode()
    assert "bob@acme.example" in page and "alice@acme.example" in page
    assert "bravo.example" not in page


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["admin_tasks:users", "admin_tasks:invite"])
def test_a_member_is_refused_admin_task_pages_with_a_clear_page(client, personas, name):
    client.force_login(personas.bob)
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert "Admin tasks are for your company's admins" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("name", USER_ACTIONS)
def test_a_member_cannot_act_on_users(client, personas, name):
    client.force_login(personas.bob)
    response = client.post(reverse(name, args=[personas.alice.public_id]), {"role": "member"})
    assert response.status_code == 403
    personas.alice.refresh_from_db()
    assert personas.alice.role == User.Role.ADMIN and personas.alice.is_active


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client, personas):
    response = client.get(reverse("admin_tasks:users"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


@pytest.mark.django_db
def test_hexcm_staff_are_told_the_restricted_area_is_for_client_users(client, db):
    from tests.factories import StaffFactory

    client.force_login(StaffFactory())
    response = client.get(reverse("dashboard"))
    assert response.status_code == 403
    assert "This area is for client users" in response.content.decode()


@pytest.mark.django_db
def test_an_admin_changes_a_role(client, personas):
    client.force_login(personas.alice)
    client.post(reverse("admin_tasks:user_role", args=[personas.bob.public_id]), {"role": "admin"})
    personas.bob.refresh_from_db()
    assert personas.bob.role == User.Role.ADMIN


@pytest.mark.django_db
def test_an_unknown_role_is_refused_with_a_message(client, personas):
    client.force_login(personas.alice)
    response = client.post(
        reverse("admin_tasks:user_role", args=[personas.bob.public_id]),
        {"role": "owner"},
        follow=True,
    )
    assert "Choose a role" in response.content.decode()
    personas.bob.refresh_from_db()
    assert personas.bob.role == User.Role.MEMBER


@pytest.mark.django_db
def test_deactivating_a_user_ends_all_their_sessions_at_once(client, personas):
    from django.test import Client as Browser

    phone, laptop = Browser(), Browser()
    _sign_in(phone, personas.bob)
    _sign_in(laptop, personas.bob)
    assert UserSession.objects.filter(user=personas.bob).count() == 2

    client.force_login(personas.alice)
    response = client.post(
        reverse("admin_tasks:user_deactivate", args=[personas.bob.public_id]), follow=True
    )
    assert "deactivated and signed out everywhere" in response.content.decode()

    personas.bob.refresh_from_db()
    assert not personas.bob.is_active and personas.bob.deactivated_at is not None
    assert UserSession.objects.filter(user=personas.bob).count() == 0
    assert not Session.objects.filter(
        session_key__in=[phone.session.session_key, laptop.session.session_key]
    ).exists()
    for browser in (phone, laptop):
        assert browser.get(reverse("dashboard")).status_code == 302  # back to sign-in
    # and the password no longer signs in
    response = phone.post(
        reverse("account_login"), {"login": personas.bob.email, "password": PASSWORD}
    )
    assert response.status_code == 302 and "inactive" in response["Location"]


@pytest.mark.django_db
def test_a_reactivated_user_can_sign_in_again(client, personas):
    client.force_login(personas.alice)
    client.post(reverse("admin_tasks:user_deactivate", args=[personas.bob.public_id]))
    client.post(reverse("admin_tasks:user_reactivate", args=[personas.bob.public_id]))
    bob = User.objects.get(pk=personas.bob.pk)
    assert bob.is_active and bob.deactivated_at is None
    from django.test import Client as Browser

    browser = Browser()
    _sign_in(browser, bob)  # the real sign-in form accepts him again
    assert browser.get(reverse("dashboard")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data"),
    [("admin_tasks:user_role", {"role": "member"}), ("admin_tasks:user_deactivate", {})],
)
def test_the_last_admin_cannot_demote_or_deactivate_themselves(client, personas, name, data):
    client.force_login(personas.alice)
    response = client.post(reverse(name, args=[personas.alice.public_id]), data, follow=True)
    assert "last admin of Acme" in response.content.decode()
    personas.alice.refresh_from_db()
    assert personas.alice.role == User.Role.ADMIN and personas.alice.is_active


@pytest.mark.django_db
def test_an_admin_may_step_down_once_there_is_another_admin(client, personas):
    client.force_login(personas.alice)
    client.post(reverse("admin_tasks:user_role", args=[personas.bob.public_id]), {"role": "admin"})
    client.post(
        reverse("admin_tasks:user_role", args=[personas.alice.public_id]), {"role": "member"}
    )
    personas.alice.refresh_from_db()
    assert personas.alice.role == User.Role.MEMBER


@pytest.mark.django_db
def test_admin_task_actions_need_post(client, personas):
    client.force_login(personas.alice)
    assert (
        client.get(
            reverse("admin_tasks:user_deactivate", args=[personas.bob.public_id])
        ).status_code
        == 405
    )
    personas.bob.refresh_from_db()
    assert personas.bob.is_active


@pytest.mark.django_db
@pytest.mark.parametrize("extra", [1, 50])
def test_the_user_list_runs_a_constant_number_of_queries(
    client, personas, django_assert_max_num_queries, extra
):
    UserFactory.create_batch(extra, client=personas.client_a)
    for i in range(min(extra, 10)):
        InvitationFactory(
            client=personas.client_a, invited_by=personas.alice, email=f"inv{i}@example.com"
        )
    client.force_login(personas.alice)
    client.get(reverse("dashboard"))  # first request of a session records it (usersessions)
    # user with client (session is in the Redis cache), the usersession row, the savepoint pair
    # of ATOMIC_REQUESTS, the tenant scope set and reset, invitations with their inviter, users
    with django_assert_max_num_queries(8):
        response = client.get(reverse("admin_tasks:users"))
    assert response.status_code == 200
    assert response.content.decode().count("/deactivate/") == extra + 2
