"""Reading pages set no cookie for an anonymous visitor, and the cookies page lists every
cookie the app really sets (website.cookies, checked against a crawl that signs up, signs in
and out, and opens the pages with forms)."""

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.ratelimits import DEVICE_COOKIE
from tests.factories import PASSWORD
from website.cookies import app_cookies, cookie_names

from .pages import community_urls, reading_urls


class CookieLog:
    """Every cookie name seen in a Set-Cookie during the test, with the page that set it."""

    def __init__(self, client):
        self.client = client
        self.seen: dict[str, str] = {}

    def _record(self, response, url):
        for name in response.cookies:
            self.seen.setdefault(name, url)
        return response

    def get(self, url, **kwargs):
        return self._record(self.client.get(url, **kwargs), url)

    def post(self, url, data=None, **kwargs):
        return self._record(self.client.post(url, data or {}, **kwargs), url)


@pytest.mark.django_db
def test_reading_pages_set_no_cookie_for_an_anonymous_visitor(client):
    for url in reading_urls():
        response = client.get(url)
        assert response.status_code == 200, url
        assert not response.cookies, (url, list(response.cookies))
        assert "Set-Cookie" not in str(response.serialize_headers()), url
    # and nothing was kept for the next request either
    assert not client.cookies


@pytest.mark.django_db
def test_the_forum_pages_set_no_cookie_for_an_anonymous_visitor(client):
    urls = community_urls()
    assert len(urls) == 2
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Sign in to post" in response.content.decode(), url
        assert not response.cookies, (url, list(response.cookies))
    assert not client.cookies


@pytest.mark.django_db
def test_reading_pages_set_no_cookie_while_a_notice_banner_is_shown(client, sam):
    from privacy import notices
    from privacy.models import Notice

    notice = Notice.objects.create(title="We are moving", body="HexCM has a new address.")
    notices.send_notice(notice, actor=sam)
    for url in reading_urls():
        response = client.get(url)
        assert "We are moving" in response.content.decode(), url
        assert not response.cookies, (url, list(response.cookies))


@pytest.mark.django_db
def test_every_cookie_the_app_sets_is_on_the_cookies_page(client, personas, smtp_server):
    log = CookieLog(client)
    # Anonymous: the pages with forms, and sending them (invalid, then valid sign-up).
    for name in [
        "account_login",
        "account_signup",
        "account_reset_password",
        "privacy:newsletter",
        "privacy:request_new",
    ]:
        response = log.get(reverse(name))
        assert response.status_code == 200, name
    assert log.seen.get(settings.CSRF_COOKIE_NAME) == reverse("account_login")
    log.post(reverse("privacy:newsletter"))
    log.post(reverse("privacy:request_new"))
    log.post(reverse("account_reset_password"), {"email": personas.bob.email})
    log.post(
        reverse("account_signup"),
        {
            "email": "new@startup.example",
            "password1": "a long and new passphrase",
            "password2": "a long and new passphrase",
            "company_name": "Startup",
            "full_name": "Nina New",
            "date_of_birth": "1990-05-17",
        },
    )
    client.cookies.clear()
    # Signed in: the session, the device cookie and a message; pages; then out again.
    response = log.post(
        reverse("account_login"),
        {"login": personas.bob.email, "password": PASSWORD, "remember": "on"},
    )
    assert response.status_code == 302
    assert {settings.SESSION_COOKIE_NAME, DEVICE_COOKIE} <= set(response.cookies)
    for url in [*reading_urls(), reverse("dashboard"), reverse("account_settings")]:
        assert log.get(url).status_code == 200, url
    log.post(reverse("account_logout"))
    log.get(reverse("home"))

    listed = cookie_names()
    assert set(log.seen) <= listed, {n: u for n, u in log.seen.items() if n not in listed}
    # The crawl met the main ones: the list is not just longer than reality.
    assert {settings.CSRF_COOKIE_NAME, settings.SESSION_COOKIE_NAME, DEVICE_COOKIE} <= set(log.seen)
    html = client.get(reverse("cookies")).content.decode()
    for cookie in app_cookies():
        assert f"<code>{cookie.name}</code>" in html


@pytest.mark.django_db
def test_the_list_follows_the_settings(settings):
    settings.SESSION_COOKIE_NAME = "opsx_session"
    settings.CSRF_COOKIE_NAME = "opsx_csrf"
    settings.SESSION_COOKIE_AGE = 14 * 24 * 3600
    cookies = {c.name: c for c in app_cookies()}
    assert {"opsx_session", "opsx_csrf", DEVICE_COOKIE, "messages"} <= set(cookies)
    assert "2 weeks" in cookies["opsx_session"].lifetime
    assert cookies["opsx_csrf"].lifetime == "52 weeks"  # Django: 60 * 60 * 24 * 7 * 52
    settings.CSRF_USE_SESSIONS = True
    settings.MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
    assert {c.name for c in app_cookies()} == {"opsx_session", DEVICE_COOKIE}
    settings.MFA_TRUST_ENABLED = True
    assert "mfa_trusted" in cookie_names()
