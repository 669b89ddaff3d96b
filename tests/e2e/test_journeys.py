"""The product's main journeys, each a real person clicking through in Chromium.

Mail: the live server's requests record an OutboundMessage and deliver it when their
transaction commits (tasks run eagerly in the tests), before the response goes back; so the
message is in Django's test outbox (`mailoutbox`) once the page that sent it has loaded. Its
links carry SITE_URL's host: the journey opens their path on the live server.

No sleeps: Playwright waits for the page, expect() for what it shows.
"""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from devices.models import Device
from privacy.models import NewsletterSubscriber, PrivacyRequest
from prospects.models import Prospect, Visit
from tests.devices.rows import make_device
from tests.factories import (
    PASSWORD,
    AdminFactory,
    BlogPostFactory,
    ClientFactory,
    StaffFactory,
    UserFactory,
)
from website.models import BlogComment, ForumCategory, ForumPost, ForumTopic

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a sturdy pass phrase 42"
PASSWORD_LABEL = re.compile(r"^Password:?$")  # not "Password (again)"


# --- helpers -----------------------------------------------------------------------------


def mail_to(outbox, address: str, subject_words: str):
    """The one message to `address` whose subject holds `subject_words`."""
    found = [m for m in outbox if address in m.to and subject_words.lower() in m.subject.lower()]
    assert len(found) == 1, [(m.to, m.subject) for m in outbox]
    return found[0]


def link_in(message, path_start: str) -> str:
    """The path (and query) of the message's link that starts with `path_start`."""
    for url in re.findall(r"https?://[^\s<>\"]+", message.body):
        parts = urlsplit(url)
        if parts.path.startswith(path_start):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    raise AssertionError(f"no {path_start} link in {message.body!r}")


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto(reverse("account_login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page) -> None:
    page.locator(".topbar nav").get_by_role("button", name="Sign out").click()
    expect(page.locator(".topbar nav").get_by_role("link", name="Sign in")).to_be_visible()


def expect_path(page, path: str) -> None:
    expect(page).to_have_url(re.compile(re.escape(path) + r"(\?.*)?$"))


def totp_code(secret: str) -> str:
    """What the staff member's authenticator app shows now."""
    counter = int(timezone.now().timestamp()) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


# --- a. a new company signs up and invites a member ---------------------------------------


def test_a_new_company_signs_up_verifies_its_email_and_invites_a_member_who_signs_in(
    page, browser_errors, mailoutbox, transactional_db
):
    # The age gate and the sign-up form.
    page.goto(reverse("home"))
    page.get_by_role("link", name="Start a client account").first.click()
    expect_path(page, reverse("account_signup"))
    page.get_by_label("Company name").fill("Northwind Traders")
    page.get_by_label("Your full name").fill("Nora North")
    page.get_by_label("Email").fill("nora@northwind.example")
    # A date of birth under 16 is refused, with the reason, and creates nothing.
    ten_years_ago = timezone.localdate() - timedelta(days=365 * 10)
    page.get_by_label("Date of birth").fill(ten_years_ago.isoformat())
    page.get_by_label(PASSWORD_LABEL).fill(NEW_PASSWORD)
    page.get_by_label("Password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.locator("main")).to_contain_text("at least 16 years old")
    assert not User.objects.filter(email="nora@northwind.example").exists()
    thirty_years_ago = timezone.localdate() - timedelta(days=365 * 30 + 8)
    page.get_by_label("Date of birth").fill(thirty_years_ago.isoformat())
    page.get_by_label(PASSWORD_LABEL).fill(NEW_PASSWORD)
    page.get_by_label("Password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.locator("h1")).to_contain_text("Verify")

    # The verification mail, its link, the confirmation.
    verify = mail_to(mailoutbox, "nora@northwind.example", "confirm")
    page.goto(link_in(verify, "/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()
    # Confirmed in the browser that signed up: Nora is signed in, on her dashboard.
    expect_path(page, reverse("dashboard"))
    nora = User.objects.get(email="nora@northwind.example")
    assert nora.emailaddress_set.get().verified and nora.is_client_admin
    assert nora.client.name == "Northwind Traders"

    # She invites Max from Admin tasks.
    page.locator(".topbar nav").get_by_role("link", name="Admin tasks").click()
    expect(page.locator("h1")).to_have_text("Users of Northwind Traders")
    page.get_by_label("Email address").fill("max@northwind.example")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("region", name="Pending invitations")).to_contain_text(
        "max@northwind.example"
    )
    sign_out(page)

    # Max accepts from the invitation mail, sets a password, and signs in.
    invitation = mail_to(mailoutbox, "max@northwind.example", "invit")
    page.goto(link_in(invitation, "/invitation/"))
    expect(page.locator("h1")).to_have_text("Join Northwind Traders on OpsX")
    page.get_by_label("Your full name").fill("Max Member")
    page.get_by_label("Date of birth").fill(thirty_years_ago.isoformat())
    page.get_by_label(PASSWORD_LABEL).fill(NEW_PASSWORD)
    page.get_by_label("Password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect_path(page, reverse("dashboard"))  # accepting signs him in
    max_ = User.objects.get(email="max@northwind.example")
    assert max_.client == nora.client and max_.role == User.Role.MEMBER and max_.is_active
    # and he signs in again with the password he chose.
    sign_out(page)
    sign_in(page, "max@northwind.example", NEW_PASSWORD)
    expect_path(page, reverse("dashboard"))
    expect(page.locator(".topbar nav").get_by_role("link", name="Admin tasks")).to_have_count(0)
    assert not browser_errors, browser_errors


# --- b. a member's visit -------------------------------------------------------------------


def test_a_member_adds_a_prospect_plans_a_visit_checks_in_and_writes_the_report(
    page, browser_errors, transactional_db
):
    acme = ClientFactory(name="Acme")
    UserFactory(client=acme, email="bob@acme.example", full_name="Bob Member")
    sign_in(page, "bob@acme.example")
    expect_path(page, reverse("dashboard"))

    page.locator(".topbar nav").get_by_role("link", name="Prospects").click()
    page.get_by_role("link", name="Add a prospect").first.click()
    page.get_by_label("Name").fill("Sunrise Traders")
    page.get_by_label("Organisation").fill("Sunrise Traders Pvt Ltd")
    page.get_by_label("Email").fill("buyer@sunrise.example")
    page.get_by_label("City").fill("Pune")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_contain_text("Sunrise Traders")
    prospect = Prospect.objects.get(client=acme)
    assert (prospect.organisation, prospect.email, prospect.city) == (
        "Sunrise Traders Pvt Ltd",
        "buyer@sunrise.example",
        "Pune",
    )

    # Plan a visit for tomorrow, at ten.
    tomorrow = timezone.localdate() + timedelta(days=1)
    page.get_by_label("Who visits").select_option(label="Bob Member")
    page.get_by_label("When").fill(f"{tomorrow.isoformat()}T10:00")
    page.get_by_role("button", name="Plan visit").click()
    expect(page.get_by_role("status")).to_contain_text("Visit planned.")
    expect(page.locator("h1")).to_have_text("Visit to Sunrise Traders")
    expect(page.locator("main")).to_contain_text(f"{tomorrow.isoformat()} 10:00")

    # Check in, then check out with the report.
    page.get_by_role("button", name="Check in now").click()
    expect(page.get_by_role("status")).to_contain_text("Checked in.")
    page.get_by_label("Outcome").select_option(index=1)
    page.get_by_label("Report").fill("Met the buyer; they want a quote for 40 units.")
    page.get_by_role("button", name="Check out and save report").click()
    expect(page.locator(".card", has_text="Report")).to_contain_text("a quote for 40 units")

    visit = Visit.objects.get(prospect=prospect)
    assert visit.status == Visit.Status.DONE and visit.checked_in_at and visit.checked_out_at
    assert visit.report == "Met the buyer; they want a quote for 40 units." and visit.outcome
    assert timezone.localtime(visit.scheduled_at).date() == tomorrow
    assert not browser_errors, browser_errors


# --- c. a client admin deactivates a user and revokes the device --------------------------


def test_a_client_admin_revokes_a_users_device_and_deactivates_the_user(
    page, browser_errors, transactional_db
):
    acme = ClientFactory(name="Acme")
    AdminFactory(client=acme, email="alice@acme.example", full_name="Alice Admin")
    bob = UserFactory(client=acme, email="bob@acme.example", full_name="Bob Member")
    device = make_device(bob, 1, device_model="Galaxy A54")
    sign_in(page, "alice@acme.example")
    expect_path(page, reverse("dashboard"))

    page.locator(".topbar nav").get_by_role("link", name="Admin tasks").click()
    page.get_by_role("link", name="devices").click()
    row = page.locator("tr", has_text="Galaxy A54")
    row.get_by_role("link", name="Revoke…").click()
    expect(page.locator("h1")).to_have_text("Revoke Bob Member's device")
    page.get_by_label("Reason").fill("Bob lost this phone on a visit.")
    page.get_by_role("button", name="Revoke this device").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Bob Member's Android Galaxy A54 is revoked: it was signed out"
    )
    page.get_by_label("Status").select_option(label="Revoked")
    page.get_by_role("button", name=re.compile("Show|Filter|Search")).click()
    expect(page.locator("tr", has_text="Galaxy A54")).to_contain_text("Revoked")
    device.refresh_from_db()
    assert device.status == Device.Status.REVOKED

    page.locator(".topbar nav").get_by_role("link", name="Admin tasks").click()
    users = page.get_by_role("region", name="Users", exact=True)
    users.locator("tr", has_text="bob@acme.example").get_by_role(
        "button", name="Deactivate"
    ).click()
    expect(
        page.get_by_role("region", name="Users", exact=True).locator("tr", has_text="bob@acme")
    ).to_contain_text("Deactivated")
    bob.refresh_from_db()
    assert not bob.is_active
    sign_out(page)

    # Bob can no longer sign in.
    sign_in(page, "bob@acme.example")
    expect(page).not_to_have_url(re.compile(re.escape(reverse("dashboard")) + "$"))
    page.goto(reverse("dashboard"))
    expect(page).to_have_url(re.compile(re.escape(reverse("account_login"))))
    assert not browser_errors, browser_errors


# --- d. a privacy request, answered by staff in Django admin ------------------------------


def test_a_visitor_files_a_privacy_request_confirms_it_and_staff_answer_it_in_admin(
    page, browser_errors, mailoutbox, transactional_db
):
    secret = generate_totp_secret()
    sam = StaffFactory(email="sam@hexcm.example", full_name="Sam Support")
    TOTP.activate(sam, secret)

    page.goto(reverse("home"))
    page.get_by_role("link", name="Privacy requests").click()
    page.get_by_label("Your name").fill("Vera Visitor")
    page.get_by_label("Your email address").fill("vera@visitor.example")
    page.get_by_label("What is your request about?").select_option(PrivacyRequest.Kind.ACCESS)
    page.get_by_label("Details").fill("Please send me a copy of what you hold about me.")
    page.get_by_role("button", name="Send the request").click()
    expect(page.locator("h1")).to_contain_text("Check your inbox")

    confirm = mail_to(mailoutbox, "vera@visitor.example", "confirm")
    status_path = link_in(confirm, "/privacy/requests/")
    page.goto(status_path)
    page.get_by_role("button", name=re.compile("Confirm")).click()
    request = PrivacyRequest.objects.get(requester_email="vera@visitor.example")
    assert request.status == PrivacyRequest.Status.RECEIVED
    expect(page.locator("main")).to_contain_text("Withdraw the request")

    # Sam signs in with the password and the authenticator's code, and completes it.
    sign_in(page, "sam@hexcm.example")
    expect(page.locator("h1")).to_have_text("Two-Factor Authentication")
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign in").click()
    # Staff land in Django admin (they belong to no client: the dashboard would refuse them).
    expect_path(page, reverse("admin:index"))
    page.get_by_role("link", name="Privacy requests").click()
    page.locator("#result_list tr", has_text="vera@visitor.example").get_by_role("link").click()
    expect(page.locator("#content")).to_contain_text("Please send me a copy of what you hold")
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator(".messagelist")).to_contain_text("Assign to me: done.")
    page.get_by_role("button", name="Mark in progress").click()
    expect(page.locator(".messagelist")).to_contain_text("Mark in progress: done.")
    outcome = "We emailed you the archive of everything we hold about you."
    done_form = page.locator("form", has=page.get_by_role("button", name="Mark done"))
    done_form.get_by_role("textbox").fill(outcome)
    done_form.get_by_role("button", name="Mark done").click()
    expect(page.locator(".messagelist")).to_contain_text("Mark done: done.")
    request.refresh_from_db()
    assert request.status == PrivacyRequest.Status.DONE
    page.locator("#user-tools").get_by_role("button", name="Log out").click()
    expect(page.locator("h1")).to_have_text("Logged out")

    # Vera reads the answer in her mail and on the request's page.
    done = mail_to(mailoutbox, "vera@visitor.example", "is done")
    assert outcome in done.body
    page.goto(link_in(done, "/privacy/requests/"))
    expect(page.locator("main")).to_contain_text(outcome)
    assert not browser_errors, browser_errors


# --- e. a visitor of the public area -------------------------------------------------------


def subscribe_to_the_newsletter(page, mailoutbox) -> None:
    """From the footer to /newsletter/, the form, then the link in the confirmation mail."""
    page.goto(reverse("home"))
    page.locator("footer").get_by_role("link", name="Newsletter").click()
    expect_path(page, reverse("privacy:newsletter"))
    page.get_by_label("Your name").fill("Vera Visitor")
    page.get_by_label("Your email address").fill("vera@visitor.example")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator("main")).to_contain_text("Check your inbox")
    subscriber = NewsletterSubscriber.objects.get(email="vera@visitor.example")
    assert subscriber.status == NewsletterSubscriber.Status.PENDING

    confirm = mail_to(mailoutbox, "vera@visitor.example", "confirm")
    page.goto(link_in(confirm, "/newsletter/confirm/"))
    page.get_by_role("button", name="Yes, subscribe me").click()
    expect(page.locator("h1")).to_have_text("You are subscribed")
    subscriber.refresh_from_db()
    assert subscriber.status == NewsletterSubscriber.Status.CONFIRMED


def read_a_blog_post(page, mailoutbox) -> None:
    """From the navigation to /blog/, then a post with its comments; no comment form for a
    visitor, a link to sign in instead."""
    post = BlogPostFactory(
        title="Planning a week of visits",
        slug="planning-a-week-of-visits",
        body="## Monday first\n\nPlan the **far** visits early.",
    )
    reader = UserFactory(full_name="Paula Poster")
    BlogComment.objects.create(post=post, author=reader, body="Mondays work for us too.")
    page.goto(reverse("home"))
    page.locator("header").get_by_role("link", name="Blog").click()
    expect_path(page, reverse("blog"))
    page.get_by_role("link", name="Planning a week of visits").click()
    expect_path(page, reverse("blog_post", args=[post.slug]))
    expect(page.locator("h1")).to_have_text("Planning a week of visits")
    expect(page.locator("main strong").first).to_have_text("far")
    expect(page.locator("main")).to_contain_text("Mondays work for us too.")
    expect(page.locator("main")).to_contain_text("Paula P.")
    expect(page.get_by_role("link", name="Sign in to comment")).to_be_visible()
    assert page.locator("main textarea").count() == 0


def read_a_forum_thread(page, mailoutbox) -> None:
    """From the navigation to /forum/, a category, then a thread and its replies."""
    author = UserFactory(full_name="Rahul Rao")
    category = ForumCategory.objects.create(name="Field tips", slug="field-tips")
    topic = ForumTopic.objects.create(
        category=category,
        title="Best time to visit shops",
        slug="best-time-to-visit-shops",
        author=author,
        last_posted_at=timezone.now(),
        reply_count=1,
    )
    ForumPost.objects.create(topic=topic, author=author, body="Mornings?", is_first=True)
    ForumPost.objects.create(topic=topic, author=author, body="After *ten*, before lunch.")
    page.goto(reverse("home"))
    page.locator("header").get_by_role("link", name="Forum").click()
    expect_path(page, reverse("forum"))
    page.get_by_role("link", name="Field tips").click()
    expect_path(page, category.get_absolute_url())
    page.get_by_role("link", name="Best time to visit shops").click()
    expect_path(page, topic.get_absolute_url())
    expect(page.locator("h1")).to_have_text("Best time to visit shops")
    expect(page.locator("main")).to_contain_text("After ten, before lunch.")
    expect(page.locator("main em")).to_have_text("ten")
    expect(page.get_by_role("link", name="Sign in to post")).to_be_visible()


# What a visitor does, in order: each step is `step(page, mailoutbox)`.
VISITOR_STEPS = [read_a_blog_post, read_a_forum_thread, subscribe_to_the_newsletter]


def visitor_journey(page, mailoutbox) -> None:
    for step in VISITOR_STEPS:
        step(page, mailoutbox)


def test_a_visitor_reads_the_blog_and_the_forum_and_subscribes_to_the_newsletter(
    page, browser_errors, mailoutbox, transactional_db
):
    visitor_journey(page, mailoutbox)
    # Where the journey ended: the blog and the forum read, a confirmed subscriber, no error.
    subscriber = NewsletterSubscriber.objects.get(email="vera@visitor.example")
    assert subscriber.status == NewsletterSubscriber.Status.CONFIRMED
    assert [step.__name__ for step in VISITOR_STEPS] == [
        "read_a_blog_post",
        "read_a_forum_thread",
        "subscribe_to_the_newsletter",
    ]
    assert not browser_errors, browser_errors
