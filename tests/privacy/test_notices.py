"""Notices: staff compose one in admin and send it as a legal notice to every user or to the
users of chosen clients (batched, resumable); while current its banner shows on every page to
the users of its audience until they dismiss it, and to anonymous visitors when it is for all."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from clients.models import AuditEvent
from opsx.models import OutboundMessage
from privacy import notices
from privacy.models import EmailPreference, NewsletterSubscriber, Notice, NoticeDelivery
from privacy.tasks import privacy_notice_deliver, privacy_policy_notify_pending
from tests.factories import ClientFactory, UserFactory

LIST = reverse("admin:privacy_notice_changelist")
ADD = reverse("admin:privacy_notice_add")
TITLE = "HexCM has a new owner"
EVERYONE = {"alice@acme.example", "bob@acme.example", "carol@bravo.example", "dan@bravo.example"}


def change_url(notice):
    return reverse("admin:privacy_notice_change", args=[notice.pk])


def mails(title=TITLE):
    return OutboundMessage.objects.filter(subject=f"OpsX notice: {title}")


def draft(title=TITLE, *, clients=(), **fields):
    notice = Notice.objects.create(
        title=title,
        body="Acme Holdings **bought** HexCM.\n\n<script>alert(1)</script>",
        audience=Notice.Audience.CLIENTS if clients else Notice.Audience.ALL,
        **fields,
    )
    notice.clients.set(clients)
    return notice


@pytest.fixture
def staff_client(client, sam):
    client.force_login(sam)
    return client


@pytest.fixture
def crowd(personas):
    """The personas, plus a deactivated user, an unverified one, one who opted out of service
    mail and the newsletter, and a user of a third client."""
    gone = UserFactory(client=personas.client_a, email="gone@acme.example")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    UserFactory(client=personas.client_b, email="new@bravo.example").emailaddress_set.update(
        verified=False
    )
    EmailPreference.objects.create(user=personas.bob, service_notices=False)
    personas.client_c = ClientFactory(name="Charlie")
    personas.eve = UserFactory(client=personas.client_c, email="eve@charlie.example")
    return personas


def send(notice, actor, capture):
    with capture(execute=True):
        notices.send_notice(notice, actor=actor)
    notice.refresh_from_db()
    return notice


# --- admin ---


def test_staff_write_a_notice_see_its_preview_and_send_it_from_its_page(
    staff_client, sam, crowd, django_capture_on_commit_callbacks
):
    assert staff_client.get(LIST).status_code == 200
    assert staff_client.get(ADD).status_code == 200
    response = staff_client.post(
        ADD,
        {
            "title": TITLE,
            "body": "We were **bought**.\n\n<script>alert(1)</script>",
            "audience": "clients",
            "clients": [crowd.client_a.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    notice = Notice.objects.get(title=TITLE)
    assert list(notice.clients.all()) == [crowd.client_a] and notice.sent_at is None
    page = staff_client.get(change_url(notice)).content.decode()
    assert '<div class="notice-preview"><p>We were <strong>bought</strong>.</p>' in page
    assert "<script>alert(1)</script>" not in page
    assert 'name="_send"' in page and "It would be mailed to 2 users." in page
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            change_url(notice),
            {"title": TITLE, "body": "We were bought.", "audience": "clients",
             "clients": [crowd.client_a.pk], "_send": "1"},
            follow=True,
        )  # fmt: skip
    assert "is sent: its users are being mailed" in response.content.decode()
    notice.refresh_from_db()
    assert notice.sent_at is not None and notice.body == "We were bought."
    page = staff_client.get(change_url(notice)).content.decode()
    assert "2 of 2 users mailed." in page and 'name="_send"' not in page
    assert 'name="body"' not in page  # what users were told stays as told
    sent = AuditEvent.objects.get(action=AuditEvent.Action.NOTICE_SENT, target_id=notice.public_id)
    assert sent.actor == sam and sent.counts == {"users": 2}
    assert (
        AuditEvent.objects.filter(
            action=AuditEvent.Action.NOTICE_SAVED, target_id=notice.public_id, actor=sam
        ).count()
        == 2
    )


def test_a_notice_to_chosen_clients_needs_clients_and_sane_dates(staff_client, personas):
    response = staff_client.post(
        ADD,
        {"title": "x", "body": "y", "audience": "clients",
         "current_from_0": "2030-01-02", "current_from_1": "10:00:00",
         "current_until_0": "2030-01-01", "current_until_1": "10:00:00"},
    )  # fmt: skip
    assert response.status_code == 200
    html = response.content.decode()
    assert "Choose the clients whose users are told" in html
    assert "The banner must end after it starts." in html
    assert not Notice.objects.exists()


def test_the_send_action_and_a_second_send_is_refused(
    staff_client, personas, django_capture_on_commit_callbacks
):
    notice = draft()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            LIST, {"action": "send", "_selected_action": [notice.pk]}, follow=True
        )
    assert "is sent" in response.content.decode()
    assert mails().count() == 4
    response = staff_client.post(
        LIST, {"action": "send", "_selected_action": [notice.pk]}, follow=True
    )
    assert "was already sent" in response.content.decode()
    assert mails().count() == 4


@pytest.mark.parametrize("rows", [1, 20])
def test_the_admin_list_runs_a_constant_number_of_queries(
    staff_client, personas, rows, django_assert_max_num_queries
):
    now = timezone.now()
    for i in range(rows):
        notice = draft(f"Notice {i}", clients=[personas.client_a], sent_at=now)
        NoticeDelivery.objects.create(notice=notice, user=personas.bob, delivered_at=now)
    staff_client.get(LIST)
    # session user, savepoint, MFA check, count, filtered count, the page with its delivered
    # counts, release: none per row
    with django_assert_max_num_queries(8):
        response = staff_client.get(LIST)
    assert response.content.decode().count('class="field-delivered">1<') == rows


def test_a_client_user_cannot_open_the_notices_admin(client, personas):
    client.force_login(personas.alice)
    assert client.get(LIST, follow=True).status_code == 403


# --- who is mailed ---


def test_a_notice_to_all_reaches_every_active_verified_user_as_a_legal_notice(
    crowd, sam, django_capture_on_commit_callbacks
):
    NewsletterSubscriber.objects.filter(user=crowd.bob).delete()  # no newsletter for Bob
    notice = send(draft(), sam, django_capture_on_commit_callbacks)
    told = EVERYONE | {"eve@charlie.example"}  # Bob opted out of service mail: still told
    assert set(mails().values_list("to_email", flat=True)) == told
    assert mails().count() == len(told)
    assert set(mails().values_list("category", flat=True)) == {OutboundMessage.Category.LEGAL}
    assert set(notice.deliveries.values_list("user__email", flat=True)) == told
    assert sam.email not in told
    # a redelivered task or the periodic sweep mails nobody again
    assert privacy_notice_deliver.apply(args=[notice.pk]).get() == 0
    assert privacy_policy_notify_pending.apply().get() == 0
    assert mails().count() == len(told)
    done = AuditEvent.objects.get(
        action=AuditEvent.Action.NOTICE_DELIVERED, target_id=notice.public_id
    )
    assert done.counts == {"users": len(told)}


def test_a_notice_to_chosen_clients_reaches_exactly_their_users(
    crowd, sam, django_capture_on_commit_callbacks
):
    send(draft(clients=[crowd.client_a, crowd.client_c]), sam, django_capture_on_commit_callbacks)
    assert set(mails().values_list("to_email", flat=True)) == {
        "alice@acme.example",
        "bob@acme.example",
        "eve@charlie.example",
    }


def test_the_mail_reaches_the_inbox_with_the_rendered_text(
    personas, sam, smtp_server, django_capture_on_commit_callbacks
):
    send(draft(clients=[personas.client_b]), sam, django_capture_on_commit_callbacks)
    inbox = {m["To"]: m for m in smtp_server.messages}
    assert set(inbox) == {"carol@bravo.example", "dan@bravo.example"}
    message = inbox["dan@bravo.example"]
    assert message["Subject"] == f"OpsX notice: {TITLE}"
    assert "List-Unsubscribe" not in message  # a legal notice: no opt-out
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<strong>bought</strong>" in html and "<script>" not in html
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Hello Dan Member" in text and "legal notice" in text


def test_a_run_that_crashed_midway_is_finished_without_repeats_or_gaps(crowd, sam):
    notice = draft()
    notices.send_notice(notice, actor=sam)  # on_commit not run (the test's transaction)
    # the first run: two batches of 2, then it "crashes" during the third
    real = notices._queue_mails
    calls = []

    def crash_on_third(*args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return real(*args)

    notices._queue_mails = crash_on_third
    try:
        with pytest.raises(RuntimeError):
            notices.notice_deliver(notice_id=notice.pk, batch_size=2)
    finally:
        notices._queue_mails = real
    assert NoticeDelivery.objects.filter(notice=notice).count() == 4
    assert mails().count() == 4
    assert notices.notice_progress(notice) == {"delivered": 4, "audience": 5}
    assert notices.notices_deliver_pending() == 1  # only the one not yet told
    assert mails().count() == 5 and mails().values("to_email").distinct().count() == 5
    assert NoticeDelivery.objects.filter(notice=notice).count() == 5


def test_unsent_notices_mail_nobody_and_an_ended_one_cannot_be_sent(personas, sam):
    notice = draft()
    assert notices.notice_deliver(notice_id=notice.pk) == 0
    ended = draft("Old", current_until=timezone.now() - datetime.timedelta(minutes=1))
    with pytest.raises(Exception, match="ends before now"):
        notices.send_notice(ended, actor=sam)
    assert not OutboundMessage.objects.exists()


# --- the banner ---


@pytest.fixture
def current(personas, sam):
    """A notice for client A's users, sent an hour ago, current for a week."""
    now = timezone.now()
    notice = draft(
        clients=[personas.client_a],
        sent_at=now - datetime.timedelta(hours=1),
        current_until=now + datetime.timedelta(days=7),
    )
    return notice


def test_the_banner_shows_on_restricted_pages_until_dismissed(client, personas, current):
    client.force_login(personas.bob)
    for name in ("dashboard", "prospects:list", "account_settings", "home"):
        html = client.get(reverse(name)).content.decode()
        assert f"<summary><strong>{TITLE}</strong></summary>" in html, name
        assert "Acme Holdings <strong>bought</strong> HexCM." in html
        assert "<script>alert(1)</script>" not in html
    dismiss = reverse("privacy:notice_dismiss", args=[current.public_id])
    assert f'action="{dismiss}"' in html
    assert client.get(dismiss).status_code == 405  # a POST only
    response = client.post(dismiss, {"next": "/app/"})
    assert response.status_code == 302 and response["Location"] == "/app/"
    assert TITLE not in client.get(reverse("dashboard")).content.decode()
    delivery = NoticeDelivery.objects.get(notice=current, user=personas.bob)
    assert delivery.dismissed_at is not None
    # a late dismissal joined the record of who was told: Bob was mailed it then
    assert mails().filter(to_email="bob@acme.example").count() == 1
    assert client.post(dismiss).status_code == 302  # twice: no error, no second mail
    assert mails().filter(to_email="bob@acme.example").count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.NOTICE_DISMISSED).count() == 1
    # Alice has not dismissed it
    client.force_login(personas.alice)
    assert TITLE in client.get(reverse("dashboard")).content.decode()


def test_the_dismiss_button_refuses_other_places_and_hostile_input(client, personas, current):
    client.force_login(personas.bob)
    dismiss = reverse("privacy:notice_dismiss", args=[current.public_id])
    response = client.post(dismiss, {"next": "https://evil.example/"})
    assert response["Location"] == reverse("dashboard")
    response = client.post(dismiss, {"next": "/\r\nSet-Cookie: x=1" + "a" * 5000})
    assert response.status_code == 302 and "\n" not in response["Location"]
    # not in its audience, or no such notice: 404, nothing recorded
    client.force_login(personas.dan)
    assert client.post(dismiss).status_code == 404
    assert client.post("/app/notices/not-a-uuid/dismiss/").status_code == 404
    assert not NoticeDelivery.objects.filter(user=personas.dan).exists()
    # signed out: to the sign-in page
    client.logout()
    assert client.post(dismiss).status_code == 302
    csrf = type(client)(enforce_csrf_checks=True)
    csrf.force_login(personas.bob)
    assert csrf.post(dismiss).status_code == 403  # the CSRF token is required


def test_no_banner_outside_its_audience_or_its_dates(client, personas, current):
    client.force_login(personas.dan)  # client B: not in its audience
    assert TITLE not in client.get(reverse("dashboard")).content.decode()
    client.logout()
    assert TITLE not in client.get(reverse("home")).content.decode()  # not for all: not public
    now = timezone.now()
    later = draft("Later", sent_at=now, current_from=now + datetime.timedelta(days=1))
    over = draft("Over", sent_at=now - datetime.timedelta(days=3),
                 current_until=now - datetime.timedelta(days=1))  # fmt: skip
    unsent = draft("Unsent")
    client.force_login(personas.alice)
    html = client.get(reverse("dashboard")).content.decode()
    assert TITLE in html
    for other in (later, over, unsent):
        assert other.title not in html


def test_anonymous_visitors_see_a_notice_for_all_without_a_dismiss_button(client, personas):
    draft(sent_at=timezone.now())
    for name in ("home", "privacy", "account_login"):
        html = client.get(reverse(name)).content.decode()
        assert TITLE in html, name
        assert "Dismiss" not in html


def test_a_sent_notice_s_banner_appears_at_once(
    client, personas, sam, django_capture_on_commit_callbacks
):
    client.force_login(personas.bob)
    client.get(reverse("dashboard"))  # caches "nothing current"
    send(draft(), sam, django_capture_on_commit_callbacks)
    assert TITLE in client.get(reverse("dashboard")).content.decode()


@pytest.mark.parametrize("count", [1, 10])
def test_the_banner_costs_a_constant_number_of_queries(
    client, personas, count, django_assert_num_queries
):
    now = timezone.now()
    for i in range(count):
        draft(f"Notice {i}", sent_at=now, clients=[personas.client_a] if i % 2 else ())
    client.force_login(personas.bob)
    client.get(reverse("account_settings"))  # fills the cache
    with django_assert_num_queries(0):
        current = notices.notices_current()
    assert len(current) == count
    with django_assert_num_queries(1):  # the user's dismissals, one query for all notices
        assert len(notices.banners_for(personas.bob)) == count
    with django_assert_num_queries(0):  # anonymous: those for all, no query at all
        assert len(notices.banners_for(AnonymousUser())) == (count + 1) // 2
    # a page asks once about notices, whether it shows 1 or 10
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("account_settings")).content.decode()
    assert html.count('class="notice-banner"') == count
    assert len([q for q in queries if "privacy_notice" in q["sql"]]) == 1
