"""The request workflow's services: deadlines, filing by a user, a visitor and staff,
confirming once, extending once with the reason mailed, refusing, completing, withdrawing."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clients.models import AuditEvent
from privacy import services
from privacy.models import PrivacyRequestEvent

from .requests_helpers import (
    Channel,
    Kind,
    Status,
    account_request,
    confirmed_visitor_request,
    mails_to,
    prospect_request,
    visitor_request,
)

pytestmark = pytest.mark.django_db


def test_a_request_is_due_30_days_after_receipt():
    request = visitor_request(kind=Kind.ACCESS)
    assert request.due_at - request.received_at == timedelta(days=30)


def test_a_child_data_report_is_due_in_72_hours():
    request = visitor_request(kind=Kind.CHILD_DATA, details="User x is 13.")
    assert request.due_at - request.received_at == timedelta(hours=72)


def test_a_signed_in_users_request_is_confirmed_at_once_with_their_own_address(personas):
    request = account_request(personas.bob, kind=Kind.CORRECTION)
    assert request.status == Status.RECEIVED
    assert request.verified_at is not None
    assert request.requester == personas.bob
    assert request.requester_email == "bob@acme.example"
    assert request.channel == Channel.ACCOUNT
    assert not mails_to("bob@acme.example")  # they follow it in their account pages
    event = request.events.get()
    assert event.action == PrivacyRequestEvent.Action.FILED
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.PRIVACY_REQUEST_FILED, target_id=request.public_id
    ).exists()


def test_a_visitors_request_waits_for_the_link_mailed_to_them():
    request = visitor_request(email="Vera@Visitor.example")
    assert request.status == Status.VERIFYING
    assert request.verified_at is None
    assert request.requester_email == "vera@visitor.example"
    assert request.requester_hash and "vera" not in request.requester_hash
    (mail,) = mails_to("vera@visitor.example")
    assert mail.category == "account"
    assert mail.expires_at is not None  # the link's lifetime
    assert "/privacy/requests/" in mail.body_text


def test_staff_file_on_someones_behalf_confirmed_and_linked_to_their_account(personas, sam):
    request = services.request_file(
        kind=Kind.CORRECTION,
        channel=Channel.STAFF,
        name="Bob",
        email="BOB@acme.example",
        details="By letter: my old surname is still shown.",
        reference="profile",
        filed_by=sam,
    )
    assert request.status == Status.RECEIVED and request.verified_at is not None
    assert request.requester == personas.bob
    assert request.filed_by == sam
    assert request.reference == "profile"
    assert mails_to("bob@acme.example", "recorded")


def test_confirming_happens_once_and_links_the_account_the_address_belongs_to(personas):
    request = visitor_request(email="dan@bravo.example", kind=Kind.CORRECTION)
    assert services.request_verify(request=request, actor=None) is True
    request.refresh_from_db()
    assert request.status == Status.RECEIVED
    assert request.requester == personas.dan
    first = request.verified_at
    assert services.request_verify(request=request, actor=None) is False
    request.refresh_from_db()
    assert request.verified_at == first
    assert request.events.filter(action=PrivacyRequestEvent.Action.VERIFIED).count() == 1


def test_a_removal_needs_its_target_and_a_prospect_request_its_company(personas):
    with pytest.raises(ValidationError):
        visitor_request(kind=Kind.REMOVAL)
    with pytest.raises(ValidationError):
        visitor_request(kind=Kind.PROSPECT_DATA)
    personas.client_b.status = personas.client_b.Status.SUSPENDED
    personas.client_b.save()
    with pytest.raises(ValidationError):
        visitor_request(kind=Kind.PROSPECT_DATA, client=personas.client_b)


def test_the_deadline_is_extended_once_only_and_the_reason_is_mailed(sam):
    request = confirmed_visitor_request()
    due = request.due_at
    services.request_extend(request=request, reason="Your archive spans two systems.", actor=sam)
    request.refresh_from_db()
    assert request.due_at == due + timedelta(days=30)
    assert request.extension_reason == "Your archive spans two systems."
    (mail,) = mails_to("vera@visitor.example", "more time")
    assert "Your archive spans two systems." in mail.body_text
    assert f"{request.due_at:%Y-%m-%d}" in mail.body_text
    with pytest.raises(ValidationError, match="already extended"):
        services.request_extend(request=request, reason="Again", actor=sam)
    request.refresh_from_db()
    assert request.due_at == due + timedelta(days=30)


def test_an_extension_needs_a_reason(sam):
    request = confirmed_visitor_request()
    with pytest.raises(ValidationError, match="reason"):
        services.request_extend(request=request, reason="  ", actor=sam)


def test_a_child_data_extension_adds_72_hours_again(sam):
    request = confirmed_visitor_request(kind=Kind.CHILD_DATA)
    due = request.due_at
    services.request_extend(request=request, reason="Waiting for the school.", actor=sam)
    request.refresh_from_db()
    assert request.due_at == due + timedelta(hours=72)


def test_a_refusal_carries_its_reason_to_the_requester(sam):
    request = confirmed_visitor_request(
        kind=Kind.REMOVAL, removal_target="forum_post", reference="/forum/42"
    )
    services.request_refuse(request=request, reason="The post is part of a legal claim.", actor=sam)
    request.refresh_from_db()
    assert request.status == Status.REFUSED and request.closed_at is not None
    (mail,) = mails_to("vera@visitor.example", "refused")
    assert "The post is part of a legal claim." in mail.body_text
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.PRIVACY_REQUEST_REFUSED, target_id=request.public_id
    ).exists()
    with pytest.raises(ValidationError):  # closed: it never reopens
        services.request_complete(request=request, outcome="x", actor=sam)


def test_completing_mails_the_outcome_and_needs_a_confirmed_request(sam):
    unconfirmed = visitor_request(email="u@visitor.example")
    with pytest.raises(ValidationError, match="confirmed"):
        services.request_complete(request=unconfirmed, outcome="Sent", actor=sam)
    request = confirmed_visitor_request()
    services.request_complete(request=request, outcome="We sent you the archive.", actor=sam)
    request.refresh_from_db()
    assert request.status == Status.DONE
    (mail,) = mails_to("vera@visitor.example", "done")
    assert "We sent you the archive." in mail.body_text


def test_only_the_requester_withdraws_and_only_while_open(personas, sam):
    request = account_request(personas.bob)
    with pytest.raises(ValidationError):
        services.request_withdraw(request=request, actor=personas.alice)
    with pytest.raises(ValidationError):
        services.request_withdraw(request=request, actor=sam)
    services.request_withdraw(request=request, actor=personas.bob)
    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN
    event = request.events.get(action=PrivacyRequestEvent.Action.WITHDRAWN)
    assert event.actor_kind == PrivacyRequestEvent.ActorKind.REQUESTER
    with pytest.raises(ValidationError):
        services.request_withdraw(request=request, actor=personas.bob)


def test_a_visitor_withdraws_through_their_link_as_the_requester():
    request = confirmed_visitor_request()
    services.request_withdraw(request=request, actor=None)
    event = request.events.get(action=PrivacyRequestEvent.Action.WITHDRAWN)
    assert event.actor_kind == PrivacyRequestEvent.ActorKind.REQUESTER


def test_hexcm_requests_are_answered_by_staff_and_prospect_ones_by_that_clients_admins(
    personas, sam
):
    hexcm = confirmed_visitor_request()
    with pytest.raises(ValidationError, match="HexCM"):
        services.request_refuse(request=hexcm, reason="no", actor=personas.alice)
    prospect = prospect_request(personas.client_a)
    for outsider in (sam, personas.carol, personas.bob):
        with pytest.raises(ValidationError, match="administrators"):
            services.request_start(request=prospect, actor=outsider)
    services.request_start(request=prospect, actor=personas.alice)
    prospect.refresh_from_db()
    assert prospect.status == Status.IN_PROGRESS


def test_assigning_to_staff_only_and_notes_stay_out_of_the_requesters_timeline(sam, personas):
    from privacy import queries

    request = confirmed_visitor_request()
    with pytest.raises(ValidationError):
        services.request_assign(request=request, assignee=personas.alice, actor=sam)
    services.request_assign(request=request, assignee=sam, actor=sam)
    services.request_note(request=request, note="Called them back.", actor=sam)
    request.refresh_from_db()
    assert request.assignee == sam
    assert "Called them back." in request.notes
    seen = {e.action for e in queries.requester_timeline(request)}
    assert PrivacyRequestEvent.Action.NOTE not in seen
    assert PrivacyRequestEvent.Action.ASSIGNED not in seen
    assert all("Called them back" not in e.message for e in request.events.all())


def test_time_left_reads_in_hours_days_and_overdue():
    from privacy.queries import deadline

    assert deadline(visitor_request(kind=Kind.CHILD_DATA)).label == (
        "awaiting the requester's confirmation"
    )
    request = confirmed_visitor_request(kind=Kind.CHILD_DATA, email="c@visitor.example")
    now = timezone.now()
    assert deadline(request, now).label == "71 hours left"
    assert deadline(request, now).css == "due-soon"
    assert deadline(request, now + timedelta(days=4)).label == "overdue by 1 day"
    assert deadline(request, now + timedelta(days=4)).css == "overdue"
    long = confirmed_visitor_request(kind=Kind.ACCESS, email="l@visitor.example")
    assert deadline(long, timezone.now()).label == "29 days left"
    assert deadline(long, now).css == ""


def test_a_users_own_request_stays_out_of_their_employers_audit_log(client, personas):
    request = account_request(personas.bob, kind=Kind.DELETION)
    services.request_withdraw(request=request, actor=personas.bob)
    events = AuditEvent.objects.filter(target_id=request.public_id)
    # filed, in progress and scheduled (the deletion waits its days), withdrawn
    assert events.count() == 4
    assert set(events.values_list("client_id", flat=True)) == {None}
    client.force_login(personas.alice)
    log = client.get("/app/admin-tasks/audit/").content.decode()
    assert "<td>filed a privacy request</td>" not in log
    assert "<td>withdrew a privacy request</td>" not in log
    # a prospect data request is its client's business
    prospect = prospect_request(personas.client_a)
    assert set(
        AuditEvent.objects.filter(target_id=prospect.public_id).values_list("client_id", flat=True)
    ) == {personas.client_a.pk}
    log = client.get("/app/admin-tasks/audit/").content.decode()
    assert "<td>filed a privacy request</td>" in log  # the same log shows its client's events
