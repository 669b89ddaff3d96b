"""Django admin for HexCM support: the request list (child data first, then overdue, then by
deadline; days left coloured), a read-only page whose actions call the services, filing on
someone's behalf, and a prospect data request without the prospect's data."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from privacy.models import PrivacyRequest

from .requests_helpers import (
    Kind,
    Status,
    confirmed_visitor_request,
    mails_to,
    prospect_request,
    visitor_request,
)

pytestmark = pytest.mark.django_db

LIST = reverse("admin:privacy_privacyrequest_changelist")


def _change(request):
    return reverse("admin:privacy_privacyrequest_change", args=[request.pk])


def _act(request, action):
    return reverse("admin:privacy_privacyrequest_act", args=[request.pk, action])


@pytest.fixture
def staff_client(client, sam):
    client.force_login(sam)
    return client


def test_child_data_comes_first_then_overdue_then_by_deadline(staff_client):
    later = confirmed_visitor_request(email="later@visitor.example")
    overdue = confirmed_visitor_request(email="overdue@visitor.example")
    PrivacyRequest.objects.filter(pk=overdue.pk).update(
        received_at=timezone.now() - timedelta(days=40),
        due_at=timezone.now() - timedelta(days=10),
    )
    confirmed_visitor_request(kind=Kind.CHILD_DATA, email="child@visitor.example")
    closed = confirmed_visitor_request(email="closed@visitor.example")
    PrivacyRequest.objects.filter(pk=closed.pk).update(
        status=Status.WITHDRAWN,
        due_at=timezone.now() - timedelta(days=5),
        received_at=timezone.now() - timedelta(days=35),
    )
    page = staff_client.get(LIST)
    html = page.content.decode()
    assert page.status_code == 200
    order = [html.index(e) for e in ("child@", "overdue@", "later@", "closed@")]
    assert order == sorted(order)
    assert 'class="deadline overdue">overdue by 10 days' in html
    assert 'class="deadline due-soon">' in html  # the child report, 72 hours
    assert "privacy-admin.css" in html
    assert _change(later) in html


def test_the_list_costs_the_same_queries_with_one_or_twenty_requests(
    staff_client, personas, sam, django_assert_max_num_queries
):
    from privacy import services

    first = confirmed_visitor_request(email="v0@visitor.example")
    services.request_assign(request=first, assignee=sam, actor=sam)
    staff_client.get(LIST)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        staff_client.get(LIST)
    for n in range(1, 20):  # prospect requests (with their client) and assigned ones
        if n % 2:
            prospect_request(personas.client_a, email=f"p{n}@prospect.example")
        else:
            request = confirmed_visitor_request(email=f"v{n}@visitor.example")
            services.request_assign(request=request, assignee=sam, actor=sam)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = staff_client.get(LIST)
    assert page.content.decode().count('class="deadline') == 20


def test_filters_and_search_by_email_or_id(staff_client, personas):
    request = confirmed_visitor_request(email="findme@visitor.example")
    prospect = prospect_request(personas.client_a)
    for params in ({"status": "received"}, {"kind": "access"}, {"channel": "public"}):
        assert staff_client.get(LIST, params).status_code == 200
    assert "findme@" in staff_client.get(LIST, {"q": "findme"}).content.decode()
    by_id = staff_client.get(LIST, {"q": str(request.public_id)}).content.decode()
    assert "findme@" in by_id
    # a prospect's address is not searchable by staff
    assert _change(prospect) not in staff_client.get(LIST, {"q": "paula"}).content.decode()


def test_a_prospect_request_shows_staff_its_deadline_never_the_prospects_data(
    staff_client, personas
):
    request = prospect_request(personas.client_a)
    for url in (LIST, _change(request)):
        page = staff_client.get(url)
        html = page.content.decode()
        assert page.status_code == 200
        for secret in ("Paula", "paula@prospect.example", "boiler"):
            assert secret not in html, (url, secret)
        assert "Acme" in html
    html = staff_client.get(_change(request)).content.decode()
    assert f"{request.due_at:%Y}" in html and "Next steps" not in html
    # and the actions refuse it: the client's admins answer
    assert staff_client.post(_act(request, "refuse"), {"reason": "no"}).status_code == 400


def test_the_page_is_read_only_with_the_timeline_and_next_steps(staff_client):
    request = confirmed_visitor_request()
    page = staff_client.get(_change(request))
    html = page.content.decode()
    assert page.status_code == 200
    assert "vera@visitor.example" in html and "Timeline" in html and "Next steps" in html
    assert 'name="status"' not in html and 'name="due_at"' not in html
    # each action is its own form, after the read-only one (forms cannot nest)
    main_form_ends = html.index("</form>", html.index('id="privacyrequest_form"'))
    assert html.index(_act(request, "refuse")) > main_form_ends
    staff_client.post(_change(request), {"status": "done"})
    request.refresh_from_db()
    assert request.status == Status.RECEIVED


def test_staff_verify_assign_extend_note_and_complete_through_the_actions(staff_client, sam):
    request = visitor_request()
    assert staff_client.post(_act(request, "verify")).status_code == 302
    assert staff_client.post(_act(request, "assign")).status_code == 302
    assert staff_client.post(_act(request, "start")).status_code == 302
    reason = "We need the archive from backups."
    assert staff_client.post(_act(request, "extend"), {"reason": reason}).status_code == 302
    assert staff_client.post(_act(request, "note"), {"note": "Asked ops."}).status_code == 302
    request.refresh_from_db()
    assert request.verified_at and request.assignee == sam
    assert request.status == Status.IN_PROGRESS and request.extended_at
    assert reason in mails_to("vera@visitor.example", "more time")[0].body_text
    again = staff_client.post(_act(request, "extend"), {"reason": "Again"})
    assert again.status_code == 400 and "already extended" in again.content.decode()
    assert staff_client.post(_act(request, "done"), {"outcome": "Sent."}).status_code == 302
    request.refresh_from_db()
    assert request.status == Status.DONE
    html = staff_client.get(_change(request)).content.decode()
    assert "Deadline extended" in html and "Next steps" not in html


def test_staff_refuse_with_a_reason_mailed(staff_client):
    request = confirmed_visitor_request()
    assert staff_client.get(_act(request, "refuse")).status_code == 200
    empty = staff_client.post(_act(request, "refuse"), {"reason": ""})
    assert empty.status_code == 400 and "This field is required" in empty.content.decode()
    staff_client.post(_act(request, "refuse"), {"reason": "We could not confirm who you are."})
    request.refresh_from_db()
    assert request.status == Status.REFUSED
    assert "could not confirm" in mails_to("vera@visitor.example", "refused")[0].body_text


def test_staff_file_a_request_on_someones_behalf(staff_client, sam, personas):
    add = reverse("admin:privacy_privacyrequest_add")
    assert staff_client.get(add).status_code == 200
    bad = staff_client.post(add, {"kind": Kind.ACCESS, "name": "Bob", "email": "nope"})
    assert bad.status_code == 400
    response = staff_client.post(
        add, {"kind": Kind.ACCESS, "name": "Bob", "email": "bob@acme.example", "details": "Call"}
    )
    request = PrivacyRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == _change(request)
    assert request.channel == "staff" and request.filed_by == sam
    assert request.requester == personas.bob and request.verified_at is not None


def test_an_unknown_action_is_refused(staff_client):
    request = confirmed_visitor_request()
    assert staff_client.post(_act(request, "delete")).status_code == 403


def test_client_users_cannot_open_the_request_admin(client, personas):
    request = confirmed_visitor_request()
    client.force_login(personas.alice)
    assert client.get(_change(request)).status_code in (302, 403)
    assert client.post(_act(request, "refuse"), {"reason": "x"}).status_code in (302, 403)
    request.refresh_from_db()
    assert request.status == Status.RECEIVED


def test_an_unconfirmed_request_waits_below_those_to_act_on_and_is_never_overdue(staff_client):
    waiting = visitor_request(kind=Kind.CHILD_DATA, email="waiting@visitor.example")
    PrivacyRequest.objects.filter(pk=waiting.pk).update(
        received_at=timezone.now() - timedelta(days=5), due_at=timezone.now() - timedelta(days=2)
    )
    confirmed_visitor_request(email="todo@visitor.example")
    html = staff_client.get(LIST).content.decode()
    assert html.index("todo@") < html.index("waiting@")
    assert "awaiting the requester&#x27;s confirmation" in html
    assert "overdue" not in html.split("waiting@")[1].split("</tr>")[0]
