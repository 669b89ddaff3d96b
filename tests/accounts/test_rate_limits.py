"""Sign-in rate limits: per client behind our proxy.

allauth's limits stay on here (the suite only clears the cache before each test): failed
sign-ins are limited to 10 a minute per IP and 5 in 5 minutes per account.
"""

import runpy
from pathlib import Path

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PROXY = "10.0.0.2"  # our TLS proxy: every request's socket peer
STRANGER_IP = "203.0.113.66"
OWNER_IP = "198.51.100.7"
LOCKED = "Too many "  # failed sign-in attempts (allauth's and ours), wrong codes
WRONG = "not the password at all"


def attempt(browser, email, password, **kwargs):
    return browser.post(reverse("account_login"), {"login": email, "password": password}, **kwargs)


def is_locked(response) -> bool:
    return response.status_code == 429 or LOCKED in response.content.decode()


def signed_in_to_the_app(response, browser) -> bool:
    return (
        response.status_code == 302
        and response["Location"] == reverse("dashboard")
        and "_auth_user_id" in browser.session
    )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 on every one of these many attempts would make the file take minutes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- Behind the proxy: each client has its own limits ------------------------------------------


@pytest.fixture
def behind_one_proxy(settings, monkeypatch):
    """The allauth settings that opsx/settings.py derives from BEHIND_TLS_PROXY=true (as in
    .env.example), applied to this test."""
    monkeypatch.setenv("BEHIND_TLS_PROXY", "true")
    derived = runpy.run_path(str(ROOT / "opsx" / "settings.py"))
    for name, value in derived.items():
        if name.startswith("ALLAUTH_"):
            setattr(settings, name, value)
    return settings


def via_proxy(client_ip, forwarded_for=None):
    """A browser whose requests reach us through the proxy, which appends the client's address."""
    chain = f"{forwarded_for}, {client_ip}" if forwarded_for else client_ip
    return Client(REMOTE_ADDR=PROXY, headers={"X-Forwarded-For": chain})


@pytest.mark.django_db
def test_behind_the_proxy_one_clients_failures_do_not_limit_another(behind_one_proxy, personas):
    mallory = via_proxy(STRANGER_IP)
    for n in range(10):
        assert not is_locked(attempt(mallory, f"nobody{n}@example.com", WRONG))
    assert is_locked(attempt(mallory, "nobody-else@example.com", WRONG))

    alice = via_proxy(OWNER_IP)
    refused = attempt(alice, personas.alice.email, WRONG)
    assert not is_locked(refused) and "not correct" in refused.content.decode()
    assert signed_in_to_the_app(attempt(alice, personas.alice.email, PASSWORD), alice)


@pytest.mark.django_db
def test_a_forged_x_forwarded_for_hop_does_not_escape_the_limit(behind_one_proxy):
    # Mallory writes a new address in front each time; the proxy's own hop stays the last one.
    for n in range(10):
        mallory = via_proxy(STRANGER_IP, forwarded_for=f"192.0.2.{n}")
        attempt(mallory, f"nobody{n}@example.com", WRONG)
    mallory = via_proxy(STRANGER_IP, forwarded_for="192.0.2.200")
    assert is_locked(attempt(mallory, "nobody-else@example.com", WRONG))


@pytest.mark.django_db
def test_without_the_proxy_setting_x_forwarded_for_is_ignored(personas):
    for n in range(10):
        attempt(via_proxy(f"192.0.2.{n}"), f"nobody{n}@example.com", WRONG)
    # Every request came from the same socket peer, whatever the header says.
    assert is_locked(attempt(via_proxy(OWNER_IP), personas.alice.email, PASSWORD))


@pytest.mark.django_db
def test_the_sessions_list_shows_the_clients_address_not_the_proxys(behind_one_proxy, personas):
    alice = via_proxy(OWNER_IP, forwarded_for="192.0.2.99")
    assert signed_in_to_the_app(attempt(alice, personas.alice.email, PASSWORD), alice)
    assert list(UserSession.objects.filter(user=personas.alice).values_list("ip", flat=True)) == [
        OWNER_IP
    ]
