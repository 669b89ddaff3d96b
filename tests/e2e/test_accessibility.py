"""The accessibility checker (axe-core, tests/e2e/axe.py) on the pages the crawl does not
reach: the sign-in and sign-up forms, the invitation, and the restricted area's main pages as
the member and the client admin who open them, on a phone and on a desktop. A violation of
serious or critical impact fails, listed with its rule, its elements and its help page; so
does a page wider than the screen.

The public area itself is checked page by page by the crawl (test_crawl.py).
"""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts import services as account_services
from devices.models import Device
from prospects import services as prospect_services
from tests.devices.rows import make_device
from tests.factories import (
    PASSWORD,
    AdminFactory,
    BlogPostFactory,
    ClientFactory,
    InvitationFactory,
    ProspectFactory,
    UserFactory,
)
from website.models import ForumCategory, ForumPost, ForumTopic

from . import axe

pytestmark = pytest.mark.e2e

WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture
def acme(transactional_db):
    """Acme with Alice (admin), Bob (member), a prospect of Bob's with a planned visit, a
    pending invitation and Bob's phone."""
    acme = ClientFactory(name="Acme")
    alice = AdminFactory(client=acme, email="alice@acme.example", full_name="Alice Admin")
    bob = UserFactory(client=acme, email="bob@acme.example", full_name="Bob Member")
    prospect = ProspectFactory(
        client=acme, name="Sunrise Traders", email="buyer@sunrise.example", owner=bob
    )
    visit = prospect_services.visit_plan(
        prospect=prospect, actor=bob, user=bob, scheduled_at=timezone.now() + timedelta(days=1)
    )
    invitation = InvitationFactory(client=acme, invited_by=alice, email="new@acme.example")
    device = make_device(bob, 1, device_model="Galaxy A54")
    post = BlogPostFactory(title="A week of visits", slug="a-week-of-visits")
    category = ForumCategory.objects.create(name="Field tips", slug="field-tips")
    topic = ForumTopic.objects.create(
        category=category,
        title="Best time to visit shops",
        slug="best-time-to-visit-shops",
        author=alice,
        last_posted_at=timezone.now(),
    )
    ForumPost.objects.create(topic=topic, author=alice, body="Mornings?", is_first=True)
    return {
        "post": post,
        "topic": topic,
        "alice": alice,
        "bob": bob,
        "prospect": prospect,
        "visit": visit,
        "invitation": invitation,
        "device": device,
    }


def sign_in(page, user) -> None:
    page.goto(reverse("account_login"))
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("dashboard")) + "$"))


def check(page, pages: dict[str, str], width: str) -> dict[str, str]:
    """Open each page at `width`; the violations found, by page name."""
    page.set_viewport_size(WIDTHS[width])
    problems = {}
    for name, url in pages.items():
        response = page.goto(url)
        assert response.status == 200, f"{name}: {url} answered {response.status}"
        found = axe.violations(page)
        where = f"{name} ({url}) at {width} width"
        if found:
            problems[where] = axe.describe(found)
        # and, as everywhere, the page fits its width (a hidden label once widened a table)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > WIDTHS[width]["width"]:
            problems[f"{where}, sideways"] = f"the page is {scroll_width} px wide"
    return problems


def report(problems: dict[str, str]) -> str:
    return "\n".join(f"{where}:\n{what}" for where, what in problems.items())


@pytest.mark.parametrize("width", WIDTHS)
def test_the_forms_outside_the_crawl_are_accessible(page, acme, width):
    token = account_services.invitation_token(acme["invitation"])
    problems = check(
        page,
        {
            "sign-in": reverse("account_login"),
            "sign-up": reverse("account_signup"),
            "password reset": reverse("account_reset_password"),
            "invitation": reverse("invitation_accept", args=[token]),
        },
        width,
    )
    assert not problems, report(problems)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_members_pages_are_accessible(page, acme, width):
    sign_in(page, acme["bob"])
    prospect, visit = acme["prospect"].public_id, acme["visit"].public_id
    problems = check(
        page,
        {
            "dashboard": reverse("dashboard"),
            "prospects": reverse("prospects:list"),
            "new prospect": reverse("prospects:create"),
            "prospect": reverse("prospects:detail", args=[prospect]),
            "edit prospect": reverse("prospects:edit", args=[prospect]),
            "visit": reverse("prospects:visit", args=[visit]),
            "documents": reverse("prospects:library"),
            "account": reverse("account_settings"),
            "email preferences": reverse("privacy:email_preferences"),
            "my privacy": reverse("privacy:account_privacy"),
            "refer a friend": reverse("referral_page"),
            "blog post, with the comment form": reverse("blog_post", args=[acme["post"].slug]),
            "forum thread, with the reply form": acme["topic"].get_absolute_url(),
            "new forum topic": reverse("forum_topic_new", args=["field-tips"]),
        },
        width,
    )
    assert not problems, report(problems)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_client_admins_pages_are_accessible(page, acme, width):
    sign_in(page, acme["alice"])
    assert acme["device"].status == Device.Status.ACTIVE
    problems = check(
        page,
        {
            "users": reverse("admin_tasks:users"),
            "invite": reverse("admin_tasks:invite"),
            "audit log": reverse("admin_tasks:audit_log"),
            "devices": reverse("devices:list"),
            "revoke a device": reverse("devices:revoke", args=[acme["device"].public_id]),
            "privacy requests": reverse("privacy:client_requests"),
            "prospect fields": reverse("prospects:custom_fields"),
            "visit checklists": reverse("prospects:checklists"),
            "import": reverse("prospects:import_new"),
            "usage": reverse("admin_tasks:usage"),
            "billing": reverse("admin_tasks:billing"),
        },
        width,
    )
    assert not problems, report(problems)


def test_the_checker_finds_a_field_without_a_label_and_says_where(page, live_server):
    """The checker itself: a page with an unlabelled field fails, naming the rule, the
    element and the help page."""
    page.goto(reverse("home"))
    page.evaluate(
        """() => {
          const input = document.createElement("input");
          input.id = "no-label-here";
          document.querySelector("main").append(input);
        }"""
    )
    found = axe.violations(page)
    assert [v["id"] for v in found] == ["label"]
    described = axe.describe(found)
    assert "label (critical)" in described and "#no-label-here" in described
    assert "dequeuniversity.com/rules/axe/" in described
