"""A signed-in user's privacy pages: their own requests with status and time left, filing one,
its detail with the timeline, withdrawing; nobody else's."""

import pytest
from django.urls import reverse

from privacy.models import PrivacyRequest

from .requests_helpers import Kind, Status, account_request

pytestmark = pytest.mark.django_db

LIST = "/app/account/privacy/"


def test_the_account_settings_link_to_the_privacy_pages(client, personas):
    client.force_login(personas.bob)
    assert LIST in client.get(reverse("account_settings")).content.decode()


def test_the_list_shows_only_the_users_own_requests_with_status_and_time_left(
    client, personas, django_assert_max_num_queries
):
    account_request(personas.bob, kind=Kind.DELETION)
    account_request(personas.alice, kind=Kind.CORRECTION)
    client.force_login(personas.bob)
    with django_assert_max_num_queries(12):
        page = client.get(LIST)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Delete my account" in html and "Received" in html and "days left" in html
    assert "Correct data I cannot edit myself</a>" not in html


def test_the_list_costs_the_same_queries_with_one_or_twenty_requests(
    client, personas, django_assert_max_num_queries
):
    account_request(personas.bob, kind=Kind.CORRECTION)
    client.force_login(personas.bob)
    client.get(LIST)  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(LIST)
    for _ in range(19):  # corrections: one open copy or deletion per account at most
        account_request(personas.bob, kind=Kind.CORRECTION)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(LIST).status_code == 200


def test_a_user_files_a_request_confirmed_at_once(client, personas):
    client.force_login(personas.bob)
    response = client.post(LIST, {"kind": Kind.ACCESS, "details": "Everything."})
    request = PrivacyRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("privacy:account_request", args=[request.public_id])
    assert request.requester == personas.bob and request.verified_at is not None
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "A copy of my personal data" in html and "Filed from the account pages" in html


@pytest.mark.parametrize(
    "data",
    [{}, {"kind": "nonsense"}, {"kind": Kind.REMOVAL}, {"kind": Kind.PROSPECT_DATA}],
)
def test_bad_input_is_a_400(client, personas, data):
    client.force_login(personas.bob)
    response = client.post(LIST, data)
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    assert not PrivacyRequest.objects.exists()


def test_a_user_files_a_removal_and_a_prospect_request(client, personas):
    client.force_login(personas.bob)
    client.post(
        LIST, {"kind": Kind.REMOVAL, "removal_target": "blog_comment", "reference": "/blog/1"}
    )
    client.post(LIST, {"kind": Kind.PROSPECT_DATA, "company": str(personas.client_b.public_id)})
    removal = PrivacyRequest.objects.get(kind=Kind.REMOVAL)
    assert removal.removal_target == "blog_comment" and removal.reference == "/blog/1"
    assert PrivacyRequest.objects.get(kind=Kind.PROSPECT_DATA).client == personas.client_b


def test_the_user_withdraws_their_open_request(client, personas):
    request = account_request(personas.bob)
    client.force_login(personas.bob)
    url = reverse("privacy:account_request_withdraw", args=[request.public_id])
    assert client.post(url).status_code == 302
    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN


def test_another_persons_request_is_a_404(client, personas):
    request = account_request(personas.alice, kind=Kind.CORRECTION)
    client.force_login(personas.bob)
    assert (
        client.get(reverse("privacy:account_request", args=[request.public_id])).status_code == 404
    )
    withdraw = reverse("privacy:account_request_withdraw", args=[request.public_id])
    assert client.post(withdraw).status_code == 404
    request.refresh_from_db()
    assert request.status == Status.RECEIVED


def test_a_visitor_is_sent_to_sign_in(client):
    response = client.get(LIST)
    assert response.status_code == 302 and "login" in response["Location"]
