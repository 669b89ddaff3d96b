"""Sign-in rate limits: per client behind our proxy, and a lockout a stranger cannot impose.

allauth's limits stay on here (the suite only clears the cache before each test): failed
sign-ins are limited to 10 a minute per IP and 5 in 5 minutes per account (per account and
browser for a browser that signed in before; see accounts/ratelimits.py).
"""

import runpy
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import reverse

from accounts.ratelimits import DEVICE_COOKIE
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


# --- A stranger cannot lock the owner out of their usual browser --------------------------------


@pytest.fixture
def owner_browser(personas):
    """Alice's usual browser: she signed in there before (and signed out)."""
    browser = Client(REMOTE_ADDR=OWNER_IP)
    assert signed_in_to_the_app(attempt(browser, personas.alice.email, PASSWORD), browser)
    browser.post(reverse("account_logout"))
    assert "_auth_user_id" not in browser.session
    return browser


def hammer(browser, email, times=10):
    for _ in range(times):
        attempt(browser, email, WRONG)


@pytest.mark.django_db
def test_sign_in_gives_the_browser_a_long_lived_httponly_device_cookie(owner_browser):
    cookie = owner_browser.cookies[DEVICE_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) >= 180 * 24 * 3600
    assert not cookie["secure"]  # DEBUG here; production below


@pytest.mark.django_db
def test_the_device_cookie_is_secure_when_session_cookies_are(settings, personas):
    settings.SESSION_COOKIE_SECURE = True  # what DEBUG=false sets
    browser = Client(REMOTE_ADDR=OWNER_IP)
    attempt(browser, personas.alice.email, PASSWORD)
    assert browser.cookies[DEVICE_COOKIE]["secure"]


@pytest.mark.django_db
def test_a_stranger_guessing_does_not_lock_the_owner_out_of_their_usual_browser(
    personas, owner_browser
):
    stranger = Client(REMOTE_ADDR=STRANGER_IP)
    hammer(stranger, personas.alice.email)
    assert is_locked(attempt(stranger, personas.alice.email, PASSWORD))

    response = attempt(owner_browser, personas.alice.email, PASSWORD)
    assert signed_in_to_the_app(response, owner_browser)


@pytest.mark.django_db
def test_browsers_without_the_device_cookie_are_locked_even_the_owners(personas, owner_browser):
    hammer(Client(REMOTE_ADDR=STRANGER_IP), personas.alice.email)

    new_browser = Client(REMOTE_ADDR=OWNER_IP)
    response = attempt(new_browser, personas.alice.email, PASSWORD)
    assert is_locked(response) and "_auth_user_id" not in new_browser.session
    assert "reset your password" in response.content.decode()


@pytest.mark.django_db
def test_the_owner_who_keeps_failing_on_their_browser_is_limited_there(personas, owner_browser):
    hammer(owner_browser, personas.alice.email, times=5)
    response = attempt(owner_browser, personas.alice.email, PASSWORD)
    assert is_locked(response) and "_auth_user_id" not in owner_browser.session
    # ... on that browser only: the account's shared limit was not spent.
    other = Client(REMOTE_ADDR="192.0.2.10")
    assert signed_in_to_the_app(attempt(other, personas.alice.email, PASSWORD), other)


@pytest.mark.django_db
def test_another_accounts_cookie_counts_as_none(personas):
    stranger = Client(REMOTE_ADDR=STRANGER_IP)
    assert signed_in_to_the_app(attempt(stranger, personas.carol.email, PASSWORD), stranger)
    stranger.post(reverse("account_logout"))
    assert DEVICE_COOKIE in stranger.cookies

    hammer(stranger, personas.alice.email, times=5)
    other = Client(REMOTE_ADDR="192.0.2.10")
    assert is_locked(attempt(other, personas.alice.email, PASSWORD))


@pytest.mark.django_db
def test_a_forged_device_cookie_counts_as_none(personas, owner_browser):
    genuine = owner_browser.cookies[DEVICE_COOKIE].value
    account_and_device = genuine.rsplit(":", 1)[0].rsplit(":", 1)[0]  # signature dropped
    hammer(Client(REMOTE_ADDR=STRANGER_IP), personas.alice.email, times=5)

    for forged in (
        f"{account_and_device}:forged-signature",
        f"{personas.alice.public_id}:my-device",
        "garbage",
    ):
        browser = Client(REMOTE_ADDR="192.0.2.10")
        browser.cookies[DEVICE_COOKIE] = forged
        response = attempt(browser, personas.alice.email, PASSWORD)
        assert response.status_code != 500 and is_locked(response), forged


@pytest.mark.django_db
def test_a_password_reset_from_the_usual_browser_unlocks_the_other_browsers(
    personas, owner_browser
):
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    hammer(Client(REMOTE_ADDR=STRANGER_IP), personas.alice.email, times=5)
    personas.alice.refresh_from_db()  # the token covers last_login, set by the fixture's sign-in
    url = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(personas.alice),
            "key": default_token_generator.make_token(personas.alice),
        },
    )
    form_url = owner_browser.get(url)["Location"]  # allauth moves the key into the session
    new_password = "a brand new passphrase 42"
    done = owner_browser.post(form_url, {"password1": new_password, "password2": new_password})
    assert done.status_code == 302 and done["Location"] == reverse(
        "account_reset_password_from_key_done"
    )

    other = Client(REMOTE_ADDR="192.0.2.10")
    assert signed_in_to_the_app(attempt(other, personas.alice.email, new_password), other)


# --- The same for TOTP codes at the second step of sign-in --------------------------------------


@pytest.fixture
def totp_secret(personas, owner_browser):
    """Alice turned on TOTP after her usual browser was known."""
    secret = generate_totp_secret()
    TOTP.activate(personas.alice, secret)
    return secret


def valid_codes(secret):
    return {format_hotp_value(hotp_value(secret, c)) for c in yield_hotp_counters_from_time()}


def a_wrong_code(secret):
    return next(f"{n:06d}" for n in range(1, 100) if f"{n:06d}" not in valid_codes(secret))


def sign_in_with_code(browser, email, code):
    response = attempt(browser, email, PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("mfa_authenticate")
    return browser.post(reverse("mfa_authenticate"), {"code": code})


def the_current_code(secret):
    counters = list(yield_hotp_counters_from_time())  # the tolerance window around now
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def hammer_codes(browser, email, secret, times=6):
    attempt(browser, email, PASSWORD)
    for _ in range(times):
        browser.post(reverse("mfa_authenticate"), {"code": a_wrong_code(secret)})


@pytest.mark.django_db
def test_a_stranger_with_the_password_does_not_lock_the_owners_browser_out_of_totp(
    personas, owner_browser, totp_secret
):
    stranger = Client(REMOTE_ADDR=STRANGER_IP)
    hammer_codes(stranger, personas.alice.email, totp_secret)
    response = stranger.post(reverse("mfa_authenticate"), {"code": the_current_code(totp_secret)})
    assert "_auth_user_id" not in stranger.session
    assert "Too many wrong codes. Wait five minutes" in response.content.decode()

    response = sign_in_with_code(owner_browser, personas.alice.email, the_current_code(totp_secret))
    assert signed_in_to_the_app(response, owner_browser)


@pytest.mark.django_db
def test_without_the_device_cookie_the_totp_step_stays_locked(personas, owner_browser, totp_secret):
    hammer_codes(Client(REMOTE_ADDR=STRANGER_IP), personas.alice.email, totp_secret)
    new_browser = Client(REMOTE_ADDR=OWNER_IP)
    response = sign_in_with_code(new_browser, personas.alice.email, the_current_code(totp_secret))
    assert is_locked(response) and "_auth_user_id" not in new_browser.session


@pytest.mark.django_db
def test_the_owner_who_keeps_typing_wrong_codes_is_limited_on_their_browser(
    personas, owner_browser, totp_secret
):
    hammer_codes(owner_browser, personas.alice.email, totp_secret, times=5)
    response = owner_browser.post(
        reverse("mfa_authenticate"), {"code": the_current_code(totp_secret)}
    )
    assert is_locked(response) and "_auth_user_id" not in owner_browser.session
    # The account's shared limit was not spent by the owner's browser.
    other = Client(REMOTE_ADDR="192.0.2.10")
    response = sign_in_with_code(other, personas.alice.email, the_current_code(totp_secret))
    assert signed_in_to_the_app(response, other)


@pytest.mark.django_db
def test_another_accounts_cookie_counts_as_none_at_the_totp_step(personas, totp_secret):
    stranger = Client(REMOTE_ADDR=STRANGER_IP)
    assert signed_in_to_the_app(attempt(stranger, personas.carol.email, PASSWORD), stranger)
    stranger.post(reverse("account_logout"))

    hammer_codes(stranger, personas.alice.email, totp_secret)
    other = Client(REMOTE_ADDR="192.0.2.10")
    response = sign_in_with_code(other, personas.alice.email, the_current_code(totp_secret))
    assert is_locked(response)
