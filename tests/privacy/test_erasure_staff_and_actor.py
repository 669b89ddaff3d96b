"""Erasing HexCM staff: the requests they handled keep everything but the key; and erasing
someone at their own request records an event that names nobody."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType

from accounts.models import User
from clients.models import AuditEvent
from privacy.erasure import user_erase
from tests.factories import StaffFactory

from .erasure_helpers import file_request

pytestmark = pytest.mark.django_db


def test_erased_staff_leave_the_requests_they_handled_intact(personas):
    staff = StaffFactory(email="former@hexcm.example")
    handled = file_request(requester=personas.bob, assignee=staff, filed_by=staff, notes="w")
    LogEntry.objects.create(
        user=staff,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(personas.bob.pk),
        object_repr=str(personas.bob),
        action_flag=CHANGE,
    )

    user_erase(user=staff, actor=None, reason="retention")

    handled.refresh_from_db()
    assert (handled.assignee_id, handled.filed_by_id) == (None, None)
    assert (handled.requester, handled.requester_email, handled.notes) == (
        personas.bob,
        personas.bob.email,
        "w",
    )
    assert not LogEntry.objects.filter(user_id=staff.pk).exists()  # their own edits' log


def test_a_person_erased_at_their_own_request_is_not_named_as_the_actor(personas):
    bob = personas.bob
    counts = user_erase(user=bob, actor=bob, reason="deletion_request")
    event = AuditEvent.objects.get(action="user.erased")
    assert (event.actor_id, event.target_id, event.target_type) == (None, None, "")
    assert event.changes == {"kind": {"old": "", "new": "deletion_request"}}
    assert event.counts["accounts.User"] == counts["accounts.User"] == 1
    assert event.client_id == personas.client_a.pk


def test_a_free_text_reason_is_not_kept(personas):
    user_erase(user=personas.bob, actor=None, reason="Bob asked by phone on Monday")
    assert AuditEvent.objects.get(action="user.erased").changes["kind"]["new"] == "other"
