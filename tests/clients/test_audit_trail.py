"""Every service that changes state on someone's behalf writes one audit event: when, who, which
client, what action, on what, which fields changed, from which IP address."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Invitation, User
from clients import audit
from clients.models import AuditEvent
from prospects import files, importing
from prospects import services as prospect_services
from prospects.models import Prospect
from tests.factories import InvitationFactory, ProspectFactory

A = AuditEvent.Action
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _only(action) -> AuditEvent:
    events = list(AuditEvent.objects.filter(action=action))
    assert len(events) == 1, [e.action for e in AuditEvent.objects.all()]
    return events[0]


def _text(event: AuditEvent) -> str:
    return json.dumps([event.changes, event.counts])


@pytest.mark.django_db
def test_changing_a_role_records_who_for_which_client_what_and_from_where(client, personas):
    client.force_login(personas.alice)
    client.post(
        reverse("admin_tasks:user_role", args=[personas.bob.public_id]),
        {"role": "admin"},
        REMOTE_ADDR="203.0.113.7",
    )
    event = _only(A.USER_ROLE_CHANGED)
    assert event.actor == personas.alice and event.actor_kind == "user"
    assert event.client == personas.client_a
    assert (event.target_type, event.target_id) == ("accounts.user", personas.bob.public_id)
    assert event.changes == {"role": {"old": "member", "new": "admin"}}
    assert event.ip_address == "203.0.113.7"


@pytest.mark.django_db
def test_the_ip_address_comes_through_allauth_and_its_trusted_proxy_setting(
    client, personas, settings
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    client.force_login(personas.alice)
    client.post(
        reverse("admin_tasks:user_deactivate", args=[personas.bob.public_id]),
        REMOTE_ADDR="10.0.0.2",  # the proxy
        HTTP_X_FORWARDED_FOR="198.51.100.23",
    )
    assert _only(A.USER_DEACTIVATED).ip_address == "198.51.100.23"


@pytest.mark.django_db
def test_deactivating_records_it_and_the_sessions_it_ended(client, personas):
    from tests.conftest import sign_in

    sign_in(client, personas.bob)
    account_services.user_deactivate(target=personas.bob, acting_user=personas.alice)
    deactivated = _only(A.USER_DEACTIVATED)
    assert deactivated.changes == {"is_active": {"old": True, "new": False}}
    ended = _only(A.USER_SESSIONS_ENDED)
    assert ended.counts == {"sessions": 1} and ended.actor == personas.alice
    account_services.user_reactivate(target=personas.bob, acting_user=personas.alice)
    assert _only(A.USER_REACTIVATED).changes == {"is_active": {"old": False, "new": True}}


@pytest.mark.django_db
def test_invitations_are_recorded_from_sending_to_acceptance_without_the_address(personas):
    invitation = account_services.invitation_create(
        client=personas.client_a, email="new@acme.example", role="member", invited_by=personas.alice
    )
    account_services.invitation_resend(invitation=invitation, acting_user=personas.alice)
    user = account_services.invitation_accept(
        invitation=invitation, full_name="Nia New", password="a long pass phrase 42"
    )
    other = InvitationFactory(client=personas.client_a, invited_by=personas.alice)
    account_services.invitation_cancel(invitation=other, acting_user=personas.alice)

    assert _only(A.INVITATION_CREATED).actor == personas.alice
    assert _only(A.INVITATION_RESENT).target_id == invitation.public_id
    accepted = _only(A.INVITATION_ACCEPTED)
    assert accepted.actor == user and accepted.client == personas.client_a
    assert _only(A.INVITATION_CANCELLED).changes == {
        "status": {"old": Invitation.Status.PENDING, "new": Invitation.Status.CANCELLED}
    }
    for event in AuditEvent.objects.all():
        assert "acme.example" not in _text(event) and "Nia" not in _text(event)


@pytest.mark.django_db
def test_starting_a_client_account_is_recorded_for_the_new_client(db):
    user = User(email="founder@new.example")
    user.set_password("a long pass phrase 42")
    user = account_services.client_account_start(
        user=user, company_name="Newco", full_name="Fay Founder"
    )
    event = _only(A.CLIENT_ACCOUNT_STARTED)
    assert event.actor == user and event.client == user.client
    assert event.target_id == user.client.public_id


@pytest.mark.django_db
def test_a_name_or_email_change_records_the_field_but_never_the_values(personas):
    account_services.user_update_name(
        user=personas.bob, full_name="Robert Secret", acting_user=personas.bob
    )
    account_services.user_record_email_change(
        user=personas.bob, old_email="bob@acme.example", new_email="rob@acme.example"
    )
    assert _only(A.USER_NAME_CHANGED).changes == {"full_name": {}}
    assert _only(A.USER_EMAIL_CHANGED).changes == {"email": {}}
    for event in AuditEvent.objects.all():
        assert "Robert" not in _text(event) and "Bob" not in _text(event)
        assert "acme.example" not in _text(event)


@pytest.mark.django_db
def test_record_keeps_old_and_new_values_only_for_non_personal_fields(personas):
    event = audit.record(
        actor=personas.alice,
        action=A.PROSPECT_UPDATED,
        client=personas.client_a,
        changes={"status": ("new", "customer"), "name": ("Ravi", "Ravi Kumar"), "notes": None},
    )
    assert event.changes == {"status": {"old": "new", "new": "customer"}, "name": {}, "notes": {}}


@pytest.mark.django_db
def test_a_prospects_edit_records_which_fields_changed_and_its_status(personas):
    prospect = prospect_services.prospect_create(
        client=personas.client_a, actor=personas.bob, raw={"name": "Ravi Kumar"}
    )
    prospect_services.prospect_update(
        prospect=prospect,
        actor=personas.bob,
        raw={"name": "Ravi K.", "email": "ravi@sunrise.example", "status": "interested"},
    )
    assert _only(A.PROSPECT_CREATED).target_id == prospect.public_id
    updated = _only(A.PROSPECT_UPDATED)
    assert updated.changes["status"] == {"old": "new", "new": "interested"}
    assert updated.changes["name"] == {} and updated.changes["email"] == {}
    assert "Ravi" not in _text(updated) and "sunrise" not in _text(updated)


@pytest.mark.django_db
def test_a_bulk_change_records_one_event_with_the_count(personas):
    prospects = [ProspectFactory(client=personas.client_a) for _ in range(3)]
    prospect_services.prospects_bulk_status(
        client=personas.client_a,
        actor=personas.alice,
        public_ids=[p.public_id for p in prospects],
        status="customer",
    )
    prospect_services.prospects_bulk_assign(
        client=personas.client_a,
        actor=personas.alice,
        public_ids=[p.public_id for p in prospects],
        owner=personas.bob,
    )
    assert _only(A.PROSPECTS_BULK_STATUS).counts == {"prospects": 3}
    assigned = _only(A.PROSPECTS_BULK_ASSIGNED)
    assert assigned.counts == {"prospects": 3} and assigned.changes == {"owner": {}}


@pytest.mark.django_db
def test_visits_from_plan_to_report_are_recorded_without_the_report(personas):
    prospect = ProspectFactory(client=personas.client_a)
    visit = prospect_services.visit_plan(
        prospect=prospect, actor=personas.bob, user=personas.bob, scheduled_at=None
    )
    prospect_services.visit_check_in(visit=visit, actor=personas.bob)
    prospect_services.visit_complete(
        visit=visit, actor=personas.bob, outcome="positive", report="Met Priya", answers={}
    )
    assert _only(A.VISIT_PLANNED).target_id == visit.public_id
    assert _only(A.VISIT_CHECKED_IN).changes["status"]["new"] == "in_progress"
    done = _only(A.VISIT_COMPLETED)
    assert done.changes["outcome"] == {"old": None, "new": "positive"}
    assert done.changes["report"] == {} and "Priya" not in _text(done)


@pytest.mark.django_db
def test_definitions_files_and_folders_are_recorded_once_per_action(personas):
    alice, client_a = personas.alice, personas.client_a
    field = prospect_services.custom_field_create(
        client=client_a, actor=alice, key="region", label="Region", kind="text", choices=[],
        required=False,
    )  # fmt: skip
    prospect_services.custom_field_delete(field=field, actor=alice)
    prospect_services.checklist_save(
        client=client_a, actor=alice, name="Shop visit",
        items=[{"key": "done", "label": "Done", "kind": "check"}],
    )  # fmt: skip
    folder = files.folder_create(client=client_a, actor=alice, name="Contracts", parent=None)
    files.file_store(
        client=client_a, actor=alice, upload=SimpleUploadedFile("a.png", PNG), folder=folder
    )
    files.file_store(
        client=client_a, actor=alice, upload=SimpleUploadedFile("b.png", PNG), folder=folder
    )
    files.folder_delete(folder=folder, actor=alice)

    assert _only(A.CUSTOM_FIELD_CREATED).changes["key"] == {"old": None, "new": "region"}
    assert _only(A.CUSTOM_FIELD_DELETED).client == client_a
    assert _only(A.CHECKLIST_SAVED).counts == {"items": 1, "created": 1}
    assert _only(A.FOLDER_CREATED).target_id == folder.public_id
    assert AuditEvent.objects.filter(action=A.FILE_UPLOADED).count() == 2
    # the folder's deletion is one event with its counts, not one per file
    assert _only(A.FOLDER_DELETED).counts == {"folders": 1, "files": 2}
    assert not AuditEvent.objects.filter(action=A.FILES_DELETED).exists()


@pytest.mark.django_db
def test_exports_of_client_data_and_erasure_are_recorded(client, personas):
    prospect = ProspectFactory(client=personas.client_a, name="Ravi Kumar")
    client.force_login(personas.alice)
    export = client.get(reverse("prospects:export"))
    b"".join(export.streaming_content)
    zipped = client.get(reverse("prospects:data_export", args=[prospect.public_id]))
    b"".join(zipped.streaming_content)
    client.post(
        reverse("prospects:erase", args=[prospect.public_id]), {"confirm_name": "Ravi Kumar"}
    )
    assert _only(A.PROSPECTS_EXPORTED).actor == personas.alice
    assert _only(A.PROSPECT_DATA_EXPORTED).counts == {"visits": 0, "files": 0}
    erased = _only(A.PROSPECT_ERASED)
    assert erased.target_id == prospect.public_id and erased.client == personas.client_a
    assert not Prospect.objects.filter(pk=prospect.pk).exists()


@pytest.mark.django_db
def test_an_import_records_its_start_and_its_end_once_not_per_row(
    personas, django_capture_on_commit_callbacks, settings
):
    settings.IMPORT_BATCH_SIZE = 2
    content = "Name,Email\n" + "".join(f"Person {i},p{i}@x.example\n" for i in range(5))
    upload = SimpleUploadedFile("a.csv", content.encode())
    job = importing.import_upload(client=personas.client_a, actor=personas.bob, upload=upload)
    with django_capture_on_commit_callbacks(execute=True):
        importing.import_start(
            job=job, actor=personas.bob, mapping=job.mapping, on_duplicate="update"
        )
    started = _only(A.IMPORT_STARTED)
    assert started.actor == personas.bob and started.counts == {"rows": 5}
    finished = _only(A.IMPORT_FINISHED)
    assert finished.actor is None and finished.actor_kind == "system"
    assert finished.ip_address is None  # a task has no request
    assert finished.counts["created"] == 5 and finished.counts["rows"] == 5
    assert AuditEvent.objects.count() == 2


@pytest.mark.django_db
def test_an_event_is_rolled_back_with_the_change_it_describes(personas):
    with pytest.raises(RuntimeError), transaction.atomic():
        account_services.user_change_role(
            target=personas.bob, role="admin", acting_user=personas.alice
        )
        raise RuntimeError
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_staff_and_system_actors_are_told_apart(personas):
    from tests.factories import StaffFactory

    staff = StaffFactory()
    account_services.user_deactivate(target=personas.bob, acting_user=staff)
    assert _only(A.USER_DEACTIVATED).actor_kind == "staff"
    assert _only(A.USER_DEACTIVATED).client == personas.client_a
    event = audit.record(actor=None, action=A.IMPORT_FAILED, client=personas.client_a)
    assert event.actor_kind == "system" and event.ip_address is None
