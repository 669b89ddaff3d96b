"""A suspended client's users cannot sign in, and are told why."""

import pytest
from django.urls import reverse

from tests.factories import PASSWORD


@pytest.fixture
def suspended(personas):
    personas.client_a.status = "suspended"
    personas.client_a.save()
    return personas


@pytest.mark.django_db
def test_signing_in_is_refused_with_the_reason(client, suspended):
    response = client.post(
        reverse("account_login"), {"login": "bob@acme.example", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "Acme's OpsX account is suspended" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard")).status_code == 302  # not signed in


@pytest.mark.django_db
def test_a_session_opened_before_the_suspension_gets_a_clear_page(client, personas):
    client.force_login(personas.bob)
    personas.client_a.status = "suspended"
    personas.client_a.save()
    response = client.get(reverse("dashboard"))
    assert response.status_code == 403
    assert "account is suspended" in response.content.decode()


@pytest.mark.django_db
def test_other_clients_are_not_affected(client, suspended):
    response = client.post(
        reverse("account_login"), {"login": "dan@bravo.example", "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
