"""Inviting someone must not tell the inviter whether the address has an OpsX account elsewhere:
anyone can start a client account and would otherwise learn who uses OpsX."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Invitation
from opsx.models import OutboundMessage
from tests.factories import StaffFactory

FREE = "nina@example.com"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _invite(browser, email):
    """Post the invite form, then read the page it leads to, as the inviter would."""
    response = browser.post(reverse("admin_tasks:invite"), {"email": email, "role": "member"})
    page = browser.get(response["Location"]) if response.status_code == 302 else None
    return response, page


def _messages_html(page) -> str:
    return re.search(r'<ul class="messages".*?</ul>', page.content.decode(), re.S).group(0)


def _pending_row(page, invitation) -> str:
    html = page.content.decode()
    row = re.search(rf"<tr>(?:(?!</tr>).)*{re.escape(invitation.email)}.*?</tr>", html, re.S)
    return row.group(0).replace(str(invitation.public_id), "ID")


@pytest.mark.django_db
@pytest.mark.parametrize("owner", ["another_clients_user", "hexcm_staff"])
def test_an_address_with_an_account_elsewhere_looks_exactly_like_a_free_one(
    client, personas, owner
):
    taken = "dan@bravo.example" if owner == "another_clients_user" else StaffFactory().email
    client.force_login(personas.alice)
    with time_machine.travel(NOW, tick=False):
        free_response, free_page = _invite(client, FREE)
        taken_response, taken_page = _invite(client, taken.upper())

    # the same answer: status, redirect, message (the address aside), and no word of an account
    assert free_response.status_code == taken_response.status_code == 302
    assert free_response["Location"] == taken_response["Location"]
    free_message = _messages_html(free_page).replace(FREE, "ADDRESS")
    taken_message = _messages_html(taken_page).replace(taken, "ADDRESS")
    assert free_message == taken_message
    assert "Invitation sent to ADDRESS." in free_message
    assert "account" not in taken_message.lower()
    # what the page says (its text, not its links' addresses) after the navigation
    words = re.sub(r"<[^>]+>", " ", taken_page.content.decode().split("</nav>")[-1]).lower()
    assert "account" not in words
    # the same pending row, the same invitation record
    free_invitation = Invitation.objects.get(email=FREE)
    taken_invitation = Invitation.objects.get(email=taken)
    assert _pending_row(taken_page, taken_invitation).replace(taken, "ADDRESS") == _pending_row(
        taken_page, free_invitation
    ).replace(FREE, "ADDRESS")
    fields = ["status", "role", "client_id", "invited_by_id", "sent_at"]
    assert [getattr(taken_invitation, f) for f in fields] == [
        getattr(free_invitation, f) for f in fields
    ]
    # the same work: one account-category mail to each address
    for address in (FREE, taken):
        assert OutboundMessage.objects.filter(to_email=address, category="account").count() == 1


@pytest.mark.django_db
def test_the_owner_of_the_address_is_told_that_nothing_changed_and_gets_no_link(client, personas):
    client.force_login(personas.alice)
    client.post(reverse("admin_tasks:invite"), {"email": "dan@bravo.example", "role": "admin"})

    notice = OutboundMessage.objects.get(to_email="dan@bravo.example")
    assert "Acme" in notice.body_text and "already have an OpsX account" in notice.body_text
    assert "nothing changed" in notice.body_text
    assert "/invitation/" not in notice.body_text + notice.body_html
    assert "Alice" not in notice.body_text  # no inviter-chosen name relayed beyond the company
    personas.dan.refresh_from_db()
    assert personas.dan.client == personas.client_b and personas.dan.role == "member"


@pytest.mark.django_db
def test_resending_to_an_address_with_an_account_sends_the_notice_again_not_a_link(
    client, personas
):
    client.force_login(personas.alice)
    client.post(reverse("admin_tasks:invite"), {"email": "dan@bravo.example", "role": "member"})
    invitation = Invitation.objects.get(email="dan@bravo.example")
    response = client.post(
        reverse("admin_tasks:invitation_resend", args=[invitation.public_id]), follow=True
    )
    assert "A new invitation link was sent to dan@bravo.example." in response.content.decode()
    mails = OutboundMessage.objects.filter(to_email="dan@bravo.example")
    assert mails.count() == 2
    assert not any("/invitation/" in m.body_text for m in mails)


@pytest.mark.django_db
def test_a_pending_invitation_for_the_same_address_is_still_pointed_out(client, personas):
    """Pending invitations are the inviting client's own data, so that refusal stays."""
    client.force_login(personas.alice)
    client.post(reverse("admin_tasks:invite"), {"email": "dan@bravo.example", "role": "member"})
    response = client.post(
        reverse("admin_tasks:invite"), {"email": "dan@bravo.example", "role": "member"}
    )
    assert response.status_code == 400
    assert "already has a pending invitation" in response.content.decode()
    assert OutboundMessage.objects.filter(to_email="dan@bravo.example").count() == 1
