"""Delivery events from the mail providers: a hard bounce or a complaint suppresses the address
and marks the message; a soft bounce only marks it; the webhooks are authenticated, and
anything else posted to them changes nothing and is never a 500.

The payloads are the providers' own shapes (as in django-anymail's tests and the providers'
webhook docs), posted over HTTP to our URL with basic auth."""

import base64
import hashlib
import hmac
import json

import pytest
from django.urls import reverse

from clients.models import AuditEvent
from opsx import mail
from opsx.models import OutboundMessage, Suppression
from opsx.personal_data import keyed_hash

pytestmark = pytest.mark.django_db

SECRET = "hook:very-secret-password"
SIGNING_KEY = "mailgun-signing-key"
PROVIDERS = ["sendgrid", "mailgun", "postmark", "brevo", "mailjet"]
TO = "gone@example.net"


@pytest.fixture
def webhooks_on(settings):
    settings.MAIL_WEBHOOK_SECRET = SECRET
    settings.MAILGUN_WEBHOOK_SIGNING_KEY = SIGNING_KEY


@pytest.fixture
def sent(settings, django_capture_on_commit_callbacks):
    """Send a real message through the outbox (Django's in-memory backend stands for SMTP)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    def send(to=TO):
        with django_capture_on_commit_callbacks(execute=True):
            message = mail.queue(
                to=to,
                template="invitation",
                context={"client": {"name": "Acme"}, "inviter": "Alice", "url": "https://x/"},
                category=mail.Category.ACCOUNT,
            )
        message.refresh_from_db()
        assert message.status == OutboundMessage.Status.SENT
        return message

    return send


def _auth(secret=SECRET):
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def _url(provider):
    return reverse("mail_events_tracking", args=[provider])


def _post(client, provider, payload, *, auth=SECRET, content_type="application/json"):
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    headers = _auth(auth) if auth else {}
    return client.post(_url(provider), body, content_type=content_type, **headers)


def _mailgun_signed(event_data, key=SIGNING_KEY):
    token, timestamp = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6ab", "1534110422"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return {
        "signature": {"token": token, "timestamp": timestamp, "signature": signature.hexdigest()},
        "event-data": event_data,
    }


def _message_id(message):
    return f"<{message.pk}@opsx>"


# --- each provider's payloads ----------------------------------------------------------
# `message` is the message the provider reports on; the providers that echo our Message-ID
# (SendGrid's smtp-id, Mailgun's message headers, Brevo's message-id) get it, the others
# (Postmark, Mailjet: their own ids only) are matched by the recipient's latest sent message.


def hard_bounce(provider, message):
    to, mid = message.to_email, _message_id(message)
    return {
        "sendgrid": [
            {
                "email": to,
                "timestamp": 1461095250,
                "smtp-id": mid,
                "sg_event_id": "lC0Rc-FuQmKbnxCWxX1jRQ",
                "sg_message_id": "Lli-03HcQ5-JLybO9fXsJg.filter0077p1las1.21536.5717FC482.0",
                "event": "bounce",
                "type": "bounce",
                "status": "5.1.1",
                "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
                "tls": 1,
            }
        ],
        "mailgun": _mailgun_signed(
            {
                "event": "failed",
                "severity": "permanent",
                "reason": "bounce",
                "recipient": to,
                "timestamp": 1534110422.389832,
                "log-level": "error",
                "message": {"headers": {"to": to, "message-id": mid.strip("<>"), "from": "x"}},
                "delivery-status": {"code": 550, "message": "5.1.1 No such user"},
            }
        ),
        "postmark": {
            "RecordType": "Bounce",
            "ID": 901542550,
            "Type": "HardBounce",
            "TypeCode": 1,
            "MessageID": "2706ee8a-737c-4285-b032-ccd317af53ed",
            "Description": "The server was unable to deliver your message.",
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
            "Email": to,
            "From": "no-reply@opsx.example.com",
            "BouncedAt": "2026-04-27T16:28:50.3963933-04:00",
            "Inactive": True,
            "CanActivate": True,
            "Subject": "Invitation",
        },
        "brevo": {
            "event": "hard_bounce",
            "email": to,
            "id": 123456,
            "date": "2026-03-01 12:00:00",
            "ts": 1772366400,
            "message-id": mid,
            "ts_event": 1772366400,
            "subject": "Invitation",
            "sending_ip": "185.41.28.109",
            "ts_epoch": 1772366400123,
            "reason": "550 5.1.1 unknown user",
        },
        "mailjet": {
            "event": "bounce",
            "time": 1430812195,
            "MessageID": 13792286917004336,
            "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j",
            "email": to,
            "mj_campaign_id": 0,
            "mj_contact_id": 0,
            "customcampaign": "",
            "CustomID": "",
            "Payload": "",
            "blocked": False,
            "hard_bounce": True,
            "error_related_to": "recipient",
            "error": "user unknown",
        },
    }[provider]


def complaint(provider, message):
    to, mid = message.to_email, _message_id(message)
    return {
        "sendgrid": [
            {
                "email": to,
                "timestamp": 1461095250,
                "smtp-id": mid,
                "sg_event_id": "b9xz6uJ7SeGq0ODSs9zHkg",
                "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
                "event": "spamreport",
            }
        ],
        "mailgun": _mailgun_signed(
            {
                "event": "complained",
                "recipient": to,
                "timestamp": 1534110422.389832,
                "message": {"headers": {"to": to, "message-id": mid.strip("<>")}},
            }
        ),
        "postmark": {
            "RecordType": "SpamComplaint",
            "ID": 901542551,
            "Type": "SpamComplaint",
            "TypeCode": 512,
            "MessageID": "2706ee8a-737c-4285-b032-ccd317af53ee",
            "Details": "Test spam complaint details",
            "Email": to,
            "BouncedAt": "2026-04-27T16:28:50.3963933-04:00",
        },
        "brevo": {
            "event": "spam",
            "email": to,
            "id": 123457,
            "message-id": mid,
            "ts_epoch": 1772366400123,
        },
        "mailjet": {
            "event": "spam",
            "time": 1430812195,
            "MessageID": 13792286917004337,
            "email": to,
            "mj_campaign_id": 0,
            "mj_contact_id": 0,
            "customcampaign": "",
            "CustomID": "",
            "Payload": "",
            "source": "JMRPP",
        },
    }[provider]


def soft_bounce(provider, message):
    to, mid = message.to_email, _message_id(message)
    return {
        "sendgrid": [
            {
                "email": to,
                "timestamp": 1461200990,
                "smtp-id": mid,
                "event": "deferred",
                "attempt": "1",
                "response": "451 4.7.1 Try again later",
            }
        ],
        "mailgun": _mailgun_signed(
            {
                "event": "failed",
                "severity": "temporary",
                "reason": "generic",
                "recipient": to,
                "timestamp": 1534111899.659519,
                "message": {"headers": {"to": to, "message-id": mid.strip("<>")}},
                "delivery-status": {"code": 452, "message": "Mailbox full", "retry-seconds": 600},
            }
        ),
        "postmark": {
            "RecordType": "Bounce",
            "ID": 901542552,
            "Type": "SoftBounce",
            "TypeCode": 4096,
            "MessageID": "2706ee8a-737c-4285-b032-ccd317af53ef",
            "Details": "smtp;452 4.2.2 Mailbox full",
            "Email": to,
            "BouncedAt": "2026-04-27T16:28:50.3963933-04:00",
        },
        "brevo": {
            "event": "soft_bounce",
            "email": to,
            "id": 123458,
            "message-id": mid,
            "ts_epoch": 1772366400123,
            "reason": "452 mailbox full",
        },
        "mailjet": {
            "event": "bounce",
            "time": 1430812195,
            "MessageID": 13792286917004338,
            "email": to,
            "blocked": False,
            "hard_bounce": False,
            "error_related_to": "recipient",
            "error": "quota exceeded",
        },
    }[provider]


ECHOES_OUR_MESSAGE_ID = {"sendgrid", "mailgun", "brevo"}


def _suppressions(address=TO):
    return list(
        Suppression.objects.filter(address_hash=keyed_hash(address)).values_list("reason", "scope")
    )


# --- authentication ----------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_without_a_secret_every_webhook_answers_404_and_changes_nothing(
    client, settings, sent, provider
):
    settings.MAIL_WEBHOOK_SECRET = ""
    settings.MAILGUN_WEBHOOK_SIGNING_KEY = SIGNING_KEY
    message = sent()
    for auth in (SECRET, None):
        assert _post(client, provider, hard_bounce(provider, message), auth=auth).status_code == 404
    assert client.head(_url(provider)).status_code == 404
    assert _suppressions() == []
    message.refresh_from_db()
    assert message.event == "" and message.event_at is None


def test_mailgun_without_its_signing_key_answers_404(client, settings, sent):
    settings.MAIL_WEBHOOK_SECRET = SECRET
    settings.MAILGUN_WEBHOOK_SIGNING_KEY = ""
    message = sent()
    assert _post(client, "mailgun", hard_bounce("mailgun", message)).status_code == 404
    assert _suppressions() == []


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("auth", [None, "hook:wrong", "nobody:", "hook:very-secret-passwor"])
def test_missing_or_wrong_basic_auth_is_refused_and_changes_nothing(
    client, webhooks_on, sent, provider, auth
):
    message = sent()
    response = _post(client, provider, hard_bounce(provider, message), auth=auth)
    assert response.status_code == 403
    assert _suppressions() == []
    message.refresh_from_db()
    assert message.event == ""


def test_a_malformed_authorization_header_is_refused(client, webhooks_on, sent):
    message = sent()
    for header in ("Basic !!!notbase64", "Bearer x", "Basic", "Basic " + "A" * 10_000):
        response = client.post(
            _url("sendgrid"),
            json.dumps(hard_bounce("sendgrid", message)),
            content_type="application/json",
            HTTP_AUTHORIZATION=header,
        )
        assert response.status_code == 403
    assert _suppressions() == []


def test_mailgun_with_a_bad_signature_is_refused_even_with_the_right_basic_auth(
    client, webhooks_on, sent
):
    message = sent()
    payload = hard_bounce("mailgun", message)
    forged = _mailgun_signed(payload["event-data"], key="not-the-key")
    unsigned = {"event-data": payload["event-data"]}
    for body in (forged, unsigned, "", "garbage"):
        assert _post(client, "mailgun", body).status_code == 403
    assert _suppressions() == []


# --- what each event does ------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_hard_bounce_suppresses_the_address_and_marks_the_message(
    client, webhooks_on, sent, provider
):
    reported = sent()
    later = sent()  # a later message to the same address
    about = reported if provider in ECHOES_OUR_MESSAGE_ID else later

    response = _post(client, provider, hard_bounce(provider, about))

    assert response.status_code == 200
    assert _suppressions() == [("hard_bounce", "all")]
    about.refresh_from_db()
    assert about.event == "bounced" and about.event_at is not None
    other = later if about is reported else reported
    other.refresh_from_db()
    assert other.event == ""  # only the message the provider reported on


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_complaint_suppresses_the_address_and_marks_the_message(
    client, webhooks_on, sent, provider
):
    message = sent()
    assert _post(client, provider, complaint(provider, message)).status_code == 200
    assert _suppressions() == [("complaint", "all")]
    message.refresh_from_db()
    assert message.event == "complained" and message.event_at is not None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_soft_bounce_marks_the_message_deferred_and_suppresses_nothing(
    client, webhooks_on, sent, provider
):
    message = sent()
    assert _post(client, provider, soft_bounce(provider, message)).status_code == 200
    assert _suppressions() == []
    message.refresh_from_db()
    # The provider retries the receiving server itself; our row stays sent, never resent.
    assert message.event == "deferred" and message.status == "sent"


def test_the_bounce_time_is_the_providers(client, webhooks_on, sent):
    message = sent()
    _post(client, "sendgrid", hard_bounce("sendgrid", message))
    message.refresh_from_db()
    assert message.event_at.timestamp() == 1461095250


def test_a_repeated_event_changes_nothing_more(client, webhooks_on, sent):
    message = sent()
    for _ in range(3):  # providers resend until they get a 2xx
        assert _post(client, "brevo", hard_bounce("brevo", message)).status_code == 200
    assert _suppressions() == [("hard_bounce", "all")]


def test_a_late_soft_bounce_does_not_undo_the_hard_bounce(client, webhooks_on, sent):
    message = sent()
    _post(client, "sendgrid", hard_bounce("sendgrid", message))
    _post(client, "sendgrid", soft_bounce("sendgrid", message))
    message.refresh_from_db()
    assert message.event == "bounced"


def test_a_bounce_for_an_address_we_never_mailed_still_suppresses_it(client, webhooks_on, sent):
    message = sent()
    payload = hard_bounce("postmark", message)
    payload["Email"] = "stranger@example.org"
    assert _post(client, "postmark", payload).status_code == 200
    assert _suppressions("stranger@example.org") == [("hard_bounce", "all")]
    message.refresh_from_db()
    assert message.event == ""


def test_our_message_id_for_another_recipient_marks_only_that_recipients_latest(
    client, webhooks_on, sent
):
    theirs = sent("someone.else@example.com")
    ours = sent()
    payload = hard_bounce("sendgrid", theirs)  # another message's id with our recipient
    payload[0]["email"] = TO
    _post(client, "sendgrid", payload)
    theirs.refresh_from_db()
    ours.refresh_from_db()
    assert theirs.event == "" and ours.event == "bounced"


def test_a_rejection_for_a_dead_address_suppresses_it_and_other_rejections_do_not(
    client, webhooks_on, sent
):
    message = sent()
    dropped = {"email": TO, "timestamp": 1461095250, "smtp-id": _message_id(message)}
    _post(client, "sendgrid", [{**dropped, "event": "dropped", "reason": "Unsubscribed Address"}])
    assert _suppressions() == []
    _post(client, "sendgrid", [{**dropped, "event": "dropped", "reason": "Bounced Address"}])
    assert _suppressions() == [("hard_bounce", "all")]


@pytest.mark.parametrize(
    "event",
    [
        {"event": "delivered", "response": "250 OK"},
        {"event": "open"},
        {"event": "click", "url": "https://x/"},
        {"event": "processed"},
        {"event": "something_new"},
    ],
)
def test_other_events_are_ignored(client, webhooks_on, sent, event):
    message = sent()
    body = [{"email": TO, "timestamp": 1461095250, "smtp-id": _message_id(message), **event}]
    assert _post(client, "sendgrid", body).status_code == 200
    assert _suppressions() == []
    message.refresh_from_db()
    assert message.event == ""


# --- garbage ------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["sendgrid", "postmark", "brevo", "mailjet"])
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("", "application/json"),
        ("{not json", "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        ("42", "application/json"),
        ("null", "application/json"),
        ('["a", "b"]', "application/json"),
        ('[{"event": "bounce"}]', "application/json"),
        ('{"event": "hard_bounce", "email": ["gone@example.net"]}', "application/json"),
        ('{"event": "bounce", "email": "gone@example.net", "time": "soon"}', "application/json"),
        ('{"RecordType": "Bounce", "Type": "HardBounce", "Email": 7}', "application/json"),
        ('[{"event": "bounce", "email": "not an address", "timestamp": 1}]', "application/json"),
        ('{"RecordType": "Inbound", "FromFull": {}}', "application/json"),
        ("event=bounce&email=gone%40example.net", "application/x-www-form-urlencoded"),
        ("<xml>bounce</xml>", "text/xml"),
    ],
)
def test_a_body_that_is_not_a_readable_event_is_ignored_with_a_200(
    client, webhooks_on, sent, provider, body, content_type
):
    message = sent()
    response = _post(client, provider, body, content_type=content_type)
    assert response.status_code == 200
    assert _suppressions() == []
    message.refresh_from_db()
    assert message.event == ""


def test_a_recipient_of_header_injection_is_ignored(client, webhooks_on, sent):
    sent()
    body = {"event": "hard_bounce", "email": "gone@example.net\r\nBcc: x@example.com"}
    assert _post(client, "brevo", body).status_code == 200
    assert Suppression.objects.count() == 0


def test_a_huge_body_is_refused_without_a_500_and_changes_nothing(client, webhooks_on, sent):
    message = sent()
    event = hard_bounce("sendgrid", message)[0]
    body = json.dumps([event] + [{"event": "open", "pad": "x" * 1000}] * 8000)  # 8 MB
    response = _post(client, "sendgrid", body)
    assert response.status_code == 400  # past DATA_UPLOAD_MAX_MEMORY_SIZE (5 MB)
    assert _suppressions() == []


def test_an_unknown_provider_and_other_methods_are_refused(client, webhooks_on):
    assert _post(client, "amazon_ses", {"Type": "Notification"}).status_code == 404
    assert _post(client, "nope", []).status_code == 404
    assert client.get(_url("sendgrid"), **_auth()).status_code == 405
    assert client.head(_url("sendgrid")).status_code == 200  # providers' URL probe


# --- then nothing more is sent to it -----------------------------------------------------


def test_after_a_hard_bounce_service_mail_to_the_address_ends_suppressed_and_account_mail_goes(
    client, webhooks_on, sent, monkeypatch, django_capture_on_commit_callbacks
):
    """opsx.mail.deliver() asks the suppression list at send time (legal and account mail are
    never held back: a password reset must reach its owner)."""
    from django.core import mail as django_mail

    monkeypatch.setattr(mail, "_rules", {})  # no app's opt-out rules: only the list decides
    _post(client, "sendgrid", hard_bounce("sendgrid", sent()))
    outbox_before = len(django_mail.outbox)

    with django_capture_on_commit_callbacks(execute=True):
        service = mail.queue(
            to=TO,
            template="invitation",
            context={"client": {"name": "Acme"}, "inviter": "Alice", "url": "https://x/"},
            category=mail.Category.SERVICE,
            unsubscribe_url="https://opsx.test/unsubscribe/x/",
        )
    service.refresh_from_db()
    assert service.status == OutboundMessage.Status.SUPPRESSED
    assert len(django_mail.outbox) == outbox_before

    account = sent()
    assert account.status == OutboundMessage.Status.SENT
    assert len(django_mail.outbox) == outbox_before + 1


# --- staff: the outbox and the suppression list in admin ---------------------------------


@pytest.fixture
def staff_client(client, sam):
    client.force_login(sam)
    return client


def test_staff_see_bounced_and_suppressed_messages_in_the_outbox_admin(
    staff_client, webhooks_on, sent, client
):
    bounced = sent("bounced@example.net")
    OutboundMessage.objects.filter(pk=bounced.pk).update(event="bounced")
    not_sent = sent("refused@example.net")
    OutboundMessage.objects.filter(pk=not_sent.pk).update(status="suppressed")
    changelist = reverse("admin:opsx_outboundmessage_changelist")

    page = staff_client.get(changelist, {"event": "bounced"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "bounced@example.net" in html and "refused@example.net" not in html

    page = staff_client.get(changelist, {"status": "suppressed"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "refused@example.net" in html and "bounced@example.net" not in html

    page = staff_client.get(reverse("admin:opsx_outboundmessage_change", args=[bounced.pk]))
    assert page.status_code == 200
    assert "Hard bounce" in page.content.decode()


def test_the_suppression_list_shows_no_address_and_a_constant_number_of_queries(
    staff_client, django_assert_max_num_queries
):
    from opsx import suppression

    changelist = reverse("admin:opsx_suppression_changelist")
    suppression.suppress("one@example.net", reason="hard_bounce", scope="all")
    with django_assert_max_num_queries(12):
        assert staff_client.get(changelist).status_code == 200
    for i in range(50):
        suppression.suppress(f"p{i}@example.net", reason="complaint", scope="all")
    with django_assert_max_num_queries(12):
        page = staff_client.get(changelist)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Spam complaint" in html and "@example.net" not in html
    assert reverse("admin:opsx_suppression_check") in html


def test_staff_check_an_address_and_lift_it_audited(staff_client, sam, webhooks_on, sent):
    from opsx import suppression

    suppression.suppress(TO, reason="hard_bounce", scope="all")
    check = reverse("admin:opsx_suppression_check")
    assert staff_client.get(check).status_code == 200

    page = staff_client.post(check, {"address": "nobody@example.net", "check": "Check"})
    assert page.status_code == 200 and 'id="suppression-none"' in page.content.decode()

    page = staff_client.post(check, {"address": "  GONE@example.net ", "check": "Check"})
    html = page.content.decode()
    assert page.status_code == 200 and "Hard bounce" in html and "Lift the suppression" in html

    page = staff_client.post(check, {"address": TO, "lift": "Lift"})
    assert page.status_code == 200
    assert _suppressions() == []
    assert 'id="suppression-none"' in page.content.decode()
    event = AuditEvent.objects.get(action="suppression.lifted")
    assert event.actor == sam and event.counts == {"entries": 1} and event.client_id is None

    # Lifting again: nothing to lift, no second event.
    staff_client.post(check, {"address": TO, "lift": "Lift"})
    assert AuditEvent.objects.filter(action="suppression.lifted").count() == 1


@pytest.mark.parametrize("address", ["", "not an address", "a\r\nBcc: x@example.com", "x" * 300])
def test_a_bad_address_in_the_check_form_is_a_400(staff_client, address):
    page = staff_client.post(
        reverse("admin:opsx_suppression_check"), {"address": address, "lift": "Lift"}
    )
    assert page.status_code == 400
    assert AuditEvent.objects.filter(action="suppression.lifted").count() == 0


def test_the_check_page_is_staff_only(client, personas):
    check = reverse("admin:opsx_suppression_check")
    assert client.post(check, {"address": TO, "lift": "Lift"}).status_code == 302  # sign in
    client.force_login(personas.alice)
    assert client.post(check, {"address": TO, "lift": "Lift"}).status_code in (302, 403)
