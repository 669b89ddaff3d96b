"""The newsletter: public sign-up with double opt-in, expiry of unconfirmed sign-ups, the
one-click unsubscribe, and an issue written in admin and sent through a batch over real SMTP
to confirmed subscribers only, each with their own link."""

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clients.models import AuditEvent
from opsx import mail, signed_links, suppression
from opsx.models import OutboundMessage, Suppression
from privacy import newsletter
from privacy.models import NewsletterIssue, NewsletterSubscriber
from privacy.tasks import newsletter_issues_finish, newsletter_pending_expire
from tests.conftest import body_of

pytestmark = pytest.mark.django_db

Status = NewsletterSubscriber.Status
SUBSCRIBE = reverse("privacy:newsletter")


def _sign_up(client, capture, email="reader@example.com", name="Rita Reader", **extra):
    with capture(execute=True):
        return client.post(SUBSCRIBE, {"name": name, "email": email}, **extra)


def _link(message, path_start: str) -> str:
    """The path of the first link in `message` (a Django EmailMessage) under path_start."""
    match = re.search(r"https?://\S+", message.body)
    assert match, message.body
    path = urlsplit(match.group(0)).path
    assert path.startswith(path_start), path
    return path


def _confirmed(email: str, name: str = "") -> NewsletterSubscriber:
    return NewsletterSubscriber.objects.create(
        email=email,
        name=name,
        status=Status.CONFIRMED,
        source=NewsletterSubscriber.Source.PUBLIC_FORM,
        consented_at=timezone.now(),
        consent_text=newsletter.CONSENT_TEXT,
    )


def _made_days_ago(days: int, make):
    """Call `make()` as if it were `days` days ago (signed links carry their time)."""
    old = int(time.time()) - days * 86400
    original = signing.TimestampSigner.timestamp
    signing.TimestampSigner.timestamp = lambda self: signing.b62_encode(old)
    try:
        return make()
    finally:
        signing.TimestampSigner.timestamp = original


# --- signing up and confirming ------------------------------------------------------------


def test_the_sign_up_page_opens_for_a_visitor_and_the_site_links_to_it(client):
    page = client.get(SUBSCRIBE)
    assert page.status_code == 200
    assert newsletter.CONSENT_TEXT in page.content.decode()  # the wording recorded on sign-up
    assert f'href="{SUBSCRIBE}"' in client.get(reverse("home")).content.decode()


def test_sign_up_mails_a_link_and_confirming_records_the_consent(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    response = _sign_up(client, django_capture_on_commit_callbacks, email=" Reader@Example.COM ")
    assert response.status_code == 302 and response["Location"] == reverse(
        "privacy:newsletter_sent"
    )
    subscriber = NewsletterSubscriber.objects.get()
    assert (subscriber.email, subscriber.name, subscriber.status) == (
        "reader@example.com",
        "Rita Reader",
        Status.PENDING,
    )
    assert subscriber.source == NewsletterSubscriber.Source.PUBLIC_FORM
    assert subscriber.consent_text == newsletter.CONSENT_TEXT and subscriber.consented_at is None
    [message] = mailoutbox
    assert message.to == ["reader@example.com"]
    assert "List-Unsubscribe" not in message.extra_headers  # an account mail: asked for
    outbound = OutboundMessage.objects.get(to_email="reader@example.com")
    assert outbound.category == OutboundMessage.Category.ACCOUNT
    link = _link(message, "/newsletter/confirm/")
    assert client.get(reverse("privacy:newsletter_sent")).status_code == 200

    page = client.get(link)  # a mail scanner's GET confirms nothing
    assert page.status_code == 200 and "Yes, subscribe me" in page.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Status.PENDING

    page = client.post(link)
    assert page.status_code == 200 and "You are subscribed" in page.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Status.CONFIRMED
    assert timezone.now() - subscriber.consented_at < timedelta(minutes=1)
    assert newsletter.may_send("READER@example.com")
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.NEWSLETTER_CONFIRMED, target_id=subscriber.public_id
    ).exists()


def test_confirming_twice_is_harmless(client, mailoutbox, django_capture_on_commit_callbacks):
    _sign_up(client, django_capture_on_commit_callbacks)
    link = _link(mailoutbox[0], "/newsletter/confirm/")
    client.post(link)
    first = NewsletterSubscriber.objects.get().consented_at
    again = client.post(link)
    assert again.status_code == 200 and "Already confirmed" in again.content.decode()
    assert "Already confirmed" in client.get(link).content.decode()
    assert NewsletterSubscriber.objects.get().consented_at == first  # the first consent stays
    assert AuditEvent.objects.filter(action=AuditEvent.Action.NEWSLETTER_CONFIRMED).count() == 1


def test_tampered_expired_and_outlived_confirmation_links_get_a_clear_page(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    _sign_up(client, django_capture_on_commit_callbacks)
    subscriber = NewsletterSubscriber.objects.get()
    token = newsletter.confirm_token(subscriber)
    for bad in (token[:-3] + "abc", "x" * 2000, "garbage", signed_links.make("other", "x")):
        url = reverse("privacy:newsletter_confirm", args=[bad])
        assert client.get(url).status_code == 400
        page = client.post(url)
        assert page.status_code == 400 and "not valid" in page.content.decode()
    # Signed, but with a value we never sign: refused the same.
    odd = signed_links.make(newsletter.CONFIRM_PURPOSE, {"id": "not-a-uuid", "email": 3})
    assert client.post(reverse("privacy:newsletter_confirm", args=[odd])).status_code == 400

    expired = _made_days_ago(8, lambda: newsletter.confirm_token(subscriber))
    page = client.post(reverse("privacy:newsletter_confirm", args=[expired]))
    assert page.status_code == 410 and "expired" in page.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Status.PENDING

    subscriber.delete()  # the sign-up expired and was deleted: its link is good for nothing
    page = client.post(reverse("privacy:newsletter_confirm", args=[token]))
    assert page.status_code == 410 and "Sign up again" in page.content.decode()
    assert not NewsletterSubscriber.objects.exists()


def test_unconfirmed_sign_ups_expire_and_are_deleted(settings):
    settings.NEWSLETTER_CONFIRM_DAYS = 7
    old = NewsletterSubscriber.objects.create(email="old@example.com", source="public_form")
    fresh = NewsletterSubscriber.objects.create(email="fresh@example.com", source="public_form")
    kept = _confirmed("loyal@example.com")
    eight_days_ago = timezone.now() - timedelta(days=8)
    NewsletterSubscriber.objects.filter(pk__in=[old.pk, kept.pk]).update(created_at=eight_days_ago)

    assert newsletter_pending_expire.delay().get() == 1

    assert set(NewsletterSubscriber.objects.values_list("email", flat=True)) == {
        "fresh@example.com",
        "loyal@example.com",
    }
    event = AuditEvent.objects.get(action=AuditEvent.Action.NEWSLETTER_PENDING_EXPIRED)
    assert event.counts == {"subscribers": 1}
    assert fresh.pk


def test_signing_up_again_refreshes_a_pending_sign_up_and_its_expiry(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    _sign_up(client, django_capture_on_commit_callbacks, name="First")
    NewsletterSubscriber.objects.update(created_at=timezone.now() - timedelta(days=6))
    _sign_up(client, django_capture_on_commit_callbacks, name="Second")
    subscriber = NewsletterSubscriber.objects.get()
    assert subscriber.name == "Second"
    assert timezone.now() - subscriber.created_at < timedelta(minutes=1)
    assert len(mailoutbox) == 2


# --- what the form tells, and who it can mail ----------------------------------------------


def test_the_answer_is_the_same_whatever_the_address(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    _confirmed("member@example.com")
    NewsletterSubscriber.objects.create(email="waiting@example.com", source="public_form")
    suppression.suppress(
        "bounced@example.com",
        reason=Suppression.Reason.HARD_BOUNCE,
        scope=Suppression.Scope.ALL,
    )
    answers = set()
    for email in (
        "new@example.com",
        "waiting@example.com",
        "member@example.com",
        "bounced@example.com",
    ):
        response = _sign_up(client, django_capture_on_commit_callbacks, email=email)
        page = client.get(response["Location"])
        answers.add((response.status_code, response["Location"], page.content))
    assert len(answers) == 1
    # The confirmed and the suppressed address are not mailed; the others get their link.
    assert sorted(m.to[0] for m in mailoutbox) == ["new@example.com", "waiting@example.com"]
    assert NewsletterSubscriber.objects.get(email="member@example.com").status == Status.CONFIRMED


def test_a_suppressed_address_is_not_mailed_its_link(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    suppression.suppress(
        "bounced@example.com", reason=Suppression.Reason.COMPLAINT, scope=Suppression.Scope.ALL
    )
    response = _sign_up(client, django_capture_on_commit_callbacks, email="bounced@example.com")
    assert response.status_code == 302
    assert mailoutbox == [] and not OutboundMessage.objects.exists()
    assert not NewsletterSubscriber.objects.exists()


def test_sign_ups_are_limited_per_network(
    client, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.NEWSLETTER_SIGNUPS_PER_IP_PER_HOUR = 2
    for i in range(2):
        assert _sign_up(client, django_capture_on_commit_callbacks, email=f"r{i}@x.example")
    refused = _sign_up(client, django_capture_on_commit_callbacks, email="r3@x.example")
    assert refused.status_code == 429
    assert "Nothing was sent" in refused.content.decode()
    assert not NewsletterSubscriber.objects.filter(email="r3@x.example").exists()
    other = _sign_up(
        client, django_capture_on_commit_callbacks, email="r4@x.example", REMOTE_ADDR="10.9.9.9"
    )
    assert other.status_code == 302
    assert len(mailoutbox) == 3


def test_one_address_gets_few_confirmation_mails_however_often_it_is_typed(
    client, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.NEWSLETTER_SIGNUPS_PER_IP_PER_HOUR = 0  # many networks, one victim
    settings.NEWSLETTER_CONFIRMATIONS_PER_ADDRESS_PER_DAY = 2
    answers = {
        _sign_up(client, django_capture_on_commit_callbacks, email="victim@example.com")["Location"]
        for _ in range(5)
    }
    assert answers == {reverse("privacy:newsletter_sent")}  # the same answer, silently
    assert len(mailoutbox) == 2


@pytest.mark.parametrize(
    "email",
    [
        "not-an-address",
        "a@b",
        "reader@example.com\r\nBcc: victim@example.com",
        "reader@example.com, other@example.com",
        "<reader@example.com>",
        ("x" * 250) + "@example.com",
        "",
    ],
)
def test_malformed_addresses_are_refused_with_a_clear_error(
    client, email, mailoutbox, django_capture_on_commit_callbacks
):
    page = _sign_up(client, django_capture_on_commit_callbacks, email=email)
    assert page.status_code == 400
    assert 'class="errorlist"' in page.content.decode()
    assert not NewsletterSubscriber.objects.exists() and mailoutbox == []


@pytest.mark.parametrize("name", ["a\r\nBcc: x@evil.example", "Tab\there", "x" * 151, "   "])
def test_names_with_line_breaks_or_too_long_are_refused(
    client, name, mailoutbox, django_capture_on_commit_callbacks
):
    page = _sign_up(client, django_capture_on_commit_callbacks, name=name)
    assert page.status_code == 400
    assert 'class="errorlist"' in page.content.decode()
    assert not NewsletterSubscriber.objects.exists() and mailoutbox == []


def test_the_service_neutralises_a_header_injection_in_the_name(
    smtp_server, django_capture_on_commit_callbacks
):
    """Whatever a caller passes, the name becomes one line and no header is added."""
    with django_capture_on_commit_callbacks(execute=True):
        newsletter.newsletter_subscribe(name="a\r\nBcc: x@evil.example", email="r@example.com")
    assert NewsletterSubscriber.objects.get().name == "a Bcc: x@evil.example"
    [received] = smtp_server.messages
    assert received["Bcc"] is None and received["To"] == "r@example.com"
    assert "Hello a Bcc: x@evil.example," in body_of(received)


# --- unsubscribing --------------------------------------------------------------------------


def _page(response) -> str:
    """The page without its CSRF token (masked anew on every page)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def test_the_unsubscribe_page_asks_first_and_never_says_who_was_subscribed(client):
    _confirmed("reader@example.com")
    known = urlsplit(newsletter.unsubscribe_url("reader@example.com")).path
    unknown = urlsplit(newsletter.unsubscribe_url("stranger@example.com")).path
    page = client.get(known)
    assert page.status_code == 200 and "Unsubscribe" in page.content.decode()
    assert NewsletterSubscriber.objects.exists()  # a GET (a mail scanner) changes nothing
    assert _page(client.get(unknown)) == _page(page).replace(known, unknown)
    done = client.post(known)
    assert done.status_code == 200 and "You are unsubscribed" in done.content.decode()
    assert not NewsletterSubscriber.objects.exists()
    assert _page(client.post(unknown)) == _page(done)
    assert _page(client.post(known)) == _page(done)  # twice: the same


def test_tampered_and_expired_unsubscribe_links_get_a_clear_page(client):
    _confirmed("reader@example.com")
    path = urlsplit(newsletter.unsubscribe_url("reader@example.com")).path
    token = path.rstrip("/").rsplit("/", 1)[1]
    tampered = reverse("privacy:newsletter_unsubscribe", args=[token[:-2] + "zz"])
    assert client.get(tampered).status_code == 400
    assert client.post(tampered).status_code == 400
    confirm_token = newsletter.confirm_token(NewsletterSubscriber.objects.get())
    wrong_purpose = reverse("privacy:newsletter_unsubscribe", args=[confirm_token])
    assert client.post(wrong_purpose).status_code == 400
    old = _made_days_ago(400, lambda: newsletter.unsubscribe_url("reader@example.com"))
    page = client.post(urlsplit(old).path)
    assert page.status_code == 410 and "too old" in page.content.decode()
    assert NewsletterSubscriber.objects.exists()


# --- issues ---------------------------------------------------------------------------------


def _issue(subject="Spring news", body="# Spring\n\nHello **readers**.\n\n<script>x()</script>"):
    return NewsletterIssue.objects.create(subject=subject, body=body)


def _send(issue, capture, actor=None):
    with capture(execute=True):
        return newsletter.send_issue(issue, actor)


def _header_link(message) -> str:
    """The URL of List-Unsubscribe (a long header arrives folded)."""
    return re.sub(r"\s", "", str(message["List-Unsubscribe"])).strip("<>")


def _html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_an_issue_reaches_confirmed_subscribers_only_each_with_their_own_link(
    smtp_server, sam, django_capture_on_commit_callbacks
):
    _confirmed("ann@example.com")
    _confirmed("ben@example.com")
    NewsletterSubscriber.objects.create(email="pending@example.com", source="public_form")
    issue = _send(_issue(), django_capture_on_commit_callbacks, actor=sam)

    by_to = {m["To"]: m for m in smtp_server.messages}
    assert set(by_to) == {"ann@example.com", "ben@example.com"}
    for address, message in by_to.items():
        link = _header_link(message)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert link.startswith("http") and "/mail/unsubscribe/newsletter/" in link
        token = urlsplit(link).path.rstrip("/").rsplit("/", 1)[1]
        assert newsletter.read_unsubscribe_token(token) == address  # their own link
        assert link in body_of(message) and f'href="{link}"' in _html(message)
        assert message["Subject"] == "Spring news"
        assert "<strong>readers</strong>" in _html(message)
        assert "<script>" not in _html(message)  # Markdown rendered safely
    issue.refresh_from_db()
    assert issue.status == NewsletterIssue.Status.SENDING and issue.recipients == 2
    assert newsletter.issue_progress(issue) == {
        "total": 2,
        "pending": 0,
        "sent": 2,
        "failed": 0,
        "suppressed": 0,
    }
    issue.refresh_from_db()
    assert issue.status == NewsletterIssue.Status.SENT  # nothing pending: done
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.NEWSLETTER_ISSUE_SENT, actor=sam, target_id=issue.public_id
    ).exists()


def test_one_click_unsubscribe_then_the_next_issue_skips_them(
    smtp_server, django_capture_on_commit_callbacks
):
    _confirmed("ann@example.com")
    _confirmed("ben@example.com")
    _send(_issue(), django_capture_on_commit_callbacks)
    ann = next(m for m in smtp_server.messages if m["To"] == "ann@example.com")
    link = _header_link(ann)

    # What a mail client sends (RFC 8058): a POST without a session or a CSRF token.
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(
        urlsplit(link).path,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert not NewsletterSubscriber.objects.filter(email="ann@example.com").exists()

    _send(_issue(subject="Summer news"), django_capture_on_commit_callbacks)
    summer = [m["To"] for m in smtp_server.messages if m["Subject"] == "Summer news"]
    assert summer == ["ben@example.com"]


def test_an_unsubscribe_after_the_issue_was_queued_stops_their_copy(
    smtp_server, django_capture_on_commit_callbacks
):
    _confirmed("ann@example.com")
    _confirmed("ben@example.com")
    with django_capture_on_commit_callbacks(execute=False):  # recorded, not sent yet
        issue = newsletter.send_issue(_issue(), None)
    newsletter.newsletter_unsubscribe(
        token=urlsplit(newsletter.unsubscribe_url("ben@example.com")).path.split("/")[-2]
    )
    sent = mail.deliver_batch(issue.batch_id).sent
    assert sent == 1
    assert [m["To"] for m in smtp_server.messages] == ["ann@example.com"]
    assert newsletter.issue_progress(issue)["suppressed"] == 1


def test_sending_twice_sends_once_and_a_cut_short_send_resumes_without_doubles(
    smtp_server, monkeypatch, django_capture_on_commit_callbacks
):
    for i in range(5):
        _confirmed(f"r{i}@example.com")
    issue = _issue()
    real = mail.batch_add_recipients

    def crash(batch, emails):
        raise ConnectionError("the worker died while recording")

    monkeypatch.setattr(mail, "batch_add_recipients", crash)
    with pytest.raises(ConnectionError), django_capture_on_commit_callbacks(execute=True):
        newsletter.send_issue(issue, None)
    issue.refresh_from_db()
    assert issue.status == NewsletterIssue.Status.SENDING and issue.batch_id is not None
    batch_id = issue.batch_id
    assert smtp_server.messages == []

    monkeypatch.setattr(mail, "batch_add_recipients", real)
    _send(issue, django_capture_on_commit_callbacks)  # resumed: same batch, everyone once
    _send(issue, django_capture_on_commit_callbacks)  # again: nothing more
    issue.refresh_from_db()
    assert issue.batch_id == batch_id and issue.recipients == 5
    assert sorted(m["To"] for m in smtp_server.messages) == [f"r{i}@example.com" for i in range(5)]
    assert OutboundMessage.objects.filter(batch_id=batch_id).count() == 5
    assert newsletter_issues_finish.delay().get() == 1
    issue.refresh_from_db()
    assert issue.status == NewsletterIssue.Status.SENT
    _send(issue, django_capture_on_commit_callbacks)
    assert len(smtp_server.messages) == 5


def test_a_sent_issue_cannot_be_changed(sam):
    issue = _issue()
    issue.status = NewsletterIssue.Status.SENT
    issue.save()
    issue.subject = "Changed"
    with pytest.raises(Exception, match="cannot be changed"):
        newsletter.issue_save(issue=issue, actor=sam)


# --- admin ---------------------------------------------------------------------------------


def test_staff_write_preview_test_and_send_an_issue_in_admin(
    client, sam, smtp_server, django_capture_on_commit_callbacks
):
    _confirmed("ann@example.com")
    client.force_login(sam)
    assert client.get(reverse("admin:privacy_newsletterissue_add")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:privacy_newsletterissue_add"),
            {"subject": "Autumn", "body": "Hello *all* <img src=x onerror=alert(1)>"},
        )
    assert response.status_code == 302
    issue = NewsletterIssue.objects.get()
    assert issue.created_by == sam and issue.status == NewsletterIssue.Status.DRAFT
    change = reverse("admin:privacy_newsletterissue_change", args=[issue.pk])
    page = client.get(change)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<em>all</em>" in html and "<img" not in html.split('class="policy-preview"')[1][:300]
    assert "Send to the subscribers" in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            change, {"subject": "Autumn", "body": "Hello *all*", "_send_test": "1"}
        )
    assert response.status_code == 302
    [test] = smtp_server.messages
    assert test["To"] == "sam@hexcm.example" and test["Subject"] == "[Test] Autumn"
    assert "/mail/unsubscribe/newsletter/" in body_of(test)
    issue.refresh_from_db()
    assert issue.status == NewsletterIssue.Status.DRAFT

    send = reverse("admin:privacy_newsletterissue_send", args=[issue.pk])
    page = client.get(send)
    assert page.status_code == 200 and "1 confirmed subscribers" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(send).status_code == 302
    assert [m["To"] for m in smtp_server.messages[1:]] == ["ann@example.com"]
    page = client.get(change)  # read-only now, with its progress
    assert page.status_code == 200
    assert "1 sent, 0 pending, 0 failed" in page.content.decode()
    issue.refresh_from_db()
    assert issue.status == NewsletterIssue.Status.SENT
    assert client.post(change, {"subject": "Changed", "body": "x"}).status_code == 403


def test_the_issue_list_costs_the_same_for_one_issue_and_fifty(
    client, sam, django_assert_max_num_queries
):
    client.force_login(sam)
    url = reverse("admin:privacy_newsletterissue_changelist")
    _issue()
    # session, user, MFA check, count, rows (with their author), and the filters' count
    with django_assert_max_num_queries(8) as one:
        assert client.get(url).status_code == 200
    NewsletterIssue.objects.bulk_create(
        [NewsletterIssue(subject=f"Issue {i}", body="x", created_by=sam) for i in range(49)]
    )
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(url)
    assert page.status_code == 200 and "Issue 48" in page.content.decode()


def test_staff_see_the_subscribers_read_only(client, sam, django_assert_max_num_queries):
    subscriber = _confirmed("ann@example.com", name="Ann")
    client.force_login(sam)
    url = reverse("admin:privacy_newslettersubscriber_changelist")
    with django_assert_max_num_queries(8):
        page = client.get(url)
    assert page.status_code == 200 and "ann@example.com" in page.content.decode()
    found = client.get(url, {"q": "ann@example.com"})
    assert found.status_code == 200 and "ann@example.com" in found.content.decode()
    detail = reverse("admin:privacy_newslettersubscriber_change", args=[subscriber.pk])
    page = client.get(detail)
    assert page.status_code == 200 and newsletter.CONSENT_TEXT in page.content.decode()
    assert client.post(detail, {"email": "x@example.com"}).status_code == 403
