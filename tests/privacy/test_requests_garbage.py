"""The privacy request pages answer malformed input with a page or a message, never a 500."""

import pytest
from django.urls import reverse

from .requests_helpers import prospect_request

pytestmark = pytest.mark.django_db

GARBAGE = [
    "",
    "\x00",
    "a\x00b",
    "x" * 20_000,
    "<script>alert(1)</script>",
    "00000000-0000-0000-0000-000000000000",
    "../../etc/passwd",
    "💥\u202e",
    ["a", "b"],
]
FIELDS = ["name", "email", "kind", "details", "removal_target", "reference", "company"]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_the_public_form_and_its_search(client, garbage):
    for field in FIELDS:
        data = {"name": "V", "email": "v@visitor.example", "kind": "access", field: garbage}
        assert client.post("/privacy/requests/new/", data).status_code in (302, 400, 429)
    assert client.get("/privacy/requests/new/", {"company_q": garbage}).status_code == 200


@pytest.mark.parametrize("garbage", GARBAGE)
def test_the_account_form(client, personas, garbage):
    client.force_login(personas.bob)
    for field in FIELDS:
        data = {"kind": "correction", field: garbage}
        assert client.post("/app/account/privacy/", data).status_code in (302, 400)
    assert client.get("/app/account/privacy/", {"company_q": garbage}).status_code == 200


@pytest.mark.parametrize("garbage", GARBAGE)
def test_the_admins_answers(client, personas, garbage):
    request = prospect_request(personas.client_a)
    client.force_login(personas.alice)
    for action, field in (("refuse", "reason"), ("done", "outcome")):
        url = reverse(f"privacy:client_request_{action}", args=[request.public_id])
        assert client.post(url, {field: garbage}).status_code in (302, 400)


@pytest.mark.parametrize("token", ["x", "a:b:c", "x" * 2000, "%00", "..", "💥"])
def test_the_status_link(client, token):
    url = f"/privacy/requests/{token}/"
    assert client.get(url).status_code in (400, 404)
    assert client.post(url + "confirm/").status_code in (400, 404)
