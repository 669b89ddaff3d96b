"""Staff keep the subprocessors in Django admin; a website must be an http(s) address."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from website.models import Subprocessor

LIST = reverse("admin:website_subprocessor_changelist")
ADD = reverse("admin:website_subprocessor_add")


def form(**overrides):
    data = {
        "name": "Mailer Ltd",
        "purpose": "Delivers our emails",
        "data_processed": "Email addresses and message contents",
        "location": "Ireland (EU)",
        "website": "https://mailer.example",
        "order": "10",
        "active": "on",
    }
    return {**data, **overrides}


@pytest.fixture
def staff_client(client, sam):
    client.force_login(sam)
    return client


@pytest.fixture
def mailer(db):
    return Subprocessor.objects.create(
        name="Mailer Ltd",
        purpose="Delivers our emails",
        data_processed="Email addresses",
        location="Ireland (EU)",
        website="https://mailer.example",
    )


def test_staff_open_the_list_the_form_and_a_subprocessor(staff_client, mailer):
    response = staff_client.get(LIST)
    assert response.status_code == 200 and "Mailer Ltd" in response.content.decode()
    assert staff_client.get(ADD).status_code == 200
    change = reverse("admin:website_subprocessor_change", args=[mailer.pk])
    assert staff_client.get(change).status_code == 200


def test_staff_add_one_and_it_is_listed_publicly(staff_client, client):
    response = staff_client.post(ADD, form())
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Subprocessor.objects.get().website == "https://mailer.example"
    assert "Mailer Ltd" in staff_client.get(reverse("subprocessors")).content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.example/x",
    ],
)
def test_a_website_that_is_not_an_http_address_is_refused(staff_client, url):
    response = staff_client.post(ADD, form(website=url))
    assert response.status_code == 200
    assert (
        "Enter the company&#x27;s web address, starting with https://." in response.content.decode()
    )
    assert not Subprocessor.objects.exists()


def test_an_address_typed_without_a_scheme_is_taken_as_https(staff_client):
    assert staff_client.post(ADD, form(website="mailer.example")).status_code == 302
    assert Subprocessor.objects.get().website == "https://mailer.example"


def test_the_model_refuses_a_javascript_url_outside_admin_too(db):
    sub = Subprocessor(
        name="X", purpose="p", data_processed="d", location="l", website="javascript:alert(1)"
    )
    with pytest.raises(ValidationError) as raised:
        sub.full_clean()
    assert "website" in raised.value.message_dict


def test_a_member_cannot_open_the_admin(client, personas):
    client.force_login(personas.bob)
    response = client.get(LIST)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
