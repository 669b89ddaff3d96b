"""Admin tasks → Audit log: a client admin reads their client's events, and nobody else's."""

import base64
import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from clients import audit
from clients.models import AuditEvent
from tests.factories import ProspectFactory

A = AuditEvent.Action
URL = reverse("admin_tasks:audit_log")


def _events(actor, n, *, action=A.PROSPECT_UPDATED, target=None, start=None):
    """n events of `actor`'s client, one second apart, the last one the newest."""
    start = start or timezone.now() - datetime.timedelta(hours=1)
    return AuditEvent.objects.bulk_create(
        AuditEvent(
            client_id=actor.client_id,
            actor=actor,
            actor_kind="user",
            action=action,
            target_type=target._meta.label_lower if target else "",
            target_id=target.public_id if target else None,
            changes={"status": {"old": "new", "new": "customer"}},
            created_at=start + datetime.timedelta(seconds=i),
        )
        for i in range(n)
    )


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _rows(response) -> list:
    return response.context["page"].rows


@pytest.mark.django_db
def test_an_admin_sees_their_clients_events_with_who_what_target_and_ip(client, personas):
    prospect = ProspectFactory(client=personas.client_a)
    client.force_login(personas.alice)
    client.post(
        reverse("admin_tasks:user_role", args=[personas.bob.public_id]),
        {"role": "admin"},
        REMOTE_ADDR="203.0.113.7",
    )
    _events(personas.bob, 1, target=prospect)
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Alice Admin" in page and "changed a role" in page and "role: member → admin" in page
    assert "203.0.113.7" in page
    assert "user Bob Member" in page  # the target user, by their current name
    assert reverse("prospects:detail", args=[prospect.public_id]) in page  # still there: a link


@pytest.mark.django_db
def test_a_member_is_refused_the_audit_log(client, personas):
    _events(personas.alice, 1)
    client.force_login(personas.bob)
    response = client.get(URL)
    assert response.status_code == 403
    assert "Admin tasks are for your company's admins" in response.content.decode()


@pytest.mark.django_db
def test_another_clients_admin_sees_none_of_these_events(client, personas):
    _events(personas.alice, 3)
    _events(personas.carol, 1, action=A.FOLDER_CREATED)
    client.force_login(personas.carol)
    rows = _rows(client.get(URL))
    assert [r.event.action for r in rows] == [A.FOLDER_CREATED]
    # not even by naming a person of the other client
    response = client.get(URL, {"person": str(personas.alice.public_id)})
    assert _rows(response)[0].event.actor == personas.carol
    assert "Unknown person" in response.content.decode()


@pytest.mark.django_db
def test_the_log_filters_by_person_action_and_dates(client, personas):
    now = timezone.now()
    _events(personas.alice, 2, action=A.FOLDER_CREATED, start=now - datetime.timedelta(days=10))
    _events(personas.bob, 3, action=A.PROSPECT_UPDATED, start=now - datetime.timedelta(hours=1))
    client.force_login(personas.alice)
    by_bob = _rows(client.get(URL, {"person": str(personas.bob.public_id)}))
    assert len(by_bob) == 3 and {r.event.actor for r in by_bob} == {personas.bob}
    folders = _rows(client.get(URL, {"action": A.FOLDER_CREATED}))
    assert len(folders) == 2
    day = timezone.localdate(now - datetime.timedelta(days=10)).isoformat()
    on_day = _rows(client.get(URL, {"date_from": day, "date_to": day}))
    assert {r.event.action for r in on_day} == {A.FOLDER_CREATED}
    recent = timezone.localdate(now - datetime.timedelta(hours=1)).isoformat()
    since = _rows(client.get(URL, {"date_from": recent}))
    assert len(since) == 3 and {r.event.action for r in since} == {A.PROSPECT_UPDATED}


@pytest.mark.django_db
def test_pages_follow_by_keyset_without_repeating_or_missing_an_event(client, personas):
    created = _events(personas.alice, audit.PAGE_SIZE + 10)
    client.force_login(personas.alice)
    first = client.get(URL).context["page"]
    assert len(first.rows) == audit.PAGE_SIZE and first.next_cursor
    second = client.get(URL, {"after": first.next_cursor}).context["page"]
    assert len(second.rows) == 10 and second.next_cursor is None
    seen = [r.event.pk for r in first.rows + second.rows]
    assert seen == [e.pk for e in reversed(created)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, message",
    [
        ({"date_from": "yesterday"}, "must be a date"),
        ({"date_to": "2026-02-31"}, "must be a date"),
        ({"date_from": "99999999999-01-01"}, "must be a date"),
        ({"date_from": "0001-01-01", "date_to": "9999-12-31"}, None),
        ({"person": "not-a-uuid"}, "Unknown person"),
        ({"person": "00000000-0000-0000-0000-000000000000"}, "Unknown person"),
        ({"action": "user.hacked"}, "Unknown action"),
        ({"after": "garbage!!"}, "page link is broken"),
        # well-formed cursors: an id past PostgreSQL's bigint, a naive time, a huge year
        ({"after": _cursor(["2026-01-01T00:00:00+00:00", 10**25])}, "page link is broken"),
        ({"after": _cursor(["2026-01-01T00:00:00", 1])}, "page link is broken"),
        ({"after": _cursor(["9999-12-31T23:59:59+00:00", 1])}, None),
        ({"after": _cursor([None, 1])}, "page link is broken"),
        ({"person": "x" * 10_000, "action": "\x00"}, "Unknown person"),
    ],
)  # fmt: skip
def test_bad_filter_input_shows_the_list_with_a_message(client, personas, params, message):
    _events(personas.alice, 2)
    client.force_login(personas.alice)
    response = client.get(URL, params)
    assert response.status_code == 200
    assert len(_rows(response)) == 2
    if message:
        assert message in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("n", [1, 50])
def test_the_log_costs_the_same_queries_for_1_or_50_events(
    client, personas, n, django_assert_max_num_queries
):
    prospect = ProspectFactory(client=personas.client_a)
    _events(personas.alice, n, target=prospect)
    _events(personas.bob, n, action=A.USER_ROLE_CHANGED, target=personas.alice)
    client.force_login(personas.alice)
    # the signed-in user with their client (sessions are cached), SAVEPOINT and RELEASE
    # (ATOMIC_REQUESTS), the tenant scope set and reset (row-level security), the client's
    # people (the person filter, and the users events are about), the page of events with
    # their actors, the prospects among them still there, the privacy policy banner (cached
    # for 5 minutes: the first page after the test's cache clear reads it)
    with django_assert_max_num_queries(9):
        response = client.get(URL)
    assert len(_rows(response)) == min(2 * n, audit.PAGE_SIZE)


@pytest.mark.django_db
def test_the_admin_tasks_navigation_links_the_audit_log(client, personas):
    client.force_login(personas.alice)
    assert URL in client.get(reverse("admin_tasks:users")).content.decode()
