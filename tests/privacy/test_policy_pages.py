"""/privacy/ shows the policy in effect today, every earlier version with its dates and a coming
change; /privacy/versions/<label>/ shows one published version. Both public and cookie-free."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from privacy import notices, policies
from privacy.models import PolicyVersion

SEED = datetime.date(2022, 7, 18)


def published(label, effective_on, *, material=False, body=None, summary=""):
    return PolicyVersion.objects.create(
        label=label,
        effective_on=effective_on,
        body=body or f"## Version {label}\n\nThe words of version {label}.",
        summary=summary,
        material=material,
        published_at=timezone.now(),
    )


@pytest.fixture
def versions(db):
    """Version 1 (the seed, 18 July 2022), 2 from 1 March 2026, 3 from 1 January 2027
    (material), and a draft 4."""
    two = published("2", datetime.date(2026, 3, 1))
    three = published(
        "3", datetime.date(2027, 1, 1), material=True, summary="Support access changes."
    )
    draft = PolicyVersion.objects.create(
        label="4", effective_on=datetime.date(2027, 6, 1), body="## Draft\n\nNot yet."
    )
    return PolicyVersion.objects.get(label="1"), two, three, draft


@pytest.mark.django_db
def test_version_1_is_seeded_published_and_in_effect_from_18_july_2022():
    seed = PolicyVersion.objects.get(label="1")
    assert seed.effective_on == SEED and seed.published_at is not None and not seed.material
    assert policies.policy_in_effect(datetime.date(2022, 7, 18)) == seed
    assert policies.policy_in_effect(datetime.date(2022, 7, 17)) is None
    html = seed.rendered_body
    for heading in (
        "Who we are",
        "Your prospects",
        "Referrals",
        "Server logs and cookies",
        "Mobile device tokens",
        "No third-party analytics",
        "Email and legal notices",
        "Newsletter",
        "How we use information",
        "Sharing",
        "What we look at, and support access on request",
        "Statistics",
        "Security",
        "What you can access and change",
        "Testimonials",
        "Retention and deletion",
        "Client data: ask the Client",
        "Blog and community forum",
        "Children under 16",
        "Changes to this policy",
        "Contact",
    ):
        assert f"<h2>{heading}" in html, heading


def test_a_future_version_is_not_in_effect_until_its_day(versions):
    one, two, three, _ = versions
    assert policies.policy_in_effect(datetime.date(2026, 2, 28)) == one
    assert policies.policy_in_effect(datetime.date(2026, 3, 1)) == two
    assert policies.policy_in_effect(datetime.date(2026, 12, 31)) == two
    assert policies.policy_in_effect(datetime.date(2027, 1, 1)) == three
    assert policies.policy_upcoming(datetime.date(2026, 12, 31)) == three
    assert policies.policy_upcoming(datetime.date(2027, 1, 1)) is None
    assert list(policies.policy_history()) == [three, two, one]  # no draft


@time_machine.travel(datetime.datetime(2026, 12, 2, 9, 0, tzinfo=datetime.UTC))
def test_privacy_page_shows_the_version_in_effect_the_history_and_the_coming_change(
    client, versions, django_assert_max_num_queries
):
    # the request's savepoint, the published versions without bodies, the body of the one in
    # effect, release (no session, no user: an anonymous visitor). The notices' banner is read
    # from the cache, warm here as on a live site (a cold cache costs one query, once).
    notices.notices_current()
    with django_assert_max_num_queries(4):
        response = client.get(reverse("privacy"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Version 2, in effect since 1 March 2026." in html
    assert "<h2>Version 2</h2>" in html and "The words of version 2." in html
    assert "The words of version 1." not in html  # earlier versions are links, not text
    # the history: version 1 from its day to the day before version 2
    assert '<a href="/privacy/versions/1/">Version 1</a>' in html
    assert "<td>18 July 2022</td>" in html and "<td>28 February 2026</td>" in html
    # the coming material change is announced, the draft is nowhere
    assert '<a href="/privacy/versions/3/">Version 3</a>' in html
    assert "takes effect on 1 January 2027 and changes how we handle personal data" in html
    assert "Support access changes." in html
    assert "/privacy/versions/4/" not in html and "Not yet." not in html


@time_machine.travel(datetime.datetime(2027, 1, 1, 0, 5, tzinfo=datetime.UTC))
def test_on_its_day_the_coming_version_is_the_one_in_effect(client, versions):
    html = client.get(reverse("privacy")).content.decode()
    assert "Version 3, in effect since 1 January 2027." in html
    assert "Coming changes" not in html
    assert '<a href="/privacy/versions/2/">Version 2</a>' in html
    assert "<td>31 December 2026</td>" in html


@pytest.mark.django_db
def test_the_privacy_page_sets_no_cookie_for_an_anonymous_visitor(client):
    response = client.get(reverse("privacy"))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers and not response.cookies
    assert "csrfmiddlewaretoken" not in response.content.decode()
    # the request form is a page of its own (it sets the CSRF cookie), linked from here
    assert reverse("privacy:request_new") in response.content.decode()
    page = client.get(reverse("privacy_version", args=["1"]))
    assert page.status_code == 200 and not page.cookies


@time_machine.travel(datetime.datetime(2026, 12, 2, 9, 0, tzinfo=datetime.UTC))
def test_a_version_page_shows_its_body_summary_and_dates(client, versions):
    html = client.get(reverse("privacy_version", args=["1"])).content.decode()
    assert "Was in effect from 18 July 2022 to 28 February 2026" in html
    assert "Who we are" in html
    html = client.get(reverse("privacy_version", args=["2"])).content.decode()
    assert "In effect since 1 March 2026, until 31 December 2026." in html
    html = client.get(reverse("privacy_version", args=["3"])).content.decode()
    assert "Takes effect on 1 January 2027." in html and "Support access changes." in html


@pytest.mark.parametrize("label", ["4", "nope", "2-draft"])
def test_a_draft_or_an_unknown_label_is_a_404(client, versions, label):
    assert client.get(f"/privacy/versions/{label}/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/privacy/versions/../", "/privacy/versions/-1/", "/privacy/versions/a%20b/"]
)
def test_a_label_that_is_not_slug_like_is_a_404_before_any_query(
    client, path, django_assert_num_queries
):
    notices.notices_current()  # the banner's cache, warm as on a live site
    with django_assert_num_queries(0):
        assert client.get(path).status_code == 404


@pytest.mark.django_db
def test_a_hostile_body_is_rendered_harmless_on_the_public_page(client):
    published(
        "x1",
        datetime.date(2022, 7, 19),
        body="<script>alert(1)</script>\n\n[x](javascript:alert(1))\n\n<img src=x onerror=alert(1)>",
    )
    html = client.get(reverse("privacy_version", args=["x1"])).content.decode()
    assert "<script>alert(1)" not in html and "onerror=alert(1)>" not in html
    assert 'href="javascript:' not in html
