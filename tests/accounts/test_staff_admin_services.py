"""Every change staff make in Django admin goes through the service the app uses."""

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.usersessions.models import UserSession
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Invitation, ProfileRevision, User
from prospects import importing
from prospects.models import ImportJob
from tests.conftest import sign_in
from tests.factories import InvitationFactory, StaffFactory


@pytest.fixture
def staff(db):
    user = StaffFactory(email="sam@hexcm.example", full_name="Sam Support")
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def _user_form(user, **changes):
    data = {
        "full_name": user.full_name,
        "role": user.role,
        "is_active": "on" if user.is_active else "",
    }
    data.update(changes)
    data.update({"revisions-TOTAL_FORMS": "0", "revisions-INITIAL_FORMS": "0"})
    return {k: v for k, v in data.items() if v != ""}


def _change(admin_client, user, **changes):
    return admin_client.post(
        reverse("admin:accounts_user_change", args=[user.pk]), _user_form(user, **changes)
    )


@pytest.mark.django_db
def test_a_name_changed_in_admin_keeps_the_previous_one_in_the_history(
    admin_client, staff, personas
):
    response = _change(admin_client, personas.bob, full_name="Robert Member")
    assert response.status_code == 302, response.content.decode()[:2000]
    revision = ProfileRevision.objects.get(user=personas.bob)
    assert (revision.old_value, revision.new_value) == ("Bob Member", "Robert Member")
    assert revision.changed_by == staff
    assert User.objects.get(pk=personas.bob.pk).full_name == "Robert Member"


@pytest.mark.django_db
def test_admin_cannot_demote_or_deactivate_a_clients_last_admin(admin_client, personas):
    for changes in ({"role": "member"}, {"is_active": ""}):
        response = _change(admin_client, personas.alice, **changes)
        assert response.status_code == 200
        assert "last admin of Acme" in response.content.decode()
    alice = User.objects.get(pk=personas.alice.pk)
    assert alice.role == User.Role.ADMIN and alice.is_active


@pytest.mark.django_db
def test_unticking_active_in_admin_deactivates_through_the_service(client, personas):
    sign_in(client, personas.bob)  # a real session of Bob's
    assert UserSession.objects.filter(user=personas.bob).exists()
    staff = StaffFactory(email="sue@hexcm.example")
    TOTP.activate(staff, generate_totp_secret())
    from django.test import Client

    support = Client()
    support.force_login(staff)
    response = _change(support, personas.bob, is_active="")
    assert response.status_code == 302
    bob = User.objects.get(pk=personas.bob.pk)
    assert not bob.is_active and bob.deactivated_at is not None
    assert not UserSession.objects.filter(user=bob).exists()  # signed out everywhere
    assert client.get(reverse("dashboard")).status_code == 302  # his browser is signed out


@pytest.mark.django_db
def test_a_role_changed_in_admin_goes_through_the_service(admin_client, personas):
    response = _change(admin_client, personas.bob, role="admin")
    assert response.status_code == 302
    assert User.objects.get(pk=personas.bob.pk).role == User.Role.ADMIN


@pytest.mark.django_db
def test_admin_cannot_move_a_user_to_another_client_or_change_their_address(admin_client, personas):
    response = _change(
        admin_client,
        personas.bob,
        client=str(personas.client_b.pk),
        email="bob@elsewhere.example",
        is_staff="on",
        is_superuser="on",
    )
    assert response.status_code == 302
    bob = User.objects.get(pk=personas.bob.pk)
    assert bob.client == personas.client_a
    assert bob.email == "bob@acme.example"
    assert not bob.is_staff and not bob.is_superuser


@pytest.mark.django_db
def test_admin_neither_adds_nor_deletes_users(admin_client, personas):
    assert admin_client.get(reverse("admin:accounts_user_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:accounts_user_delete", args=[personas.bob.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert User.objects.filter(pk=personas.bob.pk).exists()


def _ended_import(personas) -> ImportJob:
    upload = SimpleUploadedFile("a.csv", b"Name,Email\nRavi,ravi@example.com\n")
    return importing.import_upload(client=personas.client_a, actor=personas.bob, upload=upload)


@pytest.mark.django_db
def test_deleting_an_import_in_admin_deletes_its_stored_file(
    admin_client, personas, django_capture_on_commit_callbacks
):
    job = _ended_import(personas)
    name = job.source.name
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:prospects_importjob_delete", args=[job.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not ImportJob.objects.filter(pk=job.pk).exists()
    assert not default_storage.exists(name)


@pytest.mark.django_db
def test_the_bulk_delete_of_imports_goes_through_the_service_too(
    admin_client, personas, django_capture_on_commit_callbacks
):
    job = _ended_import(personas)
    name = job.source.name
    url = reverse("admin:prospects_importjob_changelist")
    assert "delete_selected" not in admin_client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url, {"action": "delete_imports", "_selected_action": [job.pk]}, follow=True
        )
    assert "1 import(s) deleted" in response.content.decode()
    assert not default_storage.exists(name)


@pytest.mark.django_db
def test_a_running_import_cannot_be_deleted(admin_client, personas):
    job = _ended_import(personas)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    response = admin_client.post(
        reverse("admin:prospects_importjob_delete", args=[job.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    response = admin_client.post(
        reverse("admin:prospects_importjob_changelist"),
        {"action": "delete_imports", "_selected_action": [job.pk]},
        follow=True,
    )
    assert "still running" in response.content.decode()
    assert ImportJob.objects.filter(pk=job.pk).exists()


@pytest.mark.django_db
def test_invitations_are_cancelled_not_deleted_in_admin(admin_client, personas):
    invitation = InvitationFactory(client=personas.client_a, invited_by=personas.alice)
    url = reverse("admin:accounts_invitation_delete", args=[invitation.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    response = admin_client.post(
        reverse("admin:accounts_invitation_changelist"),
        {"action": "cancel_invitations", "_selected_action": [invitation.pk]},
        follow=True,
    )
    assert "1 invitation(s) cancelled" in response.content.decode()
    assert Invitation.objects.get(pk=invitation.pk).status == Invitation.Status.CANCELLED


@pytest.mark.django_db
def test_allauths_tables_are_read_only_and_never_show_the_totp_secret(
    admin_client, staff, personas
):
    address = EmailAddress.objects.get(user=personas.bob)
    response = admin_client.post(
        reverse("admin:account_emailaddress_change", args=[address.pk]),
        {"email": "evil@example.com", "user": personas.bob.pk, "verified": "on", "primary": "on"},
    )
    assert response.status_code == 403
    assert EmailAddress.objects.get(pk=address.pk).email == "bob@acme.example"
    authenticator = Authenticator.objects.get(user=staff)
    page = admin_client.get(
        reverse("admin:mfa_authenticator_change", args=[authenticator.pk])
    ).content.decode()
    assert authenticator.data["secret"] not in page
    delete = reverse("admin:mfa_authenticator_delete", args=[authenticator.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403


@pytest.mark.django_db
def test_staff_end_a_session_through_the_service(admin_client, personas):
    from django.test import Client

    browser = Client()
    sign_in(browser, personas.bob)
    session = UserSession.objects.get(user=personas.bob)
    response = admin_client.post(
        reverse("admin:usersessions_usersession_changelist"),
        {"action": "end_sessions", "_selected_action": [session.pk]},
        follow=True,
    )
    assert "1 session(s) ended" in response.content.decode()
    assert browser.get(reverse("dashboard")).status_code == 302


@pytest.mark.django_db
def test_deleting_an_import_and_ending_a_session_are_audited(admin_client, staff, personas):
    from django.test import Client

    from clients.models import AuditEvent

    job = _ended_import(personas)
    admin_client.post(reverse("admin:prospects_importjob_delete", args=[job.pk]), {"post": "yes"})
    browser = Client()
    sign_in(browser, personas.bob)
    admin_client.post(
        reverse("admin:usersessions_usersession_changelist"),
        {
            "action": "end_sessions",
            "_selected_action": [UserSession.objects.get(user=personas.bob).pk],
        },
    )
    events = AuditEvent.objects.filter(actor=staff).order_by("id")
    assert [(e.action, e.client_id) for e in events] == [
        ("import.deleted", personas.client_a.pk),
        ("user.sessions_ended", personas.client_a.pk),
    ]
    assert events[1].target_id == personas.bob.public_id and events[1].counts == {"sessions": 1}
