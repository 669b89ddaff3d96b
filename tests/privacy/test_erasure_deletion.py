"""Deletion requests: the waiting period and its cancellation, staff approval that runs at
once, the confirmation mail delivered before the erasure, and the child-data path."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from opsx.models import OutboundMessage
from privacy import deletion
from privacy.admin.deletion import admin_actions
from privacy.models import PrivacyRequest, PrivacyRequestEvent
from tests.conftest import body_of, free_port, sign_in

from .erasure_helpers import file_request

pytestmark = pytest.mark.django_db
Status = PrivacyRequest.Status


def test_scheduling_sets_the_waiting_period_and_mails_the_user_how_to_cancel(
    personas, sam, settings
):
    settings.PRIVACY_DELETION_WAIT_DAYS = 14
    request = file_request(requester=personas.bob)
    deletion.deletion_schedule(request=request, actor=sam)
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert abs(request.erase_after - (timezone.now() + timedelta(days=14))) < timedelta(minutes=1)
    assert request.events.filter(action=PrivacyRequestEvent.Action.DELETION_SCHEDULED).exists()
    mail = OutboundMessage.objects.get(to_email=personas.bob.email)
    assert f"{request.erase_after:%Y}" in mail.subject
    with pytest.raises(ValidationError, match="already scheduled"):
        deletion.deletion_schedule(request=request, actor=sam)
    # Not due yet: the daily run leaves it alone.
    assert deletion.deletions_due() == {}
    assert User.objects.filter(pk=personas.bob.pk).exists()


def test_a_zero_wait_means_staff_approve_it(personas, sam, settings):
    settings.PRIVACY_DELETION_WAIT_DAYS = 0
    request = file_request(requester=personas.bob)
    deletion.deletion_schedule(request=request, actor=sam)
    request.refresh_from_db()
    assert request.erase_after is None and request.status == Status.IN_PROGRESS
    assert deletion.deletions_due(now=timezone.now() + timedelta(days=365)) == {}


def test_an_unconfirmed_visitors_request_cannot_be_scheduled(personas, sam):
    request = file_request(requester=personas.bob, channel=PrivacyRequest.Channel.PUBLIC)
    with pytest.raises(ValidationError, match="not confirmed"):
        deletion.deletion_schedule(request=request, actor=sam)


def test_the_user_cancels_from_their_account_page(client, personas, sam):
    request = file_request(requester=personas.bob)
    deletion.deletion_schedule(request=request, actor=sam)
    url = reverse("privacy:cancel_deletion", args=[request.public_id])
    sign_in(client, personas.alice)
    assert client.post(url).status_code == 404  # not hers
    client.logout()
    sign_in(client, personas.bob)
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN and request.erase_after is None
    assert request.events.filter(action=PrivacyRequestEvent.Action.DELETION_CANCELLED).exists()
    # Cancelling again is refused with a message, not an error page.
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert "withdrawn" in response.content.decode()
    assert deletion.deletions_due(now=timezone.now() + timedelta(days=30)) == {}
    assert User.objects.filter(pk=personas.bob.pk).exists()


def test_the_daily_run_erases_once_the_waiting_period_has_passed(personas, sam, smtp_server):
    request = file_request(requester=personas.bob)
    deletion.deletion_schedule(request=request, actor=sam)
    assert deletion.deletions_due(now=timezone.now() + timedelta(days=15)) == {"done": 1}
    assert not User.objects.filter(pk=personas.bob.pk).exists()
    request.refresh_from_db()
    assert request.status == Status.DONE and request.requester_id is None
    assert "erased" in request.outcome
    assert request.events.filter(action=PrivacyRequestEvent.Action.ERASED).exists()
    assert User.objects.filter(pk=personas.alice.pk).exists()


def test_staff_approval_runs_at_once_after_the_confirmation_is_delivered(
    personas, sam, smtp_server, django_capture_on_commit_callbacks
):
    request = file_request(requester=personas.bob)
    with django_capture_on_commit_callbacks(execute=True):
        deletion.deletion_approve(request=request, actor=sam)
    assert not User.objects.filter(pk=personas.bob.pk).exists()
    request.refresh_from_db()
    assert request.status == Status.DONE
    delivered = [m for m in smtp_server.messages if m["To"] == "bob@acme.example"]
    assert [m["Subject"] for m in delivered] == ["Your OpsX account is being deleted"]
    assert "last message" in body_of(delivered[0])
    notice = OutboundMessage.objects.get(pk=request.erasure_notice_id)
    assert notice.status == OutboundMessage.Status.SENT
    assert notice.to_email != "bob@acme.example" and notice.subject == ""  # erased after


def test_an_undelivered_confirmation_holds_the_erasure_for_three_days(personas, sam, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    request = file_request(requester=personas.bob, erase_after=timezone.now())
    request.status = Status.IN_PROGRESS
    request.save()
    assert deletion.deletion_run(request=request, actor=None) == "waiting"
    assert User.objects.filter(pk=personas.bob.pk).exists()
    request.refresh_from_db()
    assert "could not be delivered" in request.events.last().message
    # Three days later it goes ahead, and says the mail did not get through.
    OutboundMessage.objects.filter(pk=request.erasure_notice_id).update(
        created_at=timezone.now() - timedelta(days=3, minutes=1)
    )
    assert deletion.deletions_due() == {"done": 1}
    assert not User.objects.filter(pk=personas.bob.pk).exists()
    erased = request.events.get(action=PrivacyRequestEvent.Action.ERASED)
    assert "could not be delivered" in erased.message


def test_a_confirmed_child_data_report_erases_the_account_at_once_without_mail(
    personas, sam, smtp_server, django_capture_on_commit_callbacks
):
    report = file_request(
        kind=PrivacyRequest.Kind.CHILD_DATA,
        channel=PrivacyRequest.Channel.PUBLIC,
        requester_name="A parent",
        requester_email="parent@home.example",
        details="Dan is 14",
        verified_at=timezone.now(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        deletion.child_data_confirm(request=report, user=personas.dan, actor=sam)
    assert not User.objects.filter(pk=personas.dan.pk).exists()
    report.refresh_from_db()
    assert report.status == Status.DONE and report.details == ""
    assert report.requester_email == "parent@home.example"  # the reporter is not erased
    assert smtp_server.messages == []
    assert User.objects.filter(pk=personas.carol.pk).exists()


def test_child_data_confirmation_needs_a_client_users_account(personas, sam):
    report = file_request(kind=PrivacyRequest.Kind.CHILD_DATA, requester_email="p@home.example")
    with pytest.raises(ValidationError):
        deletion.child_data_confirm(request=report, user=sam, actor=sam)
    deletion_request = file_request(requester=personas.bob)
    with pytest.raises(ValidationError, match="kind"):
        deletion.child_data_confirm(request=deletion_request, user=personas.bob, actor=sam)


class _ModelAdmin:
    def __init__(self):
        self.messages = []

    def message_user(self, request, message, level):
        self.messages.append(message)


def test_the_admin_actions_call_the_services_and_report_refusals(
    rf, personas, sam, django_capture_on_commit_callbacks
):
    actions = {action.__name__: action for action in admin_actions()}
    assert set(actions) == {
        "schedule_deletion",
        "approve_deletion",
        "cancel_deletion",
        "confirm_child_data",
    }
    web = rf.post("/admin/")
    web.user = sam
    request = file_request(requester=personas.bob)
    modeladmin = _ModelAdmin()
    actions["schedule_deletion"](modeladmin, web, PrivacyRequest.objects.filter(pk=request.pk))
    assert modeladmin.messages == ["1 request(s) scheduled."]
    actions["confirm_child_data"](modeladmin, web, PrivacyRequest.objects.filter(pk=request.pk))
    assert "subject user" in modeladmin.messages[-1]
    with django_capture_on_commit_callbacks(execute=True):
        actions["approve_deletion"](modeladmin, web, PrivacyRequest.objects.filter(pk=request.pk))
    assert not User.objects.filter(pk=personas.bob.pk).exists()
    actions["cancel_deletion"](modeladmin, web, PrivacyRequest.objects.filter(pk=request.pk))
    assert "done" in modeladmin.messages[-1]


def test_the_account_page_partial_offers_the_cancel_button_while_it_can_be_cancelled(
    rf, personas, sam
):
    from django.template.loader import render_to_string

    request = file_request(requester=personas.bob)
    deletion.deletion_schedule(request=request, actor=sam)
    request.refresh_from_db()
    web = rf.get("/")
    html = render_to_string(
        "privacy/_deletion_cancel.html", {"privacy_request": request}, request=web
    )
    assert reverse("privacy:cancel_deletion", args=[request.public_id]) in html
    assert f"{request.erase_after:%Y}" in html
    deletion.deletion_cancel(request=request, actor=personas.bob)
    request.refresh_from_db()
    html = render_to_string(
        "privacy/_deletion_cancel.html", {"privacy_request": request}, request=web
    )
    assert "Cancel the deletion" not in html
