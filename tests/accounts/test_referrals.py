"""Referrals: a user tells a friend; the friend gets one invitation (and at most one reminder),
can remove their information for good with one click, and the data goes once it has served."""

import re
from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from accounts import referrals
from accounts.models import Referral, User
from clients.models import AuditEvent
from opsx import mail, signed_links, suppression
from opsx.models import OutboundMessage, Suppression
from privacy import services as privacy_services
from privacy.models import PrivacyRequest
from tests.conftest import body_of
from tests.factories import UserFactory

Category = OutboundMessage.Category
FRIEND = "fran.friend@elsewhere.example"
PAGE = "referral_page"


def _refer(client, *, name="Fran Friend", email=FRIEND, note=""):
    return client.post(reverse(PAGE), {"name": name, "email": email, "note": note})


def _referral_mail(to=FRIEND):
    return OutboundMessage.objects.filter(to_email=to, category=Category.REFERRAL)


def _removal_path(address=FRIEND):
    return reverse("referral_remove", args=[referrals.removal_token(address)])


# --- the page and the invitation -----------------------------------------------------------


@pytest.mark.django_db
def test_the_page_opens_for_a_signed_in_user_and_lists_only_their_own_referrals(client, personas):
    referrals.referral_create(referrer=personas.bob, name="Fran Friend", email=FRIEND)
    referrals.referral_create(referrer=personas.dan, name="Other Person", email="o@x.example")
    client.force_login(personas.bob)
    response = client.get(reverse(PAGE))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Fran Friend" in html and "Invited" in html
    assert "Other Person" not in html and "o@x.example" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 50])
def test_the_list_takes_the_same_queries_for_1_and_50_referrals(
    client, personas, django_assert_max_num_queries, rows
):
    Referral.objects.bulk_create(
        Referral(referrer=personas.bob, friend_name=f"F {n}", friend_email=f"f{n}@x.example")
        for n in range(rows)
    )
    client.force_login(personas.bob)
    # the user with its client (the session is in the cache), the current policy version
    # (the base layout's banner), the referrals; the request's savepoint and its release
    with django_assert_max_num_queries(5):
        response = client.get(reverse(PAGE))
    assert response.status_code == 200
    assert response.content.decode().count("@x.example") == rows


@pytest.mark.django_db
def test_a_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse(PAGE))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


@pytest.mark.django_db
def test_a_referral_sends_one_invitation_with_the_one_click_removal_headers(
    client, personas, smtp_server, django_capture_on_commit_callbacks, settings
):
    client.force_login(personas.bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = _refer(client, email="  Fran.Friend@Elsewhere.EXAMPLE ", note="Try it!")
    assert response.status_code == 302
    referral = Referral.objects.get(referrer=personas.bob)
    assert referral.friend_email == FRIEND and referral.status == Referral.Status.INVITED
    due = timezone.now() + timedelta(days=7)  # REFERRAL_REMINDER_DAYS
    assert abs((referral.remind_at - due).total_seconds()) < 60
    assert _referral_mail().count() == 1
    [sent] = smtp_server.messages
    assert sent["To"] == FRIEND
    assert "Bob Member" in sent["Subject"]
    link = sent["List-Unsubscribe"].strip().strip("<>")
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.startswith(settings.SITE_URL + "/mail/referral/remove/")
    assert referrals.address_from_token(link.rstrip("/").rsplit("/", 1)[1]) == FRIEND
    body = body_of(sent)
    assert "Try it!" in body and link in body
    event = AuditEvent.objects.get(action=AuditEvent.Action.REFERRAL_SENT)
    assert event.actor == personas.bob and event.client_id is None  # not the employer's business
    assert FRIEND not in str(event.changes)


@pytest.mark.django_db
def test_the_note_is_plain_text_in_the_mail_and_escaped_in_its_html(client, personas):
    note = '<a href="https://evil.example">click</a> & <script>alert(1)</script>\nLine two'
    client.force_login(personas.bob)
    assert _refer(client, note=note).status_code == 302
    message = _referral_mail().get()
    assert note in message.body_text  # the text part: as written
    assert "<script>" not in message.body_html and '<a href="https://evil' not in message.body_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.body_html
    assert "Line two" in message.body_html


# --- refusals -------------------------------------------------------------------------------


def _form_without(response, address: str) -> str:
    """The referral form as shown back, without what differs anyway: its CSRF token and the
    address typed in."""
    form = response.content.decode().split('<form method="post">', 1)[1].split("</form>")[0]
    form = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", form)
    return form.replace(address, "ADDRESS").replace(address.lower(), "ADDRESS")


@pytest.mark.django_db
def test_refusals_look_the_same_whatever_the_reason(client, personas):
    suppression.suppress(
        "bounced@x.example",
        reason=Suppression.Reason.HARD_BOUNCE,
        scope=Suppression.Scope.ALL,
    )
    suppression.suppress(
        "removed@x.example",
        reason=Suppression.Reason.REFERRAL_REMOVAL,
        scope=Suppression.Scope.REFERRAL,
    )
    client.force_login(personas.bob)
    assert _refer(client, email="again@x.example").status_code == 302
    outbox_before = OutboundMessage.objects.count()
    pages = {}
    for reason, address in {
        "account elsewhere": personas.dan.email.upper(),  # another client's user
        "own account": personas.bob.email,
        "bounced": "bounced@x.example",
        "removed": "removed@x.example",
        "already referred": "again@x.example",
    }.items():
        response = _refer(client, email=address)
        assert response.status_code == 400, reason
        assert referrals.REFUSED in response.content.decode(), reason
        pages[reason] = _form_without(response, address)
    assert len(set(pages.values())) == 1, pages
    assert OutboundMessage.objects.count() == outbox_before
    assert Referral.objects.filter(referrer=personas.bob).count() == 1


@pytest.mark.django_db
def test_referrals_are_limited_per_user_per_day(client, personas, settings):
    settings.REFERRALS_PER_USER_PER_DAY = 2
    client.force_login(personas.bob)
    assert _refer(client, email="one@x.example").status_code == 302
    assert _refer(client, email=personas.dan.email).status_code == 400  # refused: counts too
    response = _refer(client, email="three@x.example")
    assert response.status_code == 400
    text = response.content.decode()
    assert "You have told 2 friends about OpsX in the last 24 hours" in text
    assert "Try again after" in text
    assert not Referral.objects.filter(friend_email="three@x.example").exists()
    client.force_login(personas.alice)  # another user has their own allowance
    assert _refer(client, email="three@x.example").status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "a\r\nBcc: victim@x.example"}, "on one line"),
        ({"name": "Fran\x00"}, "Null characters are not allowed"),
        ({"name": "Fran\x1b[2J"}, "on one line"),
        ({"name": "F" * 151}, "at most 150 characters"),
        ({"name": "   "}, "This field is required"),
        ({"note": "n" * 1001}, "at most 1000 characters"),
        ({"note": "bell \x07"}, "control characters"),
        ({"email": "fran@"}, "valid email"),
        ({"email": "fran@x.example\r\nBcc: victim@x.example"}, "valid email"),
        ({"email": "x" * 300 + "@x.example"}, "at most 254"),
    ],
)
def test_hostile_input_gets_a_clear_error_and_sends_nothing(client, personas, data, message):
    client.force_login(personas.bob)
    response = _refer(client, **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Referral.objects.exists() and not OutboundMessage.objects.exists()


@pytest.mark.django_db
def test_the_service_itself_refuses_header_injection_in_the_name(personas):
    with pytest.raises(referrals.ValidationError):
        referrals.referral_create(referrer=personas.bob, name="a\r\nBcc: x", email=FRIEND)
    with pytest.raises(referrals.ValidationError):
        referrals.referral_create(referrer=personas.bob, name="Fran", email=FRIEND, note="x" * 2000)
    assert not Referral.objects.exists()


# --- the friend's "remove my information" link -----------------------------------------------


@pytest.mark.django_db
def test_the_link_asks_first_then_removes_every_referral_and_suppresses_the_address(
    personas, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the mails stay pending
        referrals.referral_create(referrer=personas.bob, name="Fran", email=FRIEND)
        referrals.referral_create(referrer=personas.dan, name="Frannie", email=FRIEND)
    pending = list(_referral_mail())
    browser = HttpClient(enforce_csrf_checks=True)
    response = browser.get(_removal_path())
    assert response.status_code == 200
    assert "Remove my information" in response.content.decode()
    assert Referral.objects.filter(friend_email=FRIEND).count() == 2  # a GET changes nothing

    # RFC 8058: the mail client posts this to the List-Unsubscribe URL, without a CSRF token
    response = browser.post(
        _removal_path(), "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert response.status_code == 200
    assert not Referral.objects.filter(friend_email=FRIEND).exists()
    assert suppression.is_suppressed(FRIEND, category=Category.REFERRAL)
    assert not suppression.is_suppressed(FRIEND, category=Category.SERVICE)  # referral only
    event = AuditEvent.objects.get(action=AuditEvent.Action.REFERRAL_DATA_REMOVED)
    assert event.actor is None and event.counts == {"referrals": 2, "suppressed": 1}

    # the invitations still pending end suppressed at send time: nothing goes out
    for message in pending:
        assert mail.deliver(message.pk) is False
        message.refresh_from_db()
        assert message.status == OutboundMessage.Status.SUPPRESSED and message.body_text == ""

    # and nobody can refer the address again
    carol = HttpClient()
    carol.force_login(personas.carol)
    response = _refer(carol, email=FRIEND.upper())
    assert response.status_code == 400 and referrals.REFUSED in response.content.decode()


@pytest.mark.django_db
def test_the_pages_are_the_same_whether_or_not_anything_was_stored(personas):
    referrals.referral_create(referrer=personas.bob, name="Fran", email=FRIEND)
    browser = HttpClient()
    pages = []
    for address in (FRIEND, "never.heard.of@x.example"):
        shown = browser.get(_removal_path(address)).content.decode()
        done = browser.post(_removal_path(address)).content.decode()
        pages.append((shown, done))
    assert pages[0] == pages[1]
    assert suppression.is_suppressed("never.heard.of@x.example", category=Category.REFERRAL)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "token",
    [
        lambda: referrals.removal_token(FRIEND)[:-3] + "abc",  # tampered signature
        lambda: signed_links.make("newsletter-unsubscribe", FRIEND),  # another link's token
        lambda: signed_links.make(referrals.REMOVE_PURPOSE, ["not", "an", "address"]),
        lambda: "x" * 700,
        lambda: "garbage",
    ],
)
def test_a_bad_link_gets_a_clear_page_and_changes_nothing(client, personas, token):
    referrals.referral_create(referrer=personas.bob, name="Fran", email=FRIEND)
    path = reverse("referral_remove", args=[token()])
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 400
        assert "This link cannot be used" in response.content.decode()
    assert Referral.objects.filter(friend_email=FRIEND).exists()
    assert not Suppression.objects.exists()


@pytest.mark.django_db
def test_an_old_link_still_removes(personas, settings):
    token = referrals.removal_token(FRIEND)
    settings.MAIL_UNSUBSCRIBE_MAX_AGE_DAYS = 0  # no effect: removal links do not expire
    response = HttpClient().post(reverse("referral_remove", args=[token]))
    assert response.status_code == 200
    assert suppression.is_suppressed(FRIEND, category=Category.REFERRAL)


# --- send time, reminder and sign-up --------------------------------------------------------


@pytest.mark.django_db
def test_an_invitation_pending_when_the_friend_got_an_account_is_not_sent(
    personas, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        referrals.referral_create(referrer=personas.bob, name="Fran", email=FRIEND)
    UserFactory(email=FRIEND)  # invited elsewhere in the meantime
    message = _referral_mail().get()
    assert mail.deliver(message.pk) is False
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.SUPPRESSED


def _due(referral):
    Referral.objects.filter(pk=referral.pk).update(remind_at=timezone.now() - timedelta(minutes=1))


@pytest.mark.django_db
def test_the_reminder_goes_once(personas, smtp_server, django_capture_on_commit_callbacks):
    from accounts.tasks import referral_reminders_send

    referral = referrals.referral_create(referrer=personas.bob, name="Fran", email=FRIEND)
    assert referrals.referral_reminders_send() == 0  # not due yet
    _due(referral)
    with django_capture_on_commit_callbacks(execute=True):
        assert referral_reminders_send.delay().get() == 1
        assert referral_reminders_send.delay().get() == 0
    reminders = [m for m in smtp_server.messages if "reminder" in m["Subject"].lower()]
    assert len(reminders) == 1 and reminders[0]["List-Unsubscribe"]
    referral.refresh_from_db()
    assert referral.remind_at is None and referral.reminded_at is not None
    assert _referral_mail().count() == 2  # the invitation and one reminder


def _confirm_link(address: str) -> str:
    message = OutboundMessage.objects.filter(to_email=address).latest("created_at")
    return re.search(r"https?://\S+/accounts/confirm-email/\S+", message.body_text).group(0)


@pytest.mark.django_db
def test_after_the_friend_signs_up_there_is_no_reminder_and_the_referrer_sees_it(
    client, personas, settings
):
    referral = referrals.referral_create(referrer=personas.bob, name="Fran", email=FRIEND)
    referrals.referral_create(referrer=personas.dan, name="Fran", email=FRIEND)
    today = timezone.localdate()
    response = HttpClient().post(
        reverse("account_signup"),
        {
            "company_name": "Fran's Farm",
            "full_name": "Fran Friend",
            "email": FRIEND,
            "date_of_birth": today.replace(year=today.year - 30).isoformat(),
            "password1": "a sturdy pass phrase 42",
            "password2": "a sturdy pass phrase 42",
        },
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == Referral.Status.INVITED  # not until the address is confirmed
    link = _confirm_link(FRIEND)
    friend = HttpClient()
    assert friend.post(link.split(settings.SITE_URL, 1)[-1]).status_code == 302
    for row in Referral.objects.filter(friend_email=FRIEND):
        assert row.status == Referral.Status.SIGNED_UP and row.signed_up_at is not None
        assert row.remind_at is None
    _due(referral)
    assert referrals.referral_reminders_send() == 0
    assert not OutboundMessage.objects.filter(subject__icontains="reminder").exists()
    client.force_login(personas.bob)
    assert "Signed up" in client.get(reverse(PAGE)).content.decode()


@pytest.mark.django_db
def test_an_invited_member_counts_as_signed_up(personas):
    from accounts import services
    from tests.factories import InvitationFactory

    referrals.referral_create(referrer=personas.dan, name="Fran", email=FRIEND)
    invitation = InvitationFactory(client=personas.client_a, email=FRIEND)
    services.invitation_accept(invitation=invitation, full_name="Fran", password="x" * 12)
    assert Referral.objects.get().status == Referral.Status.SIGNED_UP


@pytest.mark.django_db
def test_a_due_reminder_to_an_address_that_bounced_since_is_cancelled(personas):
    referral = referrals.referral_create(referrer=personas.bob, name="Fran", email=FRIEND)
    suppression.suppress(FRIEND, reason=Suppression.Reason.HARD_BOUNCE, scope=Suppression.Scope.ALL)
    _due(referral)
    assert referrals.referral_reminders_send() == 0
    referral.refresh_from_db()
    assert referral.status == Referral.Status.CANCELLED and referral.remind_at is None


# --- retention and privacy requests ---------------------------------------------------------


@pytest.mark.django_db
def test_retention_deletes_old_referrals_and_keeps_only_counts(personas, settings):
    from accounts.tasks import referrals_expire

    old = referrals.referral_create(referrer=personas.bob, name="Old", email="old@x.example")
    done = referrals.referral_create(referrer=personas.bob, name="Done", email="done@x.example")
    young = referrals.referral_create(referrer=personas.bob, name="Young", email=FRIEND)
    long_ago = timezone.now() - timedelta(days=settings.REFERRAL_RETENTION_DAYS + 1)
    Referral.objects.filter(pk__in=[old.pk, done.pk]).update(created_at=long_ago)
    Referral.objects.filter(pk=done.pk).update(status=Referral.Status.SIGNED_UP)
    assert referrals_expire.delay().get() == 2
    assert list(Referral.objects.values_list("pk", flat=True)) == [young.pk]
    event = AuditEvent.objects.get(action=AuditEvent.Action.REFERRALS_EXPIRED)
    assert event.counts == {"referrals": 2, "signed_up": 1}
    assert referrals.referrals_expire() == 0


@pytest.mark.django_db
def test_a_removal_request_for_referral_data_does_what_the_link_does(client, personas, sam):
    referrals.referral_create(referrer=personas.bob, name="Fran", email=FRIEND)
    request = privacy_services.request_file(
        kind=PrivacyRequest.Kind.REMOVAL,
        channel=PrivacyRequest.Channel.STAFF,
        filed_by=sam,
        name="Fran Friend",
        email=FRIEND,
        details="Someone gave you my address; delete it.",
        removal_target=PrivacyRequest.RemovalTarget.REFERRAL,
    )
    client.force_login(sam)
    page = client.get(reverse("admin:privacy_privacyrequest_change", args=[request.pk]))
    assert page.status_code == 200 and "Remove the referral data" in page.content.decode()
    url = reverse("admin:privacy_privacyrequest_act", args=[request.pk, "remove_referrals"])
    assert client.post(url).status_code == 302
    assert not Referral.objects.exists()
    assert suppression.is_suppressed(FRIEND, category=Category.REFERRAL)
    request.refresh_from_db()
    assert request.status == PrivacyRequest.Status.DONE
    event = AuditEvent.objects.get(action=AuditEvent.Action.REFERRAL_DATA_REMOVED)
    assert event.actor == sam


@pytest.mark.django_db
def test_a_suspended_clients_user_gets_the_refusal_page(client, personas):
    personas.client_a.status = personas.client_a.Status.SUSPENDED
    personas.client_a.save(update_fields=["status"])
    client.force_login(personas.bob)
    assert client.get(reverse(PAGE)).status_code == 403
    assert not User.objects.filter(email=FRIEND).exists()
