"""A mail body is personal data and may hold a live link: purged when the message ends, never
shown in admin, and a pending message with a secret link expires with the link."""

import re
from datetime import timedelta

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse
from django.utils import timezone

from opsx import mail
from opsx.models import OutboundMessage
from tests.conftest import body_of, free_port
from tests.factories import StaffFactory

RESET_LINK = re.compile(r"https?://\S+/accounts/password/reset/key/\S+")


@pytest.fixture
def staff_with_mfa(db):
    staff = StaffFactory(email="sam@hexcm.example")
    TOTP.activate(staff, generate_totp_secret())
    return staff


def _request_reset(client, email="bob@acme.example"):
    client.post(reverse("account_reset_password"), {"email": email})
    return OutboundMessage.objects.get(to_email=email)


@pytest.mark.django_db
def test_a_delivered_reset_mail_keeps_no_body_in_the_database(
    client, personas, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": "bob@acme.example"})
    [received] = smtp_server.messages
    assert RESET_LINK.search(body_of(received))  # the person got the link

    message = OutboundMessage.objects.get(to_email="bob@acme.example")
    assert message.status == "sent" and message.attempts == 1 and message.sent_at
    assert (message.body_text, message.body_html, message.headers) == ("", "", {})
    assert message.subject and message.category == "account"  # the metadata stays


@pytest.mark.django_db
def test_a_pending_reset_mail_expires_with_its_link(client, personas, settings):
    message = _request_reset(client)
    assert message.status == "pending" and RESET_LINK.search(message.body_text)
    lifetime = message.expires_at - message.created_at
    assert abs(lifetime - timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)) < timedelta(seconds=1)


@pytest.mark.django_db
def test_an_invitation_mail_expires_with_its_link(personas, settings):
    from accounts import services

    invitation = services.invitation_create(
        client=personas.client_a, email="nina@example.com", role="member", invited_by=personas.alice
    )
    message = OutboundMessage.objects.get(to_email=invitation.email)
    lifetime = message.expires_at - message.created_at
    assert abs(lifetime - timedelta(days=settings.INVITATION_MAX_AGE_DAYS)) < timedelta(seconds=1)


@pytest.mark.django_db
def test_the_admin_page_of_a_pending_reset_mail_does_not_show_the_link(
    client, personas, staff_with_mfa
):
    message = _request_reset(client)
    link = RESET_LINK.search(message.body_text).group(0)
    key = link.rstrip("/").rsplit("/", 1)[-1]

    client.force_login(staff_with_mfa)
    pages = [
        client.get(reverse("admin:opsx_outboundmessage_change", args=[message.pk])),
        client.get(reverse("admin:opsx_outboundmessage_changelist")),
        client.get(reverse("admin:opsx_outboundmessage_history", args=[message.pk])),
    ]
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert "bob@acme.example" in pages[0].content.decode()  # the metadata is there
    for page in pages:
        html = page.content.decode()
        assert key not in html and "/password/reset/key/" not in html
    # the body is no search field: searching for the key (echoed in the search box) finds nothing
    search = client.get(reverse("admin:opsx_outboundmessage_changelist"), {"q": key})
    assert "0 results" in search.content.decode()


@pytest.mark.django_db
def test_staff_cannot_add_change_or_delete_messages_in_admin(client, personas, staff_with_mfa):
    message = _request_reset(client)
    client.force_login(staff_with_mfa)
    change_url = reverse("admin:opsx_outboundmessage_change", args=[message.pk])
    response = client.post(change_url, {"body_text": "changed", "to_email": "evil@example.com"})
    assert response.status_code == 403
    assert client.get(reverse("admin:opsx_outboundmessage_add")).status_code == 403
    response = client.post(
        reverse("admin:opsx_outboundmessage_delete", args=[message.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.to_email == "bob@acme.example" and RESET_LINK.search(message.body_text)


@pytest.mark.django_db
def test_an_expired_pending_message_is_never_sent_and_is_purged(
    client, personas, settings, smtp_server
):
    message = _request_reset(client)
    later = timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    with time_machine.travel(later, tick=False):
        assert mail.deliver_pending() == 0
    assert smtp_server.messages == []
    message.refresh_from_db()
    assert message.status == "failed" and message.last_error.startswith("expired")
    assert (message.body_text, message.body_html, message.headers) == ("", "", {})


@pytest.mark.django_db
def test_a_message_delivered_after_its_link_expired_is_not_sent(
    client, personas, settings, smtp_server
):
    """The on-commit task can run late (a queue backlog): it checks the expiry itself."""
    message = _request_reset(client)
    later = timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    with time_machine.travel(later, tick=False):
        assert mail.deliver(message.pk) is False
    assert smtp_server.messages == []
    message.refresh_from_db()
    assert message.status == "failed" and message.body_text == ""


@pytest.mark.django_db
def test_a_message_that_failed_for_good_is_purged_and_its_error_holds_no_link(
    client, personas, settings, smtp_server
):
    settings.EMAIL_PORT = free_port()  # SMTP is down
    settings.MAIL_MAX_ATTEMPTS = 2
    message = _request_reset(client)
    assert mail.deliver(message.pk) is False
    message.refresh_from_db()
    assert message.status == "pending" and RESET_LINK.search(message.body_text)  # will retry

    assert mail.deliver(message.pk) is False
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == 2
    assert "ConnectionRefusedError" in message.last_error
    assert (message.body_text, message.body_html, message.headers) == ("", "", {})


def test_an_smtp_error_that_quotes_the_body_keeps_neither_the_body_nor_its_links():
    message = OutboundMessage(
        body_text="Hello,\n\nReset your password here:\nhttps://opsx.example/reset/abc123/\n",
        body_html="",
    )
    error = RuntimeError(
        "550 rejected: Reset your password here: https://opsx.example/reset/abc123/"
    )
    summary = mail._error_summary(error, message)
    assert "abc123" not in summary and "Reset your password here" not in summary
    assert summary.startswith("RuntimeError: 550 rejected")
