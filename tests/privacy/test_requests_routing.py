"""A prospect data request goes to the admins of the client the requester named, in Admin
tasks, and to nobody else: another client's admin gets a 404, a member a 403."""

import pytest
from django.urls import reverse

from .requests_helpers import Kind, Status, mails_to, prospect_request, visitor_request

pytestmark = pytest.mark.django_db

LIST = "/app/admin-tasks/privacy/"


def _detail(request):
    return reverse("privacy:client_request", args=[request.public_id])


def test_the_named_clients_admin_sees_the_request_with_the_requesters_details(client, personas):
    request = prospect_request(personas.client_a)
    client.force_login(personas.alice)
    page = client.get(LIST)
    assert page.status_code == 200
    assert "Paula Prospect" in page.content.decode() and "days left" in page.content.decode()
    detail = client.get(_detail(request))
    html = detail.content.decode()
    assert detail.status_code == 200
    for shown in ("Paula Prospect", "paula@prospect.example", "I bought a boiler"):
        assert shown in html
    assert "/app/prospects/?q=paula%40prospect.example" in html  # their export and erase


def test_the_user_list_links_to_the_privacy_requests(client, personas):
    client.force_login(personas.alice)
    assert LIST in client.get(reverse("admin_tasks:users")).content.decode()


def test_another_clients_admin_gets_a_404_and_sees_nothing_in_the_list(client, personas):
    request = prospect_request(personas.client_a)
    client.force_login(personas.carol)
    assert client.get(_detail(request)).status_code == 404
    for action in ("start", "done", "refuse"):
        url = reverse(f"privacy:client_request_{action}", args=[request.public_id])
        assert client.post(url, {"outcome": "x", "reason": "x"}).status_code == 404
    assert "Paula" not in client.get(LIST).content.decode()
    request.refresh_from_db()
    assert request.status == Status.RECEIVED


def test_a_member_gets_a_403(client, personas):
    request = prospect_request(personas.client_a)
    client.force_login(personas.bob)
    assert client.get(LIST).status_code == 403
    assert client.get(_detail(request)).status_code == 403


def test_an_unconfirmed_request_is_not_shown_to_the_admins(client, personas):
    request = visitor_request(kind=Kind.PROSPECT_DATA, client=personas.client_a)
    client.force_login(personas.alice)
    assert "Vera" not in client.get(LIST).content.decode()
    assert client.get(_detail(request)).status_code == 404


def test_account_requests_are_not_in_any_clients_admin_tasks(client, personas):
    from .requests_helpers import account_request

    request = account_request(personas.bob, kind=Kind.DELETION)
    client.force_login(personas.alice)  # Bob's own admin
    assert client.get(_detail(request)).status_code == 404
    assert "Delete my account" not in client.get(LIST).content.decode()


def test_the_admin_marks_it_in_progress_then_done_and_the_requester_is_told(client, personas):
    request = prospect_request(personas.client_a)
    client.force_login(personas.alice)
    start = reverse("privacy:client_request_start", args=[request.public_id])
    assert client.post(start).status_code == 302
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    done = reverse("privacy:client_request_done", args=[request.public_id])
    assert client.post(done, {"outcome": "We erased your record."}).status_code == 302
    request.refresh_from_db()
    assert request.status == Status.DONE
    (mail,) = mails_to("paula@prospect.example", "done")
    assert "We erased your record." in mail.body_text and "Acme's administrators" in mail.body_text


def test_the_admin_refuses_with_a_reason_mailed_to_the_requester(client, personas):
    request = prospect_request(personas.client_a)
    client.force_login(personas.alice)
    refuse = reverse("privacy:client_request_refuse", args=[request.public_id])
    assert client.post(refuse, {"reason": "We must keep invoices for 10 years."}).status_code == 302
    request.refresh_from_db()
    assert request.status == Status.REFUSED
    (mail,) = mails_to("paula@prospect.example", "refused")
    assert "We must keep invoices for 10 years." in mail.body_text


def test_an_empty_reason_or_outcome_is_a_400(client, personas):
    request = prospect_request(personas.client_a)
    client.force_login(personas.alice)
    for action, field in (("refuse", "reason"), ("done", "outcome")):
        url = reverse(f"privacy:client_request_{action}", args=[request.public_id])
        response = client.post(url, {field: "  "})
        assert response.status_code == 400
        assert "This field is required" in response.content.decode()
    request.refresh_from_db()
    assert request.status == Status.RECEIVED


def test_the_admin_list_costs_the_same_queries_with_one_or_twenty_requests(
    client, personas, django_assert_max_num_queries
):
    prospect_request(personas.client_a)
    client.force_login(personas.alice)
    client.get(LIST)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(LIST)
    for n in range(19):
        prospect_request(personas.client_a, email=f"p{n}@prospect.example")
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(LIST)
    assert page.content.decode().count("/app/admin-tasks/privacy/") >= 20
