"""Every page the account settings page links to opens for a signed-in member, and the sessions
page signs other sessions out."""

import re

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client as BrowserClient
from django.urls import reverse

from tests.conftest import sign_in

HREF = re.compile(r'href="(/[^"]*)"')


@pytest.mark.django_db
def test_every_page_linked_from_account_settings_opens(client, personas):
    sign_in(client, personas.bob)
    page = client.get(reverse("account_settings"))
    assert page.status_code == 200
    links = sorted(
        {link for link in HREF.findall(page.content.decode()) if not link.startswith("/static/")}
    )
    # the sign-in section's links, among the navigation's
    for name in ("account_email", "account_change_password", "mfa_index", "usersessions_list"):
        assert reverse(name) in links
    for link in links:
        # A page that wants a recent password re-check redirects to it: follow, the page at the
        # end of the chain must open. (Right after sign-in none should need it.)
        response = client.get(link, follow=True)
        assert response.status_code == 200, (link, response.redirect_chain)


@pytest.mark.django_db
def test_the_sessions_page_lists_where_you_are_signed_in(client, personas):
    sign_in(client, personas.bob)
    page = client.get(reverse("usersessions_list"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Current" in body and "Sign Out" in body


@pytest.mark.django_db
def test_signing_out_other_sessions_ends_them_and_keeps_this_one(client, personas):
    other = BrowserClient(HTTP_USER_AGENT="Other browser")
    sign_in(other, personas.bob)
    sign_in(client, personas.bob)
    assert UserSession.objects.filter(user=personas.bob).count() == 2
    assert other.get(reverse("dashboard")).status_code == 200

    page = client.get(reverse("usersessions_list")).content.decode()
    assert "Sign Out Other Sessions" in page and "Other browser" in page
    response = client.post(reverse("usersessions_list"), follow=True)
    assert response.status_code == 200

    [kept] = UserSession.objects.filter(user=personas.bob)
    assert kept.session_key == client.session.session_key
    assert client.get(reverse("dashboard")).status_code == 200
    # the other browser is signed out: the restricted area sends it to the sign-in page
    response = other.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
