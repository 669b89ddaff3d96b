"""Email preferences: a signed-in user turns service notices and the newsletter on or off (legal
and account mail are always sent); service mail is checked at send time and carries a signed
one-click unsubscribe link that works without a sign-in or a CSRF token."""

import datetime
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clients.models import AuditEvent
from opsx import mail, signed_links
from opsx.models import OutboundMessage
from privacy import preferences
from privacy.models import EmailPreference, NewsletterSubscriber

PAGE = reverse("privacy:email_preferences")


def service_mail(to):
    return mail.queue(
        to=to,
        template="notice",
        context={"title": "New feature", "body": "Reports now have photos."},
        category=OutboundMessage.Category.SERVICE,
    )


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def unsubscribe_link(user) -> str:
    return path_of(preferences.service_unsubscribe_url(user.email))


def checked(html: str, name: str) -> bool:
    box = re.search(rf'<input type="checkbox" name="{name}"[^>]*>', html)
    assert box, name
    return " checked" in box.group(0)


@pytest.fixture
def bob(client, personas):
    client.force_login(personas.bob)
    return personas.bob


# --- the page ---


def test_the_page_opens_with_the_defaults_and_says_what_is_always_sent(client, bob):
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert checked(html, "service_notices") and not checked(html, "newsletter")
    assert "Legal notices" in html
    assert "are always sent" in html
    assert "we do not send a confirmation mail first" in html
    assert preferences.NEWSLETTER_CONSENT_TEXT in html


def test_the_page_is_linked_from_the_account_pages(client, bob):
    for name in ("account_settings", "privacy:account_privacy"):
        assert f'href="{PAGE}"' in client.get(reverse(name)).content.decode(), name


def test_signed_out_visitors_and_staff_cannot_open_it(client, personas, sam):
    assert client.get(PAGE).status_code == 302
    client.force_login(sam)
    assert client.get(PAGE).status_code == 403


def test_choices_persist_and_are_audited(client, bob):
    response = client.post(PAGE, {"newsletter": "on"})  # service notices off, newsletter on
    assert response.status_code == 302
    assert EmailPreference.objects.get(user=bob).service_notices is False
    row = NewsletterSubscriber.objects.get(user=bob)
    assert row.email == bob.email and row.status == NewsletterSubscriber.Status.CONFIRMED
    assert row.source == NewsletterSubscriber.Source.PREFERENCES
    assert row.consent_text == preferences.NEWSLETTER_CONSENT_TEXT
    assert abs(row.consented_at - timezone.now()) < datetime.timedelta(minutes=1)
    event = AuditEvent.objects.get(action=AuditEvent.Action.EMAIL_PREFERENCES_CHANGED)
    assert event.actor == bob and event.client_id is None
    assert event.changes == {
        "service_notices": {"old": True, "new": False},
        "newsletter": {"old": False, "new": True},
    }
    html = client.get(PAGE).content.decode()
    assert checked(html, "newsletter") and not checked(html, "service_notices")
    # the same choices again: nothing changes, no event
    client.post(PAGE, {"newsletter": "on"})
    assert (
        AuditEvent.objects.filter(action=AuditEvent.Action.EMAIL_PREFERENCES_CHANGED).count() == 1
    )
    # both back: the subscription is deleted
    client.post(PAGE, {"service_notices": "on"})
    assert not NewsletterSubscriber.objects.filter(email=bob.email).exists()
    assert EmailPreference.objects.get(user=bob).service_notices is True
    assert (
        AuditEvent.objects.filter(action=AuditEvent.Action.EMAIL_PREFERENCES_CHANGED).count() == 2
    )


def test_a_pending_public_subscription_of_the_same_address_becomes_the_users(client, bob):
    NewsletterSubscriber.objects.create(
        email=bob.email, name="Bob", source=NewsletterSubscriber.Source.PUBLIC_FORM
    )
    client.post(PAGE, {"service_notices": "on", "newsletter": "on"})
    row = NewsletterSubscriber.objects.get(email=bob.email)
    assert row.user == bob and row.status == NewsletterSubscriber.Status.CONFIRMED


def test_hostile_input_is_harmless(client, bob):
    response = client.post(
        PAGE, {"service_notices": "a\r\nBcc: x@evil.example" * 1000, "newsletter": "false"}
    )
    assert response.status_code == 302
    assert EmailPreference.objects.get(user=bob).service_notices is True
    assert not NewsletterSubscriber.objects.exists()
    assert client.put(PAGE).status_code == 405


# --- the send-time check ---


def test_service_mail_queued_while_on_is_suppressed_if_turned_off_before_delivery(
    client, bob, personas
):
    message = service_mail(bob.email)
    other = service_mail(personas.dan.email)
    assert message.unsubscribe_url.startswith("http")  # built from the registered builder
    client.post(PAGE, {})  # Bob turns service notices off after it was queued
    assert mail.deliver(message.pk) is False
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.SUPPRESSED and message.body_text == ""
    assert mail.deliver(other.pk) is True  # Dan still gets his


def test_a_deactivated_user_gets_no_service_mail_but_still_legal_mail(personas):
    message = service_mail(personas.bob.email)
    legal = mail.queue(
        to=personas.bob.email,
        template="notice",
        context={"title": "Legal", "body": "x"},
        category=OutboundMessage.Category.LEGAL,
    )
    EmailPreference.objects.create(user=personas.bob, service_notices=False)
    personas.bob.is_active = False
    personas.bob.save(update_fields=["is_active"])
    assert mail.deliver(message.pk) is False
    assert mail.deliver(legal.pk) is True


# --- the unsubscribe link ---


def test_the_link_in_the_mail_unsubscribes_with_one_click_post_and_no_csrf(
    personas, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        service_mail(personas.bob.email)
    (received,) = smtp_server.messages
    url = received["List-Unsubscribe"].strip("<>")
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert personas.bob.email not in url  # the token carries no address
    mail_client = Client(enforce_csrf_checks=True)  # a mail client: no cookie, no token
    response = mail_client.post(
        path_of(url),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert EmailPreference.objects.get(user=personas.bob).service_notices is False
    event = AuditEvent.objects.get(action=AuditEvent.Action.EMAIL_PREFERENCES_CHANGED)
    assert event.actor == personas.bob
    # twice (a retry): the same page, nothing more
    assert mail_client.post(path_of(url), "List-Unsubscribe=One-Click",
                            content_type="application/x-www-form-urlencoded").status_code == 200  # fmt: skip
    assert (
        AuditEvent.objects.filter(action=AuditEvent.Action.EMAIL_PREFERENCES_CHANGED).count() == 1
    )


def test_a_get_only_asks_for_confirmation(client, personas):
    link = unsubscribe_link(personas.bob)
    response = client.get(link)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<form method="post" action="{link}">' in html and "csrfmiddlewaretoken" in html
    assert personas.bob.email not in html and personas.bob.full_name not in html
    assert not EmailPreference.objects.filter(user=personas.bob, service_notices=False).exists()
    assert client.post(link).status_code == 200  # the button
    assert EmailPreference.objects.get(user=personas.bob).service_notices is False


def test_tampered_foreign_and_huge_links_get_a_clear_400(client, personas):
    link = unsubscribe_link(personas.bob)
    token = link.rstrip("/").rsplit("/", 1)[1]
    foreign = signed_links.make("newsletter-confirm", str(personas.bob.public_id))
    for bad in (token[:-3] + "abc", foreign, "x" * 5000, "%00%0d%0aBcc:x"):
        url = reverse("privacy:unsubscribe_service", args=[bad])
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 400, (bad[:20], method)
            assert "This unsubscribe link is not complete or not valid" in response.content.decode()
    assert not EmailPreference.objects.exists()


def test_an_expired_link_gets_a_clear_410(client, settings, personas):
    link = unsubscribe_link(personas.bob)
    later = timezone.now() + datetime.timedelta(days=settings.MAIL_UNSUBSCRIBE_MAX_AGE_DAYS + 1)
    with time_machine.travel(later):
        response = client.post(link)
    assert response.status_code == 410
    assert "too old" in response.content.decode()
    assert not EmailPreference.objects.exists()


def test_a_link_for_an_unknown_or_erased_address_says_the_same_and_changes_nothing(
    client, personas
):
    link = preferences.service_unsubscribe_url("nobody@nowhere.example")
    response = Client(enforce_csrf_checks=True).post(path_of(link))
    assert response.status_code == 200 and "You are unsubscribed" in response.content.decode()
    assert not EmailPreference.objects.exists()
