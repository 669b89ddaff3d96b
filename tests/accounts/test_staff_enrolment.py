"""HexCM staff set up two-factor authentication only with a single-use link that reached them out
of band (mailed to their address, or printed by a command); the password alone never reaches
Django admin. Client users enrol freely."""

import io
import re
import time
from datetime import timedelta
from urllib.parse import urlparse

import pytest
import time_machine
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.core.management import CommandError, call_command
from django.test import Client as BrowserClient
from django.urls import reverse
from django.utils import timezone

from opsx.models import OutboundMessage
from tests.conftest import body_of, sign_in
from tests.factories import PASSWORD, StaffFactory

ACTIVATE = "/accounts/2fa/totp/activate/"


@pytest.fixture
def staff(db):
    return StaffFactory(email="sam@hexcm.example", full_name="Sam Support")


def totp_code(secret: str) -> str:
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


def reauthenticate(browser) -> None:
    """allauth asks for the password again before a security change (a plain sign-in does not
    count as recent authentication)."""
    response = browser.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:300]


def open_admin(browser):
    return browser.get(reverse("admin:index"), follow=True)


def activate_totp(browser) -> object:
    """Open allauth's activation page and answer it with the code of the secret it shows."""
    reauthenticate(browser)
    page = browser.get(ACTIVATE)
    assert page.status_code == 200, page.content.decode()[:300]
    secret = browser.session[SECRET_SESSION_KEY]
    return browser.post(ACTIVATE, {"code": totp_code(secret)})


def mailed_link(user) -> str:
    body = OutboundMessage.objects.filter(to_email=user.email).latest("created_at").body_text
    return urlparse(re.search(r"https?://\S+/accounts/staff-enrolment/\S+/", body).group()).path


def has_totp(user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


# --- the attack path of the issue ------------------------------------------------------------


@pytest.mark.django_db
def test_the_password_alone_cannot_set_up_two_factor_nor_open_the_admin(client, staff):
    sign_in(client, staff)
    reauthenticate(client)
    # straight to TOTP activation, as the issue did: refused, and no secret is shown
    for url in (ACTIVATE, reverse("mfa_activate_totp")):
        page = client.get(url)
        assert page.status_code == 403
        body = page.content.decode()
        assert "enrolment link" in body and "otpauth://" not in body
    assert SECRET_SESSION_KEY not in client.session
    # a secret of one's own, with its code: refused too
    secret = generate_totp_secret()
    session = client.session
    session[SECRET_SESSION_KEY] = secret
    session.save()
    assert client.post(ACTIVATE, {"code": totp_code(secret)}).status_code == 403
    assert not has_totp(staff)
    # the admin is not reachable, and says where the link went
    response = client.get(reverse("admin:index"), follow=True)
    assert response.status_code == 403
    assert "sam@hexcm.example" in response.content.decode()
    assert not has_totp(staff)


@pytest.mark.django_db
def test_the_enrolment_mail_expires_with_its_link(client, staff, settings):
    settings.STAFF_ENROLMENT_LINK_MAX_AGE_HOURS = 2
    sign_in(client, staff)
    before = timezone.now()
    open_admin(client)
    [message] = OutboundMessage.objects.filter(subject__icontains="two-factor")
    assert before + timedelta(hours=2) <= message.expires_at <= timezone.now() + timedelta(hours=2)


@pytest.mark.django_db
def test_opening_the_admin_mails_the_link_to_the_staff_address(client, staff, smtp_server):
    sign_in(client, staff)
    open_admin(client)
    [message] = OutboundMessage.objects.filter(subject__icontains="two-factor")
    assert message.to_email == "sam@hexcm.example"
    assert message.category == OutboundMessage.Category.ACCOUNT
    assert "/accounts/staff-enrolment/" in message.body_text
    # reloading the admin does not send another one right away
    open_admin(client)
    assert OutboundMessage.objects.filter(subject__icontains="two-factor").count() == 1

    from opsx import mail

    link = mailed_link(staff)
    mail.deliver(message.pk)
    [sent] = smtp_server.messages
    assert sent["To"] == "sam@hexcm.example"
    assert link in body_of(sent)
    message.refresh_from_db()
    assert link not in message.body_text  # once sent, the outbox forgets the body


@pytest.mark.django_db
def test_with_the_mailed_link_staff_set_up_two_factor_and_reach_the_admin(client, staff):
    sign_in(client, staff)
    open_admin(client)
    response = client.get(mailed_link(staff))
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")
    # /admin/ now sends this session to the activation page
    response = client.get(reverse("admin:index"), follow=True)
    assert reverse("mfa_activate_totp") in [url for url, _ in response.redirect_chain]

    assert activate_totp(client).status_code == 302
    assert has_totp(staff)
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.django_db
def test_a_used_link_is_refused(client, staff):
    sign_in(client, staff)
    open_admin(client)
    link = mailed_link(staff)
    assert client.get(link).status_code == 302
    # again, in a new session of the same user (the password holder's, say)
    other = BrowserClient()
    sign_in(other, staff)
    reauthenticate(other)
    response = other.get(link)
    assert response.status_code == 400 and "used already" in response.content.decode()
    assert other.get(ACTIVATE).status_code == 403
    assert not has_totp(staff)


@pytest.mark.django_db
def test_an_expired_link_is_refused(client, staff, settings):
    settings.STAFF_ENROLMENT_LINK_MAX_AGE_HOURS = 24
    sign_in(client, staff)
    open_admin(client)
    link = mailed_link(staff)
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        response = client.get(link)
        assert response.status_code == 400 and "expired" in response.content.decode()
        reauthenticate(client)
        assert client.get(ACTIVATE).status_code == 403


@pytest.mark.django_db
def test_a_newer_link_retires_the_older_one(client, staff):
    sign_in(client, staff)
    open_admin(client)
    old = mailed_link(staff)
    out = io.StringIO()
    call_command("staff_enrolment_link", "sam@hexcm.example", stdout=out)
    response = client.get(old)
    assert response.status_code == 400 and "newer enrolment link" in response.content.decode()
    new = urlparse(re.search(r"http\S+", out.getvalue()).group()).path
    assert client.get(new).status_code == 302


@pytest.mark.django_db
def test_a_link_works_only_for_the_user_it_names(client, staff):
    call_command("staff_enrolment_link", "sam@hexcm.example", stdout=(out := io.StringIO()))
    link = urlparse(re.search(r"http\S+", out.getvalue()).group()).path
    intruder = StaffFactory(email="eve@hexcm.example")
    sign_in(client, intruder)
    reauthenticate(client)
    response = client.get(link)
    assert response.status_code == 400 and "another account" in response.content.decode()
    assert client.get(ACTIVATE).status_code == 403
    # still unused for its owner
    owner = BrowserClient()
    sign_in(owner, staff)
    assert owner.get(link).status_code == 302


@pytest.mark.django_db
def test_signed_out_the_link_goes_through_the_sign_in_first(client, staff):
    call_command("staff_enrolment_link", "sam@hexcm.example", stdout=(out := io.StringIO()))
    link = urlparse(re.search(r"http\S+", out.getvalue()).group()).path
    response = client.get(link)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    response = client.post(response["Location"], {"login": staff.email, "password": PASSWORD})
    assert response["Location"] == link
    assert client.get(link)["Location"] == reverse("mfa_activate_totp")
    assert activate_totp(client).status_code == 302 and has_totp(staff)


@pytest.mark.django_db
def test_the_session_allowance_runs_out(client, staff):
    sign_in(client, staff)
    open_admin(client)
    client.get(mailed_link(staff))
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        reauthenticate(client)
        assert client.get(ACTIVATE).status_code == 403


@pytest.mark.django_db
def test_the_command_refuses_client_users_and_unknown_addresses(personas, staff):
    with pytest.raises(CommandError, match="not HexCM staff"):
        call_command("staff_enrolment_link", "bob@acme.example")
    with pytest.raises(CommandError, match="No user"):
        call_command("staff_enrolment_link", "nobody@example.com")
    TOTP.activate(staff, generate_totp_secret())
    with pytest.raises(CommandError, match="already"):
        call_command("staff_enrolment_link", "sam@hexcm.example")


# --- staff keep their two-factor; client users are unaffected ---------------------------------


@pytest.mark.django_db
def test_staff_cannot_deactivate_their_two_factor_from_the_web(client, staff):
    TOTP.activate(staff, generate_totp_secret())
    client.force_login(staff)
    url = reverse("mfa_deactivate_totp")
    assert url == "/accounts/2fa/totp/deactivate/"
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 403
        assert "cannot turn two-factor authentication off" in response.content.decode()
    assert has_totp(staff)


@pytest.mark.django_db
def test_client_users_set_up_and_remove_two_factor_freely(client, personas):
    sign_in(client, personas.bob)
    assert activate_totp(client).status_code == 302
    assert has_totp(personas.bob)
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302
    assert not has_totp(personas.bob)
