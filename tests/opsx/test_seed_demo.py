"""The demo data (published password) never lands in production by accident, and its staff user
sets up two-factor with a link like any other."""

import io
import re
from urllib.parse import urlparse

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User

DEMO_PASSWORD = "opsx-demo-2026"


@pytest.mark.django_db
def test_seeding_is_refused_when_debug_is_false(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--i-know-this-is-not-production"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.exists()


@pytest.mark.django_db
def test_seeding_with_debug_false_needs_the_explicit_flag(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--i-know-this-is-not-production", stdout=io.StringIO())
    assert User.objects.filter(email="support@hexcm.example", is_staff=True).exists()


@pytest.mark.django_db
def test_seeding_in_development_prints_the_logins_and_a_staff_enrolment_link(client, settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    output = out.getvalue()
    assert "member@acme.example" in output and DEMO_PASSWORD in output
    link = urlparse(re.search(r"http\S+/accounts/staff-enrolment/\S+", output).group()).path
    # the printed link is what lets the seeded staff user set up two-factor
    response = client.post(
        "/accounts/login/", {"login": "support@hexcm.example", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(link)["Location"] == "/accounts/2fa/totp/activate/"


@pytest.mark.django_db
def test_a_demo_member_signs_in_on_the_mobile_app_as_printed(client, settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "/_allauth/app/v1/auth/login" in out.getvalue()
    response = client.post(
        "/_allauth/app/v1/auth/login",
        {"email": "member@acme.example", "password": DEMO_PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    token = response.json()["meta"]["session_token"]
    assert client.get("/api/v1/me", HTTP_X_SESSION_TOKEN=token).status_code == 200
