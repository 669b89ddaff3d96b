"""Plain-text mail arrives as typed: no HTML escaping in subjects and text bodies; HTML keeps it."""

import re

import pytest
from django.conf import settings
from django.test import RequestFactory

from accounts import services
from accounts.adapters import AccountAdapter
from opsx.models import OutboundMessage
from tests.conftest import body_of
from tests.factories import AdminFactory, ClientFactory

EVIL = 'Evil & Co <b>"x"</b>'


@pytest.mark.django_db
def test_an_invitation_from_a_company_with_markup_in_its_name_arrives_as_typed(
    smtp_server, django_capture_on_commit_callbacks
):
    company = ClientFactory(name=EVIL)
    inviter = AdminFactory(client=company, full_name=EVIL)
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            client=company, email="nina@example.com", role="member", invited_by=inviter
        )

    [received] = smtp_server.messages
    assert received["Subject"] == f"{EVIL} invited you to {EVIL} on OpsX"
    body = body_of(received).replace("\r\n", "\n")
    token = re.search(r"/invitation/([^/\s]+)/", body).group(1)
    assert services.invitation_from_token(token) == invitation
    url = f"{settings.SITE_URL}/invitation/{token}/"
    assert body == (
        "Hello,\n\n"
        f"{EVIL} invited you to join {EVIL} on OpsX as member.\n\n"
        f"Create your account with this link (it works for {settings.INVITATION_MAX_AGE_DAYS} days):\n"
        f"{url}\n\n"
        "If you did not expect this invitation, ignore this email; nothing happens without the link.\n\n"
        "OpsX by HexCM"
    )
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "Evil &amp; Co &lt;b&gt;&quot;x&quot;&lt;/b&gt;" in html
    assert "<b>" not in html


@pytest.fixture
def allauth_style_template(settings, tmp_path):
    """An allauth mail template of our own, written the way ours are: without
    `{% autoescape off %}` (allauth's stock .txt templates carry it; an override might not)."""
    folder = tmp_path / "account" / "email"
    folder.mkdir(parents=True)
    (folder / "welcome_subject.txt").write_text("Welcome to {{ company }}")
    (folder / "welcome_message.txt").write_text("{{ company }} & {{ email }} say hello.")
    settings.TEMPLATES = [
        {**engine, "DIRS": [tmp_path, *engine["DIRS"]]} for engine in settings.TEMPLATES
    ]
    return "account/email/welcome"


@pytest.mark.django_db
def test_allauths_text_mails_render_without_html_escaping(allauth_style_template):
    from allauth.core import context

    request = RequestFactory().get("/")
    with context.request_context(request):
        AccountAdapter().send_mail(allauth_style_template, "o&co@example.com", {"company": EVIL})
    message = OutboundMessage.objects.get(to_email="o&co@example.com")
    assert message.subject == f"[OpsX] Welcome to {EVIL}"
    assert message.body_text == f"{EVIL} & o&co@example.com say hello."
