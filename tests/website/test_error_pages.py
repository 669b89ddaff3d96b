"""Error pages are the product's own: in its layout, saying what happened, never Django's."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from tests.factories import ProspectFactory


@pytest.mark.django_db
def test_another_clients_prospect_is_a_404_page_in_the_layout(client, personas):
    theirs = ProspectFactory(client=personas.client_b)
    client.force_login(personas.bob)
    response = client.get(reverse("prospects:detail", args=[theirs.public_id]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "There is nothing here" in html and 'href="/app/prospects/"' in html  # nav links


@pytest.mark.django_db
def test_a_form_with_too_many_fields_is_a_readable_400(client, personas):
    client.force_login(personas.alice)
    fields = {f"field{i}": "x" for i in range(1001)}  # over DATA_UPLOAD_MAX_NUMBER_FIELDS
    response = client.post(reverse("prospects:bulk"), fields)
    assert response.status_code == 400
    assert "That request could not be read" in response.content.decode()


@pytest.mark.django_db
def test_a_server_error_page_stands_alone_and_blames_no_one():
    response = server_error(RequestFactory().get("/"))  # no context, no database needed
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


@pytest.mark.django_db
def test_a_client_user_opening_the_support_admin_gets_a_403_page(client, personas):
    client.force_login(personas.bob)
    response = client.get(reverse("admin:login"))
    assert response.status_code == 403
    assert "You cannot do that here" in response.content.decode()
