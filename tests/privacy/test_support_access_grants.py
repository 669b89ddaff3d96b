"""A user grants HexCM support read-only access to their account from the account pages,
for 1 to SUPPORT_GRANT_MAX_DAYS days, revokes it, and sees every page support viewed."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from clients.models import AuditEvent
from privacy import support
from privacy.models import SupportAccessLog, SupportGrant
from tests.privacy.support_steps import grant

URL = "/app/account/support-access/"


def test_the_page_is_at_its_documented_address():
    assert reverse("privacy:support_access") == URL


@pytest.mark.django_db
def test_account_settings_link_to_support_access(client, personas):
    client.force_login(personas.bob)
    assert URL in client.get(reverse("account_settings")).content.decode()


@pytest.mark.django_db
def test_a_user_grants_access_for_the_days_they_choose(client, personas):
    client.force_login(personas.bob)
    page = client.get(URL).content.decode()
    assert "Support access is off" in page

    response = client.post(URL, {"days": "3", "allow_downloads": "on", "note": "The import"})
    assert response.status_code == 302

    grant_obj = SupportGrant.objects.get(user=personas.bob)
    assert grant_obj.allow_downloads and grant_obj.note == "The import"
    assert grant_obj.expires_at - grant_obj.granted_at == timedelta(days=3)
    assert support.active_grant(personas.bob) == grant_obj
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.SUPPORT_GRANTED, actor=personas.bob
    ).exists()
    page = client.get(URL).content.decode()
    assert "Support access is on" in page and "allowed" in page and "The import" in page


@pytest.mark.django_db
def test_downloads_are_not_allowed_unless_ticked(client, personas):
    client.force_login(personas.bob)
    client.post(URL, {"days": "1", "note": ""})
    assert not SupportGrant.objects.get(user=personas.bob).allow_downloads
    assert "not allowed" in client.get(URL).content.decode()


@pytest.mark.django_db
def test_a_new_grant_replaces_the_active_one(personas):
    first = grant(personas.bob, days=2)
    second = grant(personas.bob, days=5)
    first.refresh_from_db()
    assert first.revoked_at is not None
    assert support.active_grant(personas.bob) == second


@pytest.mark.django_db
@pytest.mark.parametrize(
    "days, message",
    [
        ("0", "at least 1 day"),
        ("-1", "at least 1 day"),
        ("8", "at most 7 days"),
        ("365", "at most 7 days"),
        ("junk", "whole number"),
        ("2.5", "whole number"),
        ("", "This field is required"),
    ],
)
def test_days_outside_1_to_the_maximum_are_refused_with_a_message(client, personas, days, message):
    client.force_login(personas.bob)
    response = client.post(URL, {"days": days, "note": ""})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SupportGrant.objects.exists()


@pytest.mark.django_db
def test_the_maximum_follows_the_setting(client, personas, settings):
    settings.SUPPORT_GRANT_MAX_DAYS = 2
    client.force_login(personas.bob)
    response = client.post(URL, {"days": "3", "note": ""})
    assert response.status_code == 400 and "at most 2 days" in response.content.decode()
    assert client.post(URL, {"days": "2", "note": ""}).status_code == 302


@pytest.mark.django_db
def test_an_overlong_note_is_refused_with_a_message(client, personas):
    client.force_login(personas.bob)
    response = client.post(URL, {"days": "1", "note": "x" * 1001})
    assert response.status_code == 400
    assert "at most 1000 characters" in response.content.decode()


@pytest.mark.django_db
def test_the_service_refuses_bad_days_and_anyone_but_the_user(personas, sam):
    from django.core.exceptions import ValidationError

    for days in (0, 8, True, "3"):
        with pytest.raises(ValidationError):
            grant(personas.bob, days=days)
    with pytest.raises(PermissionDenied):
        support.support_grant(user=personas.bob, days=1, allow_downloads=False, note="", actor=sam)
    with pytest.raises(PermissionDenied):
        support.support_revoke(grant=grant(personas.bob), actor=personas.alice)
    assert SupportGrant.objects.filter(revoked_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_a_user_revokes_access(client, personas):
    grant_obj = grant(personas.bob)
    client.force_login(personas.bob)
    response = client.post(reverse("privacy:support_access_revoke"), follow=True)
    assert "Support access revoked" in response.content.decode()
    grant_obj.refresh_from_db()
    assert grant_obj.revoked_at is not None and support.active_grant(personas.bob) is None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SUPPORT_REVOKED).count() == 1
    # again: nothing to revoke, nothing recorded
    client.post(reverse("privacy:support_access_revoke"))
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SUPPORT_REVOKED).count() == 1


@pytest.mark.django_db
def test_revoke_is_post_only(client, personas):
    grant(personas.bob)
    client.force_login(personas.bob)
    assert client.get(reverse("privacy:support_access_revoke")).status_code == 405
    assert support.active_grant(personas.bob) is not None


@pytest.mark.django_db
def test_a_user_sees_only_their_own_grant_and_log(client, personas, sam):
    bobs = grant(personas.bob, note="Bob's note")
    SupportAccessLog.objects.create(
        grant=bobs, staff=sam, at=timezone.now(), method="GET", path="/app/bobs-page/"
    )
    client.force_login(personas.dan)
    page = client.get(URL).content.decode()
    assert "Support access is off" in page
    assert "/app/bobs-page/" not in page and "Bob&#x27;s note" not in page


def _log_rows(grant_obj, staff, n):
    now = timezone.now()
    SupportAccessLog.objects.bulk_create(
        SupportAccessLog(
            grant=grant_obj,
            staff=staff,
            at=now - timedelta(seconds=i),
            method="GET",
            path=f"/app/page-{i}/",
            status_code=200,
        )
        for i in range(n)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 50])
def test_the_log_is_listed_most_recent_first_in_constant_queries(
    client, personas, sam, rows, django_assert_max_num_queries
):
    grant_obj = grant(personas.bob)
    _log_rows(grant_obj, sam, rows)
    client.force_login(personas.bob)
    client.get(URL)  # warm: allauth's session tracking writes on a session's first request
    # the user with their client, the active grant, the log with its staff member (one
    # query), the savepoint of the request's transaction and its release
    with django_assert_max_num_queries(5):
        page = client.get(URL).content.decode()
    assert page.count("/app/page-") == rows
    assert "Sam Support" in page
    if rows > 1:
        assert page.index("/app/page-0/") < page.index("/app/page-1/")


@pytest.mark.django_db
def test_the_log_shows_at_most_the_limit(client, personas, sam):
    _log_rows(grant(personas.bob), sam, support.LOG_LIMIT + 5)
    client.force_login(personas.bob)
    page = client.get(URL).content.decode()
    assert page.count("/app/page-") == support.LOG_LIMIT


@pytest.mark.django_db
def test_staff_have_no_support_access_page_of_their_own(client, sam):
    client.force_login(sam)
    assert client.get(URL).status_code == 403
