"""The daily digest: each active member of staff is mailed what is overdue and what is due
within 7 days, with admin links and no personal data."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from privacy.models import PrivacyRequest
from privacy.tasks import privacy_requests_digest
from tests.factories import StaffFactory

from .requests_helpers import (
    Kind,
    confirmed_visitor_request,
    mails_to,
    prospect_request,
    visitor_request,
)

pytestmark = pytest.mark.django_db


def _due_in(request, delta):
    PrivacyRequest.objects.filter(pk=request.pk).update(
        received_at=timezone.now() + delta - timedelta(days=30), due_at=timezone.now() + delta
    )


def test_the_beat_runs_it_every_morning():
    entry = settings.CELERY_BEAT_SCHEDULE["privacy-requests-digest"]
    assert entry["task"] == "privacy.tasks.privacy_requests_digest"
    assert entry["schedule"].hour == {6} and entry["schedule"].minute == {0}


def test_staff_are_mailed_the_overdue_and_the_soon_due_without_personal_data(sam, personas):
    StaffFactory(email="gone@hexcm.example", is_active=False)
    overdue = confirmed_visitor_request(
        kind=Kind.DELETION, email="late@visitor.example", name="Larry Late"
    )
    _due_in(overdue, -timedelta(days=3))
    soon = prospect_request(personas.client_a)
    _due_in(soon, timedelta(days=5))
    later = confirmed_visitor_request(email="later@visitor.example")  # 30 days left
    unconfirmed = visitor_request(email="unconfirmed@visitor.example")
    _due_in(unconfirmed, -timedelta(days=1))
    assert privacy_requests_digest.delay().get() == 1
    (mail,) = mails_to("sam@hexcm.example")
    assert not mails_to("gone@hexcm.example") and not mails_to("alice@acme.example")
    body = mail.body_text
    assert "1 overdue, 1 due within 7 days" in mail.subject
    overdue_part, soon_part = body.split("Due within 7 days:")
    assert "Delete my account, overdue by 3 days" in overdue_part
    assert f"/admin/privacy/privacyrequest/{overdue.pk}/change/" in overdue_part
    assert "Acme's administrators" in soon_part and f"/{soon.pk}/change/" in soon_part
    assert f"/{later.pk}/change/" not in body and f"/{unconfirmed.pk}/change/" not in body
    for personal in ("Larry", "late@", "Paula", "paula@", "boiler"):
        assert personal not in body


def test_nothing_is_sent_when_nothing_is_due(sam):
    confirmed_visitor_request()
    assert privacy_requests_digest.delay().get() == 0
    assert not mails_to("sam@hexcm.example")


def test_unconfirmed_requests_close_when_their_link_expires_and_lose_their_details():
    from opsx.personal_data import keyed_hash
    from privacy.tasks import privacy_requests_close_unconfirmed

    old = visitor_request(email="old@visitor.example", name="Olga Old", details="My story")
    fresh = visitor_request(email="fresh@visitor.example")
    confirmed = confirmed_visitor_request(email="ok@visitor.example")
    PrivacyRequest.objects.filter(pk__in=[old.pk, confirmed.pk]).update(
        verification_sent_at=timezone.now() - timedelta(days=61)
    )
    mails_before = len(mails_to("old@visitor.example"))
    assert privacy_requests_close_unconfirmed.delay().get() == 1
    old.refresh_from_db()
    assert old.status == "refused" and "never opened" in old.refusal_reason
    assert old.requester_email == old.requester_name == old.details == ""
    assert old.requester_hash == keyed_hash("old@visitor.example")
    assert len(mails_to("old@visitor.example")) == mails_before  # nobody to tell
    fresh.refresh_from_db()
    confirmed.refresh_from_db()
    assert fresh.status == "verifying" and confirmed.status == "received"
    assert privacy_requests_close_unconfirmed.delay().get() == 0
