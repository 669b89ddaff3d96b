"""The website's pages: open to everyone, one h1 each, labelled landmarks, and no query on the
static ones."""

import itertools
import re

import pytest
from django.urls import reverse

from tests.conftest import sign_in
from website.models import Subprocessor

from .pages import READING_PAGES, STATIC_PAGES, reading_urls


def _h1_count(html: str) -> int:
    return len(re.findall(r"<h1[\s>]", html))


@pytest.mark.django_db
@pytest.mark.parametrize("url", reading_urls())
def test_every_public_page_opens_for_an_anonymous_visitor_with_one_h1(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert _h1_count(html) == 1, url
    assert '<nav aria-label="Main">' in html and '<nav aria-label="Site">' in html
    assert '<main id="main"' in html and 'href="#main"' in html  # the skip link's target


@pytest.mark.django_db
def test_every_public_page_opens_for_a_signed_in_member(client, personas):
    sign_in(client, personas.bob)
    for url in reading_urls():
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert _h1_count(html) == 1, url
        assert "Sign out" in html  # the member's own navigation, not the visitor's


@pytest.mark.django_db
def test_the_footer_links_every_public_page_and_keeps_the_privacy_links(client):
    html = client.get(reverse("home")).content.decode()
    footer = html.split('<footer class="footer">', 1)[1]
    for name in READING_PAGES:
        if name != "home":  # the brand in the header links home
            assert f'href="{reverse(name)}"' in footer, name
    for name, text in [
        ("privacy:request_new", "Privacy requests"),
        ("privacy:newsletter", "Newsletter"),
        ("testimonials", "Testimonials"),
        ("privacy", "Privacy policy"),
    ]:
        assert f'<a href="{reverse(name)}">{text}</a>' in footer


@pytest.mark.django_db
def test_headings_never_skip_a_level(client):
    for url in reading_urls():
        levels = [int(n) for n in re.findall(r"<h([1-6])[\s>]", client.get(url).content.decode())]
        assert levels[0] == 1, url
        for before, after in itertools.pairwise(levels):
            assert after <= before + 1, (url, levels)


@pytest.mark.django_db
@pytest.mark.parametrize("name", STATIC_PAGES)
def test_a_static_page_costs_no_query(client, django_assert_num_queries, name):
    client.get(reverse(name))  # the first request fills the current notices' cache
    with django_assert_num_queries(0):
        assert client.get(reverse(name)).status_code == 200


@pytest.mark.django_db
def test_contact_gives_the_configured_address_and_sends_privacy_matters_to_the_form(
    client, settings
):
    settings.CONTACT_EMAIL = "hello@opsx.example"
    html = client.get(reverse("contact")).content.decode()
    assert '<a href="mailto:hello@opsx.example">hello@opsx.example</a>' in html
    assert f'<a href="{reverse("privacy:request_new")}">privacy request form</a>' in html
    assert "<form" not in html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


@pytest.mark.django_db
def test_the_subprocessors_page_lists_the_active_ones_in_order_in_one_query(
    client, django_assert_num_queries
):
    client.get(reverse("subprocessors"))  # warm the notices' cache

    def listed():
        # 1. the active subprocessors, ordered
        with django_assert_num_queries(1):
            response = client.get(reverse("subprocessors"))
        assert response.status_code == 200
        return response.content.decode()

    Subprocessor.objects.create(
        name="Mailer Ltd",
        purpose="Delivers our emails",
        data_processed="Email addresses\nMessage contents",
        location="Ireland (EU)",
        website="https://mailer.example",
        order=20,
    )
    html = listed()
    assert "Mailer Ltd" in html and "Email addresses<br>Message contents" in html
    for i in range(5):
        Subprocessor.objects.create(
            name=f"Cloud {i}",
            purpose="Hosting",
            data_processed="Everything stored in OpsX",
            location="India",
            website=f"https://cloud{i}.example",
            order=10,
        )
    Subprocessor.objects.create(
        name="Gone Inc",
        purpose="Used to send SMS",
        data_processed="Phone numbers",
        location="USA",
        website="https://gone.example",
        active=False,
    )
    html = listed()
    assert "Gone Inc" not in html
    assert html.index("Cloud 0") < html.index("Cloud 4") < html.index("Mailer Ltd")
    assert 'href="https://mailer.example" rel="noopener noreferrer"' in html
