"""The public request form, its company search and limit, and the requester's signed link:
confirmed once, then a status page; tampered and expired links are a clear 400."""

import time

import pytest
from django.core import signing
from django.urls import reverse

from privacy import services
from privacy.models import PrivacyRequest
from tests.factories import ClientFactory

from .requests_helpers import Kind, Status, link_in, mails_to, visitor_request

pytestmark = pytest.mark.django_db

NEW = "/privacy/requests/new/"


def _form(**overrides):
    data = {
        "name": "Vera Visitor",
        "email": "vera@visitor.example",
        "kind": Kind.ACCESS,
        "details": "All of it, please.",
    }
    return {**data, **overrides}


def test_the_form_opens_for_a_visitor(client):
    response = client.get(NEW)
    assert response.status_code == 200
    assert "Make a privacy request" in response.content.decode()


def test_filing_says_check_your_inbox_whether_or_not_the_address_has_an_account(client, personas):
    stranger = client.post(NEW, _form(email="nobody@visitor.example"))
    member = client.post(NEW, _form(email="bob@acme.example"))
    assert stranger.status_code == member.status_code == 302
    assert stranger["Location"] == member["Location"] == reverse("privacy:request_sent")
    page = client.get(stranger["Location"])
    assert page.status_code == 200 and "Check your inbox" in page.content.decode()
    assert mails_to("nobody@visitor.example") and mails_to("bob@acme.example")
    # the same mail either way: it reveals nothing about accounts
    assert mails_to("nobody@visitor.example")[0].subject == mails_to("bob@acme.example")[0].subject
    request = PrivacyRequest.objects.get(requester_email="bob@acme.example")
    assert request.status == Status.VERIFYING and request.requester is None


@pytest.mark.parametrize(
    "data",
    [
        {"email": "not-an-address"},
        {"name": ""},
        {"kind": "everything"},
        {"kind": Kind.REMOVAL},  # without what to remove
        {"kind": Kind.PROSPECT_DATA},  # without a company
        {"kind": Kind.PROSPECT_DATA, "company": "not-a-uuid"},
        {"details": "x" * 6000},
    ],
)
def test_bad_input_is_a_400_with_the_form_and_nothing_is_filed(client, data):
    response = client.post(NEW, _form(**data))
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    assert not PrivacyRequest.objects.exists()


def test_the_company_search_finds_active_clients_by_name_only_and_at_most_ten(client):
    for n in range(12):
        ClientFactory(name=f"Boilerworks {n:02}", contact_email=f"owner{n}@boiler.example")
    ClientFactory(name="Boilerworks Suspended", status="suspended")
    ClientFactory(name="Other Company")
    page = client.get(NEW, {"company_q": "boilerw", "kind": Kind.PROSPECT_DATA})
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('name="company"') == 10
    assert "Boilerworks 00" in html and "Boilerworks 10" not in html
    assert "Suspended" not in html and "Other Company" not in html
    assert "owner0@boiler.example" not in html  # names only


def test_the_company_search_needs_three_characters(client, personas):
    page = client.get(NEW, {"company_q": "Ac"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "at least 3 letters" in html
    assert 'name="company"' not in html
    assert client.get(NEW).content.decode().count('name="company"') == 0  # no list of clients


def test_a_prospect_request_names_the_company_picked(client, personas):
    page = client.get(NEW, {"company_q": "acm"})
    assert str(personas.client_a.public_id) in page.content.decode()
    response = client.post(
        NEW, _form(kind=Kind.PROSPECT_DATA, company=str(personas.client_a.public_id))
    )
    assert response.status_code == 302
    request = PrivacyRequest.objects.get()
    assert request.client == personas.client_a and request.kind == Kind.PROSPECT_DATA


def test_the_form_is_limited_per_address_with_a_clear_message(client, settings):
    settings.PRIVACY_REQUESTS_PER_IP_PER_HOUR = 2
    for n in range(2):
        assert client.post(NEW, _form(email=f"v{n}@visitor.example")).status_code == 302
    response = client.post(NEW, _form(email="v9@visitor.example"))
    assert response.status_code == 429
    assert "the most we accept" in response.content.decode()
    assert PrivacyRequest.objects.count() == 2
    assert not mails_to("v9@visitor.example")


def test_nothing_is_revealed_before_the_link_confirms_the_address(client):
    visitor_request(details="My secret story", name="Vera Visitor")
    path = link_in(mails_to("vera@visitor.example")[0])
    page = client.get(path)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Confirm your address" in html
    for hidden in ("My secret story", "Vera Visitor", "vera@visitor.example", "copy of my"):
        assert hidden not in html
    # nor can the unconfirmed link withdraw it
    assert client.post(path + "withdraw/").status_code == 404
    assert PrivacyRequest.objects.get().status == Status.VERIFYING


def test_the_link_confirms_once_then_keeps_showing_the_status(client, personas):
    visitor_request(email="dan@bravo.example", kind=Kind.CORRECTION)
    path = link_in(mails_to("dan@bravo.example")[0])
    assert client.post(path + "confirm/").status_code == 302
    request = PrivacyRequest.objects.get()
    assert request.status == Status.RECEIVED and request.requester == personas.dan
    first = request.verified_at
    assert client.post(path + "confirm/").status_code == 302  # reused: no second confirmation
    for _ in range(2):
        page = client.get(path)
        assert page.status_code == 200
        html = page.content.decode()
        assert "Correct data I cannot edit myself" in html and "HexCM support" in html
        assert "Withdraw the request" in html
    request.refresh_from_db()
    assert request.verified_at == first
    assert request.events.filter(action="verified").count() == 1
    assert "no-store" in page["Cache-Control"]


def test_the_status_page_names_the_clients_admins_for_a_prospect_request(client, personas):
    visitor_request(kind=Kind.PROSPECT_DATA, client=personas.client_a)
    path = link_in(mails_to("vera@visitor.example")[0])
    client.post(path + "confirm/")
    assert "Acme&#x27;s administrators" in client.get(path).content.decode()


def test_the_requester_withdraws_through_the_link(client):
    request = visitor_request()
    services.request_verify(request=request, actor=None)
    path = link_in(mails_to("vera@visitor.example")[0])
    assert client.post(path + "withdraw/").status_code == 302
    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN
    assert "Withdraw the request" not in client.get(path).content.decode()


def test_a_tampered_link_is_a_clear_400(client):
    request = visitor_request()
    token = services.request_token(request)
    for bad in (token[:-2] + "xx", "garbage", signing.dumps(str(request.public_id), salt="other")):
        page = client.get(reverse("privacy:request_status", args=[bad]))
        assert page.status_code == 400
        assert "not valid" in page.content.decode()
        assert client.post(reverse("privacy:request_confirm", args=[bad])).status_code == 400
    request.refresh_from_db()
    assert request.verified_at is None


def test_an_expired_link_is_a_clear_400_and_confirms_nothing(client, monkeypatch):
    request = visitor_request()
    old = int(time.time()) - 61 * 86400
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(old))
    token = services.request_token(request)
    monkeypatch.undo()
    page = client.get(reverse("privacy:request_status", args=[token]))
    assert page.status_code == 400 and "expired" in page.content.decode()
    assert client.post(reverse("privacy:request_confirm", args=[token])).status_code == 400
    request.refresh_from_db()
    assert request.verified_at is None


def test_every_page_links_to_the_request_form(client):
    assert NEW in client.get(reverse("home")).content.decode()
