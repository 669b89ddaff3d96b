"""Until a published material change takes effect, users see a banner about it on every page
(its Notice's banner, privacy.notices); it costs a page no query beyond the user's dismissals.

Moved with issue 19: the banner is the policy change's Notice, so the versions here are
published through policy_publish (which makes and sends it), anonymous visitors on the public
site now see it too (the policy promises an announcement on the website), and the cache holds
the current notices (notices.CURRENT_CACHE_KEY)."""

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from privacy import notices, policies
from privacy.models import PolicyVersion

BANNER = "A privacy policy change takes effect on 1 January 2027"
NOW = datetime.datetime(2026, 12, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def coming(db, sam):
    with time_machine.travel(NOW - datetime.timedelta(hours=1), tick=False):  # sent before NOW
        version = PolicyVersion.objects.create(
            label="3",
            effective_on=datetime.date(2027, 1, 1),
            body="## New",
            summary="New.",
            material=True,
        )
        return policies.policy_publish(version=version, actor=sam)


@time_machine.travel(NOW)
def test_signed_in_users_see_the_banner_on_their_pages_until_the_day(client, personas, coming):
    client.force_login(personas.bob)
    for name in ("dashboard", "prospects:list", "account_settings", "privacy"):
        html = client.get(reverse(name)).content.decode()
        assert BANNER in html, name
        assert '<a href="/privacy/versions/3/">read what changes</a>' in html
    with time_machine.travel(datetime.datetime(2027, 1, 1, 0, 1, tzinfo=datetime.UTC)):
        # the cached notice is still there, but its day has come
        assert "A privacy policy change" not in client.get(reverse("dashboard")).content.decode()


@time_machine.travel(NOW)
def test_anonymous_visitors_see_the_banner_on_the_public_site(client, coming):
    for name in ("home", "privacy", "account_login"):
        assert BANNER in client.get(reverse(name)).content.decode(), name


@time_machine.travel(NOW)
def test_no_banner_for_a_minor_change_a_draft_or_one_in_effect(client, personas):
    PolicyVersion.objects.create(
        label="2", effective_on=datetime.date(2027, 1, 1), body="x", published_at=timezone.now()
    )
    PolicyVersion.objects.create(
        label="2d", effective_on=datetime.date(2027, 2, 1), body="x", material=True
    )
    PolicyVersion.objects.create(
        label="2p",
        effective_on=datetime.date(2026, 12, 1),
        body="x",
        material=True,
        published_at=timezone.now(),
    )
    client.force_login(personas.alice)
    assert "A privacy policy change" not in client.get(reverse("dashboard")).content.decode()


@time_machine.travel(NOW)
def test_the_banner_is_read_from_the_cache_after_the_first_page(
    client, personas, coming, django_assert_num_queries
):
    client.force_login(personas.bob)
    client.get(reverse("dashboard"))
    (cached,) = cache.get(notices.CURRENT_CACHE_KEY)
    assert (cached.policy_label, cached.policy_effective_on) == ("3", datetime.date(2027, 1, 1))
    with django_assert_num_queries(0):
        assert notices.notices_current() == [cached]
    with django_assert_num_queries(1):  # Bob's dismissals
        assert notices.banners_for(personas.bob) == [cached]


def test_publishing_clears_the_cached_banner(
    client, personas, sam, django_capture_on_commit_callbacks
):
    client.force_login(personas.bob)
    client.get(reverse("dashboard"))  # caches "nothing current"
    assert cache.get(notices.CURRENT_CACHE_KEY) == []
    version = PolicyVersion.objects.create(
        label="9",
        effective_on=timezone.localdate() + datetime.timedelta(days=20),
        body="## Nine",
        summary="Nine.",
        material=True,
    )
    with django_capture_on_commit_callbacks(execute=True):
        policies.policy_publish(version=version, actor=sam)
    html = client.get(reverse("dashboard")).content.decode()
    assert f"A privacy policy change takes effect on {version.effective_on:%-d %B %Y}" in html
