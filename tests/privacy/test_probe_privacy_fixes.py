"""Probes: what an erased person or a support view leaves behind."""

import pytest
from django.urls import reverse

from clients.models import AuditEvent
from privacy import services
from privacy.erasure import user_erase
from privacy.models import PrivacyRequest, PrivacyRequestEvent
from tests.privacy.archive_objects import build_for
from tests.privacy.requests_helpers import account_request
from tests.privacy.support_steps import grant, start_view

pytestmark = pytest.mark.django_db


def test_the_timeline_does_not_name_the_staff_member_a_request_is_assigned_to(personas, sam):
    request = account_request(personas.bob)
    services.request_assign(request=request, assignee=sam, actor=sam)
    messages = PrivacyRequestEvent.objects.filter(request=request).values_list("message", flat=True)
    assert not any(sam.full_name in m for m in messages)
    assert any("HexCM staff" in m for m in messages)


def test_erasing_a_person_closes_their_other_open_requests(personas):
    access = account_request(personas.bob, kind=PrivacyRequest.Kind.ACCESS)
    correction = account_request(personas.bob, kind=PrivacyRequest.Kind.CORRECTION)
    other = account_request(personas.dan, kind=PrivacyRequest.Kind.ACCESS)
    user_erase(user=personas.bob, actor=None, reason="retention")
    for request in (access, correction):
        request.refresh_from_db()
        assert request.status == PrivacyRequest.Status.DONE
        assert request.closed_at is not None
        last = request.events.order_by("-at", "-pk").first()
        assert last.to_status == PrivacyRequest.Status.DONE and "erased" in last.message
    other.refresh_from_db()
    assert other.is_open


def test_a_closure_erasure_is_recorded_with_its_own_reason(personas):
    user_erase(user=personas.bob, actor=None, reason="client_closure")
    event = AuditEvent.objects.get(action=AuditEvent.Action.USER_ERASED)
    assert event.changes["kind"]["new"] == "client_closure"


def test_a_support_view_cannot_open_the_persons_own_data_copy_even_with_downloads(
    client, personas, sam, django_capture_on_commit_callbacks
):
    archive = build_for(personas.bob, django_capture_on_commit_callbacks)
    client.force_login(sam)
    start_view(client, grant(personas.bob, allow_downloads=True))
    response = client.get(reverse("privacy:archive_download", args=[archive.public_id]))
    assert response.status_code == 403
    assert "for them alone" in response.content.decode()
    archive.refresh_from_db()
    assert archive.downloaded_at is None
