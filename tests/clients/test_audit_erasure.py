"""Nobody edits or deletes an audit event; erasing a person keeps their events, nameless."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from accounts import services as account_services
from clients import audit
from clients.models import AuditEvent
from tests.factories import StaffFactory

A = AuditEvent.Action
URL = reverse("admin_tasks:audit_log")


@pytest.fixture
def bob_acted_and_was_acted_on(personas):
    account_services.user_update_name(
        user=personas.bob, full_name="Bob Renamed", acting_user=personas.bob
    )
    account_services.user_change_role(target=personas.bob, role="admin", acting_user=personas.alice)
    return AuditEvent.objects.count()


@pytest.mark.django_db
def test_deleting_a_user_keeps_their_events_as_an_erased_user(
    client, personas, bob_acted_and_was_acted_on
):
    personas.bob.delete()
    assert AuditEvent.objects.count() == bob_acted_and_was_acted_on
    renamed = AuditEvent.objects.get(action=A.USER_NAME_CHANGED)
    assert renamed.actor is None and renamed.actor_kind == "user"
    client.force_login(personas.alice)
    page = client.get(URL).content.decode()
    assert "erased user" in page and "changed a name" in page
    assert "Bob" not in page and "bob@" not in page


@pytest.mark.django_db
def test_anonymising_a_user_detaches_them_as_actor_and_target_and_keeps_the_events(
    client, personas, bob_acted_and_was_acted_on
):
    touched = audit.anonymise_user(personas.bob)
    assert touched == 3  # actor of the rename; target of the rename and of the role change
    assert AuditEvent.objects.count() == bob_acted_and_was_acted_on
    assert not AuditEvent.objects.filter(actor=personas.bob).exists()
    assert not AuditEvent.objects.filter(target_id=personas.bob.public_id).exists()
    # the row itself kept but anonymised (as the privacy work may do): still nameless
    personas.bob.full_name, personas.bob.email = "Former user", "erased-1@invalid.example"
    personas.bob.save(update_fields=["full_name", "email"])
    client.force_login(personas.alice)
    page = client.get(URL).content.decode()
    assert page.count("erased user") >= 3 and "Bob" not in page


@pytest.mark.django_db
def test_the_database_refuses_to_change_or_delete_an_event(personas):
    event = audit.record(
        actor=personas.alice,
        action=A.USER_ROLE_CHANGED,
        target=personas.bob,
        changes={"role": ("member", "admin")},
    )
    attempts = [
        lambda: AuditEvent.objects.filter(pk=event.pk).update(action=A.USER_REACTIVATED),
        lambda: AuditEvent.objects.filter(pk=event.pk).update(changes={}),
        lambda: AuditEvent.objects.filter(pk=event.pk).update(actor=personas.bob),
        lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
        lambda: connection.cursor().execute("DELETE FROM clients_auditevent"),
    ]
    for attempt in attempts:
        with pytest.raises(DatabaseError, match="audit events cannot be"), transaction.atomic():
            attempt()
    event.refresh_from_db()
    assert event.action == A.USER_ROLE_CHANGED and event.actor == personas.alice
    assert event.changes == {"role": {"old": "member", "new": "admin"}}


@pytest.fixture
def staff(db):
    user = StaffFactory(email="sam@hexcm.example")
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.mark.django_db
def test_staff_read_every_clients_events_in_django_admin_and_find_one_by_target(
    client, personas, staff
):
    audit.record(actor=personas.alice, action=A.USER_ROLE_CHANGED, target=personas.bob)
    audit.record(actor=personas.carol, action=A.FOLDER_CREATED, client=personas.client_b)
    client.force_login(staff)
    changelist = reverse("admin:clients_auditevent_changelist")
    page = client.get(changelist)
    assert page.status_code == 200 and len(page.context["cl"].result_list) == 2
    found = client.get(changelist, {"q": str(personas.bob.public_id)})
    assert [e.action for e in found.context["cl"].result_list] == [A.USER_ROLE_CHANGED]
    assert client.get(changelist, {"q": "not a uuid"}).status_code == 200
    filtered = client.get(
        changelist, {"actor_kind__exact": "user", "client__id__exact": personas.client_b.pk}
    )
    assert [e.action for e in filtered.context["cl"].result_list] == [A.FOLDER_CREATED]


@pytest.mark.django_db
def test_nobody_adds_edits_or_deletes_an_event_in_django_admin_not_even_a_superuser(
    client, personas, staff
):
    event = audit.record(actor=personas.alice, action=A.USER_ROLE_CHANGED, target=personas.bob)
    client.force_login(staff)
    assert staff.is_superuser
    assert client.get(reverse("admin:clients_auditevent_add")).status_code == 403
    change = reverse("admin:clients_auditevent_change", args=[event.pk])
    assert client.get(change).status_code == 200  # read-only view
    assert client.post(change, {"action": A.USER_REACTIVATED}).status_code == 403
    delete = reverse("admin:clients_auditevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.action == A.USER_ROLE_CHANGED
