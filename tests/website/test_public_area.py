import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from clients.models import Client


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["home", "privacy", "account_login", "account_signup"])
def test_public_pages_open_without_signing_in_and_load_nothing_from_elsewhere(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert "http://" not in html.replace("http://testserver", "") and "https://" not in html
    assert "default-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_the_demo_data_command_is_idempotent_and_prints_working_logins(client, capsys, settings):
    settings.DEBUG = True  # seeding in development; with DEBUG false it refuses (test_seed_demo)
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert Client.objects.count() == 2
    assert User.objects.count() == 5
    assert "admin@acme.example" in out and "opsx-demo-2026" in out
    response = client.post(
        reverse("account_login"), {"login": "admin@acme.example", "password": "opsx-demo-2026"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
