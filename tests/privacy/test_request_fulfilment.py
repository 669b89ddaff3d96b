"""A request's way from filing to its answer, across the areas: a confirmed access request
builds the copy by itself, a confirmed deletion is scheduled by itself and runs after its
waiting period, and staff answer the other kinds from the request's page in Django admin
(the copy, the deletion now, a child's account, a correction)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ProfileRevision, User
from clients.models import AuditEvent
from privacy import deletion
from privacy.models import AccessArchive, PrivacyRequest, PrivacyRequestEvent

from .requests_helpers import Kind, Status, account_request, link_in, mails_to, visitor_request

pytestmark = pytest.mark.django_db


def _act(request, action):
    return reverse("admin:privacy_privacyrequest_act", args=[request.pk, action])


@pytest.fixture
def staff_client(client, sam):
    client.force_login(sam)
    return client


def test_an_access_request_from_the_privacy_page_is_answered_with_the_copy(
    client, personas, django_capture_on_commit_callbacks
):
    client.force_login(personas.bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("privacy:account_privacy"), {"kind": Kind.ACCESS, "details": ""}
        )
    request = PrivacyRequest.objects.get(requester=personas.bob)
    assert response.status_code == 302
    assert response["Location"] == reverse("privacy:account_request", args=[request.public_id])
    assert request.status == Status.DONE
    archive = AccessArchive.objects.get(request=request)
    assert archive.status == AccessArchive.Status.READY
    page = client.get(response["Location"]).content.decode()
    assert reverse("privacy:archives") in page
    assert client.get(reverse("privacy:archive_download", args=[archive.public_id])).status_code
    # the employer's log shows none of it
    assert not AuditEvent.objects.filter(client=personas.client_a, target_id=request.public_id)


def test_a_visitors_deletion_once_confirmed_waits_its_days_then_erases_the_account(
    client, personas, settings, smtp_server
):
    settings.PRIVACY_DELETION_WAIT_DAYS = 14
    visitor_request(kind=Kind.DELETION, email="dan@bravo.example", name="Dan")
    request = PrivacyRequest.objects.get()
    assert request.erase_after is None  # nothing before the address is confirmed
    assert client.post(link_in(mails_to("dan@bravo.example")[0]) + "confirm/").status_code == 302
    request.refresh_from_db()
    assert request.requester == personas.dan and request.status == Status.IN_PROGRESS
    assert abs(request.erase_after - (timezone.now() + timedelta(days=14))) < timedelta(minutes=1)
    assert mails_to("dan@bravo.example", f"{request.erase_after:%Y}")  # when, and how to cancel

    assert deletion.deletions_due(now=timezone.now() + timedelta(days=13)) == {}
    assert User.objects.filter(pk=personas.dan.pk).exists()
    assert deletion.deletions_due(now=timezone.now() + timedelta(days=15)) == {"done": 1}
    assert not User.objects.filter(email="dan@bravo.example").exists()
    assert User.objects.filter(pk=personas.carol.pk).exists()
    request.refresh_from_db()
    assert request.status == Status.DONE and request.requester_email == ""


def test_the_user_sees_the_date_and_cancels_a_scheduled_deletion_from_its_page(
    client, personas, settings
):
    settings.PRIVACY_DELETION_WAIT_DAYS = 14
    request = account_request(personas.bob, kind=Kind.DELETION)
    request.refresh_from_db()
    page_url = reverse("privacy:account_request", args=[request.public_id])
    client.force_login(personas.bob)
    page = client.get(page_url)
    assert page.status_code == 200
    assert f"{request.erase_after:%-d %B %Y}" in page.content.decode()
    response = client.post(reverse("privacy:cancel_deletion", args=[request.public_id]))
    assert response.status_code == 302 and response["Location"] == page_url
    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN and request.erase_after is None
    assert deletion.deletions_due(now=timezone.now() + timedelta(days=30)) == {}
    assert User.objects.filter(pk=personas.bob.pk).exists()


def test_staff_approve_a_scheduled_deletion_from_the_request_page(
    staff_client, personas, settings, smtp_server, django_capture_on_commit_callbacks
):
    settings.PRIVACY_DELETION_WAIT_DAYS = 14
    request = account_request(personas.bob, kind=Kind.DELETION)
    page = staff_client.get(reverse("admin:privacy_privacyrequest_change", args=[request.pk]))
    html = page.content.decode()
    assert _act(request, "approve_deletion") in html and _act(request, "cancel_deletion") in html
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_client.post(_act(request, "approve_deletion")).status_code == 302
    assert not User.objects.filter(pk=personas.bob.pk).exists()
    request.refresh_from_db()
    assert request.status == Status.DONE


def test_staff_confirm_a_childs_account_by_its_address_and_it_is_erased_at_once(
    staff_client, personas, django_capture_on_commit_callbacks
):
    report = visitor_request(
        kind=Kind.CHILD_DATA, email="parent@home.example", name="A parent", details="My son"
    )
    assert report.due_at - report.received_at == timedelta(hours=72)
    unknown = staff_client.post(_act(report, "child_confirm"), {"email": "nobody@x.example"})
    assert unknown.status_code == 400 and "No client user has this address" in unknown.text
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(_act(report, "child_confirm"), {"email": "DAN@bravo.example"})
    assert response.status_code == 302
    assert not User.objects.filter(email="dan@bravo.example").exists()
    report.refresh_from_db()
    assert report.status == Status.DONE
    assert User.objects.filter(pk=personas.carol.pk).exists()


def test_staff_apply_a_correction_kept_in_the_revision_history(staff_client, personas, sam):
    request = account_request(personas.bob, kind=Kind.CORRECTION, details="My name is Robert")
    html = staff_client.get(
        reverse("admin:privacy_privacyrequest_change", args=[request.pk])
    ).content.decode()
    assert _act(request, "correct_name") in html
    empty = staff_client.post(_act(request, "correct_name"), {"full_name": ""})
    assert empty.status_code == 400
    response = staff_client.post(_act(request, "correct_name"), {"full_name": "Robert Member"})
    assert response.status_code == 302
    personas.bob.refresh_from_db()
    assert personas.bob.full_name == "Robert Member"
    revision = ProfileRevision.objects.get(user=personas.bob)
    assert (revision.old_value, revision.new_value) == ("Bob Member", "Robert Member")
    assert revision.changed_by == sam
    request.refresh_from_db()
    assert request.status == Status.DONE
    assert request.events.filter(action=PrivacyRequestEvent.Action.CORRECTED).exists()
    assert mails_to("bob@acme.example", "")  # the requester is told what was done


def test_staff_build_the_copy_for_a_request_confirmed_by_hand(
    staff_client, personas, django_capture_on_commit_callbacks
):
    """A visitor's access request confirmed by staff (who checked the address another way)
    names the account; staff build the copy from its page if it did not start by itself."""
    request = visitor_request(kind=Kind.ACCESS, email="bob@acme.example")
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_client.post(_act(request, "verify")).status_code == 302
    request.refresh_from_db()
    assert request.requester == personas.bob
    assert AccessArchive.objects.get(request=request).status == AccessArchive.Status.READY
    # the step is offered only while no copy exists
    other = visitor_request(kind=Kind.ACCESS, email="vera@visitor.example")
    staff_client.post(_act(other, "verify"))
    refused = staff_client.post(_act(other, "archive"))
    assert refused.status_code == 400 and "names no account" in refused.text


def test_a_second_open_deletion_or_copy_request_is_refused_so_cancelling_cancels_it(
    client, personas, settings
):
    settings.PRIVACY_DELETION_WAIT_DAYS = 14
    client.force_login(personas.bob)
    url = reverse("privacy:account_privacy")
    assert client.post(url, {"kind": Kind.DELETION, "details": ""}).status_code == 302
    again = client.post(url, {"kind": Kind.DELETION, "details": ""})
    assert again.status_code == 400 and "already have an open request" in again.text
    assert PrivacyRequest.objects.filter(requester=personas.bob).count() == 1
    request = PrivacyRequest.objects.get(requester=personas.bob)
    client.post(reverse("privacy:cancel_deletion", args=[request.public_id]))
    assert deletion.deletions_due(now=timezone.now() + timedelta(days=30)) == {}
    assert User.objects.filter(pk=personas.bob.pk).exists()
