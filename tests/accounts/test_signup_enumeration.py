"""Starting a client account with an address that already has one must not be told apart from
a new sign-up, neither by the page nor by how long the answer takes."""

import statistics
import time

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.urls import reverse

from accounts.models import User
from tests.accounts.test_start_client_account import _signup_data


@pytest.fixture
def hashes(monkeypatch):
    """Every password hash made with the configured hasher (Argon2), counted."""
    made = []
    encode = Argon2PasswordHasher.encode

    def counting_encode(self, password, salt):
        made.append(password)
        return encode(self, password, salt)

    monkeypatch.setattr(Argon2PasswordHasher, "encode", counting_encode)
    return made


def _sign_up(browser, email):
    return browser.post(reverse("account_signup"), _signup_data(email=email))


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["new@northwind.example", "ALICE@acme.example"])
def test_a_sign_up_hashes_the_password_once_whether_or_not_the_address_is_known(
    client, personas, hashes, email
):
    response = _sign_up(client, email)

    assert response.status_code == 302
    assert hashes == ["a sturdy pass phrase 42"]
    assert User.objects.filter(email=email.lower()).count() == 1


@pytest.mark.django_db
def test_a_known_and_a_new_address_get_the_same_answer(personas):
    from django.test import Client as Browser

    answers = []
    for email in ("new@northwind.example", "alice@acme.example"):
        browser = Browser()
        response = _sign_up(browser, email)
        page = browser.get(response["Location"])
        answers.append(
            (response.status_code, response["Location"], page.status_code, page.content.decode())
        )
    new, known = answers
    assert new[:3] == known[:3] == (302, reverse("account_email_verification_sent"), 200)
    assert new[3].replace("new@northwind.example", "ADDRESS") == known[3].replace(
        "alice@acme.example", "ADDRESS"
    )


@pytest.mark.django_db
def test_print_the_median_sign_up_times_for_a_new_and_a_known_address(personas, settings):
    """Not an assertion (the machine is shared): prints both medians for a person to compare."""
    from django.test import Client as Browser

    settings.ACCOUNT_RATE_LIMITS = False
    times = {"new": [], "known": []}
    for i in range(5):
        for kind, email in (("new", f"new{i}@northwind.example"), ("known", "alice@acme.example")):
            started = time.perf_counter()
            assert _sign_up(Browser(), email).status_code == 302
            times[kind].append(time.perf_counter() - started)
    new, known = (statistics.median(times[k]) * 1000 for k in ("new", "known"))
    print(f"sign-up median: new address {new:.0f} ms, known address {known:.0f} ms")
