"""No public page loads anything from another host, and each carries the CSP that forbids it."""

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import sign_in
from website.models import Subprocessor

from .pages import community_urls, reading_urls

# Every page a visitor can open without an account: the reading pages and the forms.
FORM_PAGES = ["account_login", "account_signup", "privacy:newsletter", "privacy:request_new"]
LOADING_ATTRIBUTES = {
    "script": ["src"],
    "link": ["href"],
    "img": ["src", "srcset"],
    "source": ["src", "srcset"],
    "iframe": ["src"],
}


class Resources(HTMLParser):
    """What a page makes the browser fetch, and any inline script or style."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # rel="canonical" names the page's own address (on SITE_URL): the browser fetches
        # nothing from it.
        fetched = not (tag == "link" and attrs.get("rel") == "canonical")
        for name in LOADING_ATTRIBUTES.get(tag, []) if fetched else []:
            if attrs.get(name):
                self.urls += [part.split()[0] for part in attrs[name].split(",")]
        if tag == "script" and not attrs.get("src"):
            self._in_script = True
        if tag == "style":
            self.inline.append("<style>")
        if "style" in attrs:
            self.inline.append(f"<{tag} style=...>")
        self.inline += [f"<{tag} {a}=...>" for a in attrs if a.startswith("on")]

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append("<script>…</script>")


def _public_urls():
    return reading_urls() + [reverse(name) for name in FORM_PAGES]


def _problems(response, url) -> list[str]:
    """What is wrong with a public page: its status, its CSP header, anything it loads from
    another host, any inline code. Empty: the page is clean."""
    if response.status_code != 200:
        return [f"{url}: status {response.status_code}"]
    problems = []
    policy = response.get("Content-Security-Policy", "")
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"):
        if directive not in policy:
            problems.append(f"{url}: the CSP lacks {directive}")
    parser = Resources()
    parser.feed(response.content.decode())
    if not parser.urls:  # at least our stylesheet: else the parser did not see the page
        problems.append(f"{url}: loads nothing, not even our stylesheet")
    for found in parser.urls:
        parts = urlsplit(found)
        if parts.netloc not in ("", "testserver"):
            problems.append(f"{url}: loads {found} from another host")
        elif parts.scheme not in ("", "http", "https", "data") or (
            parts.scheme == "data" and not found.startswith("data:image/")
        ):
            problems.append(f"{url}: loads {found}")
    problems += [f"{url}: inline {code}" for code in parser.inline]
    return problems


def test_the_policy_allows_our_own_origin_only():
    for directive, sources in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].items():
        assert set(sources) <= {"'self'", "'none'", "data:"}, directive
    assert settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["default-src"] == ["'self'"]


@pytest.mark.django_db
def test_no_public_page_loads_anything_from_another_host(client):
    # A subprocessor's site is a link (an <a>), never something the page loads.
    Subprocessor.objects.create(
        name="Hoster",
        purpose="Hosting",
        data_processed="All of it",
        location="India",
        website="https://hoster.example",
    )
    urls = _public_urls()
    assert len(urls) >= 10  # the reading pages and the forms
    problems = [p for url in urls for p in _problems(client.get(url), url)]
    assert problems == []


@pytest.mark.django_db
def test_nor_do_the_forum_pages(client, personas):
    urls = community_urls()
    problems = [p for url in urls for p in _problems(client.get(url), url)]
    sign_in(client, personas.bob)  # signed in, the topic page carries the reply form
    problems += [p for url in urls for p in _problems(client.get(url), url)]
    assert len(urls) == 2 and problems == []


@pytest.mark.django_db
def test_nor_for_a_signed_in_member(client, personas):
    sign_in(client, personas.bob)
    urls = reading_urls()
    assert urls
    problems = [p for url in urls for p in _problems(client.get(url), url)]
    assert problems == []


def test_the_checker_catches_another_hosts_script_and_inline_code():
    parser = Resources()
    parser.feed(
        '<link rel="stylesheet" href="https://cdn.example/a.css">'
        '<img srcset="/static/a.png 1x, //img.example/b.png 2x">'
        '<link rel="canonical" href="https://opsx.example/blog/">'
        '<script>alert(1)</script><p style="color:red" onclick="x()">'
    )
    assert [urlsplit(u).netloc for u in parser.urls] == ["cdn.example", "", "img.example"]
    assert parser.inline == ["<script>…</script>", "<p style=...>", "<p onclick=...>"]


def test_a_page_from_another_host_or_without_the_header_is_reported():
    from django.http import HttpResponse

    page = HttpResponse('<link rel="stylesheet" href="https://cdn.example/a.css">')
    assert _problems(page, "/x/") == [
        "/x/: the CSP lacks default-src 'self'",
        "/x/: the CSP lacks script-src 'self'",
        "/x/: the CSP lacks frame-ancestors 'none'",
        "/x/: loads https://cdn.example/a.css from another host",
    ]
