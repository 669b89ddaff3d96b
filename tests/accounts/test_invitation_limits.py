"""Invitations cannot be used as a spam relay: invitation mails (sent or resent) are limited per
sending admin and per client in an hour, and per recipient address in 24 hours."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts import services
from accounts.models import Invitation
from opsx.models import OutboundMessage
from tests.factories import AdminFactory

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def limits(settings):
    """Small limits, so a test reaches them in a few requests; each test lowers one."""
    settings.INVITATIONS_PER_ADMIN_PER_HOUR = 100
    settings.INVITATIONS_PER_CLIENT_PER_HOUR = 100
    settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY = 100
    return settings


@pytest.fixture
def eve(personas):
    return AdminFactory(client=personas.client_a, email="eve@acme.example", full_name="Eve Admin")


def _invite(browser, email):
    return browser.post(reverse("admin_tasks:invite"), {"email": email, "role": "member"})


def _resend(browser, invitation):
    return browser.post(
        reverse("admin_tasks:invitation_resend", args=[invitation.public_id]), follow=True
    )


def test_the_defaults_are_20_per_admin_and_50_per_client_an_hour_and_3_per_address_a_day():
    from django.conf import settings

    assert settings.INVITATIONS_PER_ADMIN_PER_HOUR == 20
    assert settings.INVITATIONS_PER_CLIENT_PER_HOUR == 50
    assert settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY == 3


@pytest.mark.django_db
def test_an_admin_is_refused_past_their_hourly_limit_and_told_when_to_try_again(
    client, personas, limits, eve
):
    limits.INVITATIONS_PER_ADMIN_PER_HOUR = 3
    client.force_login(personas.alice)
    with time_machine.travel(NOW, tick=False):
        for i in range(3):
            assert _invite(client, f"p{i}@example.com").status_code == 302
    with time_machine.travel(NOW + timedelta(minutes=20), tick=False):
        response = _invite(client, "p3@example.com")

    assert response.status_code == 429
    assert (
        "You have sent 3 invitations in the last hour, the most one admin may send. "
        "Nothing was sent. Try again after 2026-03-02 11:00 UTC."
    ) in response.content.decode()
    assert not Invitation.objects.filter(email="p3@example.com").exists()
    assert not OutboundMessage.objects.filter(to_email="p3@example.com").exists()

    client.force_login(eve)  # another admin of the same client has their own count
    with time_machine.travel(NOW + timedelta(minutes=20), tick=False):
        assert _invite(client, "p3@example.com").status_code == 302
    client.force_login(personas.alice)
    with time_machine.travel(NOW + timedelta(hours=1, minutes=1), tick=False):
        assert _invite(client, "p4@example.com").status_code == 302


@pytest.mark.django_db
def test_a_client_is_refused_past_its_hourly_limit_whoever_of_its_admins_sends(
    client, personas, limits, eve
):
    limits.INVITATIONS_PER_CLIENT_PER_HOUR = 3
    with time_machine.travel(NOW, tick=False):
        client.force_login(personas.alice)
        _invite(client, "p0@example.com")
        _invite(client, "p1@example.com")
        client.force_login(eve)
        _invite(client, "p2@example.com")
        response = _invite(client, "p3@example.com")
        assert response.status_code == 429
        assert (
            "Acme has sent 3 invitations in the last hour, the most one company may send. "
            "Nothing was sent. Try again after 2026-03-02 11:00 UTC."
        ) in response.content.decode()
        client.force_login(personas.carol)  # another client is not held back
        assert _invite(client, "p3@example.com").status_code == 302
    assert list(
        Invitation.objects.filter(email="p3@example.com").values_list("client", flat=True)
    ) == [personas.client_b.pk]


@pytest.mark.django_db
def test_one_address_gets_at_most_its_daily_mails_and_a_refused_resend_keeps_the_old_link(
    client, personas, limits
):
    limits.INVITATION_MAILS_PER_ADDRESS_PER_DAY = 3
    client.force_login(personas.alice)
    with time_machine.travel(NOW, tick=False):
        _invite(client, "nina@example.com")
    invitation = Invitation.objects.get(email="nina@example.com")
    for minutes in (1, 2):
        with time_machine.travel(NOW + timedelta(minutes=minutes), tick=False):
            assert "A new invitation link was sent" in _resend(client, invitation).content.decode()
    invitation.refresh_from_db()
    sent_before, link_before = invitation.sent_at, services.invitation_token(invitation)

    with time_machine.travel(NOW + timedelta(hours=5), tick=False):
        page = _resend(client, invitation).content.decode()

    assert (
        "nina@example.com has been sent 3 invitation emails in the last 24 hours, the most OpsX "
        "sends to one address. Nothing was sent. Try again after 2026-03-03 10:00 UTC."
    ) in page
    assert "A new invitation link was sent" not in page
    assert OutboundMessage.objects.filter(to_email="nina@example.com").count() == 3
    invitation.refresh_from_db()
    assert invitation.sent_at == sent_before  # not renewed
    assert services.invitation_from_token(link_before) == invitation  # the last link still works
    # the address limit holds across clients: the relay is per recipient
    client.force_login(personas.carol)
    with time_machine.travel(NOW + timedelta(hours=5), tick=False):
        assert _invite(client, "nina@example.com").status_code == 429
    with time_machine.travel(NOW + timedelta(hours=24, minutes=1), tick=False):
        assert _invite(client, "nina@example.com").status_code == 302


@pytest.mark.django_db
def test_the_address_limit_counts_the_same_for_an_address_with_an_account(client, personas, limits):
    """Otherwise the limit itself would tell which addresses have an account."""
    limits.INVITATION_MAILS_PER_ADDRESS_PER_DAY = 1
    client.force_login(personas.alice)
    _invite(client, "dan@bravo.example")
    invitation = Invitation.objects.get(email="dan@bravo.example")
    page = _resend(client, invitation).content.decode()
    assert "dan@bravo.example has been sent 1 invitation email in the last 24 hours" in page
    assert OutboundMessage.objects.filter(to_email="dan@bravo.example").count() == 1


@pytest.mark.django_db
def test_a_refused_invitation_counts_against_no_limit(client, personas, limits):
    limits.INVITATIONS_PER_ADMIN_PER_HOUR = 3
    limits.INVITATIONS_PER_CLIENT_PER_HOUR = 3
    limits.INVITATION_MAILS_PER_ADDRESS_PER_DAY = 1
    client.force_login(personas.alice)
    _invite(client, "nina@example.com")  # 1 of 3 for Alice and Acme
    invitation = Invitation.objects.get(email="nina@example.com")
    for _ in range(3):  # refused by the address limit: neither Alice's nor Acme's count moves
        assert "Nothing was sent" in _resend(client, invitation).content.decode()
    assert _invite(client, "p1@example.com").status_code == 302
    assert _invite(client, "p2@example.com").status_code == 302
    assert _invite(client, "p3@example.com").status_code == 429


@pytest.mark.django_db
def test_a_duplicate_invitation_counts_against_no_limit(client, personas, limits):
    limits.INVITATIONS_PER_ADMIN_PER_HOUR = 2
    client.force_login(personas.alice)
    _invite(client, "nina@example.com")
    assert "pending invitation" in _invite(client, "nina@example.com").content.decode()
    assert _invite(client, "p1@example.com").status_code == 302


@pytest.mark.django_db
def test_the_service_applies_the_limits_for_every_caller(personas, limits):
    from django.core.exceptions import ValidationError

    limits.INVITATIONS_PER_ADMIN_PER_HOUR = 1
    services.invitation_create(
        client=personas.client_a, email="a@example.com", role="member", invited_by=personas.alice
    )
    with pytest.raises(ValidationError) as exc:
        services.invitation_create(
            client=personas.client_a,
            email="b@example.com",
            role="member",
            invited_by=personas.alice,
        )
    assert exc.value.code == "rate_limited"
    assert not Invitation.objects.filter(email="b@example.com").exists()


@pytest.mark.django_db
def test_a_company_name_of_any_characters_is_shown_in_the_refusal_as_typed(
    client, personas, limits
):
    personas.client_a.name = "Curly {0} <b>&</b> Co"
    personas.client_a.save()
    limits.INVITATIONS_PER_CLIENT_PER_HOUR = 1
    client.force_login(personas.alice)
    _invite(client, "p0@example.com")
    response = _invite(client, "p1@example.com")
    assert response.status_code == 429
    assert (
        "Curly {0} &lt;b&gt;&amp;&lt;/b&gt; Co has sent 1 invitation in"
        in response.content.decode()
    )
