"""Asking for a copy from the account pages, and downloading it: signed in (own archive
only) or by the emailed signed link; expired copies answer 410, broken links 400."""

from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client as BrowserClient
from django.urls import reverse
from django.utils import timezone

from clients.models import AuditEvent
from opsx.models import OutboundMessage
from privacy import archive as service
from privacy.models import AccessArchive, PrivacyRequest, PrivacyRequestEvent

from .archive_objects import build_for, unzip

LIST = reverse("privacy:archives")


def _download_url(archive):
    return reverse("privacy:archive_download", args=[archive.public_id])


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def ready(personas, django_capture_on_commit_callbacks):
    return build_for(personas.bob, django_capture_on_commit_callbacks)


@pytest.mark.django_db
def test_asking_for_a_copy_files_a_verified_request_and_builds_it(
    client, personas, django_capture_on_commit_callbacks
):
    client.force_login(personas.bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(LIST)
    assert response.status_code == 302 and response["Location"] == LIST
    archive = AccessArchive.objects.get(user=personas.bob)
    assert archive.status == AccessArchive.Status.READY and archive.size > 0
    assert archive.expires_at - archive.ready_at == timedelta(days=7)
    request = archive.request
    assert request.kind == PrivacyRequest.Kind.ACCESS
    assert request.requester == personas.bob and request.verified_at is not None
    assert request.status == PrivacyRequest.Status.DONE and request.closed_at is not None
    assert "Download it" in request.outcome
    actions = list(request.events.values_list("action", flat=True))
    Action = PrivacyRequestEvent.Action
    assert actions == [Action.FILED, Action.STATUS_CHANGED, Action.ARCHIVE_BUILT, Action.DONE]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ACCESS_ARCHIVE_BUILT).count() == 1
    mail = OutboundMessage.objects.get(to_email=personas.bob.email)
    assert mail.category == OutboundMessage.Category.ACCOUNT
    assert mail.subject == "Your copy of your OpsX data is ready"
    assert mail.expires_at is not None


@pytest.mark.django_db
def test_the_mail_carries_the_account_link_and_a_working_signed_link(
    personas, smtp_server, settings, django_capture_on_commit_callbacks
):
    from tests.conftest import body_of

    build_for(personas.bob, django_capture_on_commit_callbacks)
    (message,) = smtp_server.messages
    body = body_of(message)
    assert "http://" in body or "https://" in body
    assert reverse("privacy:archives") in body
    signed = settings.SITE_URL + "/privacy/archives/"
    link = next(word for word in body.split() if word.startswith(signed))
    path = link.removeprefix(settings.SITE_URL)
    response = BrowserClient().get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"


@pytest.mark.django_db
def test_a_second_ask_while_one_is_open_is_refused_with_a_message(client, personas):
    client.force_login(personas.bob)
    client.post(LIST)  # stays BUILDING: the on-commit build never runs in this test
    response = client.post(LIST, follow=True)
    assert response.status_code == 200
    assert "already being made" in response.content.decode()
    assert AccessArchive.objects.filter(user=personas.bob).count() == 1
    assert "A copy is being made" in response.content.decode()


@pytest.mark.django_db
def test_the_owner_downloads_the_archive_as_an_attachment(client, personas, ready):
    client.force_login(personas.bob)
    response = client.get(_download_url(ready))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert ".zip" in response["Content-Disposition"]
    assert {"private", "no-store"} <= {d.strip() for d in response["Cache-Control"].split(",")}
    data, _ = unzip(_body(response))
    assert data["about"]["user"] == str(personas.bob.public_id)
    ready.refresh_from_db()
    assert ready.downloaded_at is not None
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_ARCHIVE_DOWNLOADED)
    assert event.actor == personas.bob and event.target_id == ready.public_id
    assert ready.request.events.filter(action=PrivacyRequestEvent.Action.ARCHIVE_DOWNLOADED)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["alice", "dan"])
def test_another_users_archive_is_not_found(client, personas, ready, who):
    client.force_login(getattr(personas, who))
    assert client.get(_download_url(ready)).status_code == 404
    ready.refresh_from_db()
    assert ready.downloaded_at is None


@pytest.mark.django_db
def test_an_unknown_archive_is_not_found(client, personas):
    client.force_login(personas.bob)
    url = reverse("privacy:archive_download", args=["00000000-0000-0000-0000-000000000000"])
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_a_visitor_is_sent_to_sign_in(client, ready):
    response = client.get(_download_url(ready))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


@pytest.mark.django_db
def test_an_expired_archive_answers_410_with_a_clear_message(client, personas, ready):
    AccessArchive.objects.filter(pk=ready.pk).update(expires_at=timezone.now())
    client.force_login(personas.bob)
    response = client.get(_download_url(ready))
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert service.archive_expire() == 1
    response = client.get(_download_url(ready))
    assert response.status_code == 410
    assert "Ask for a new one" in response.content.decode()


@pytest.mark.django_db
def test_a_copy_being_built_is_not_downloadable_yet(client, personas):
    client.force_login(personas.bob)
    client.post(LIST)
    archive = AccessArchive.objects.get(user=personas.bob)
    response = client.get(_download_url(archive))
    assert response.status_code == 404
    assert "still being made" in response.content.decode()


@pytest.mark.django_db
def test_the_signed_link_downloads_without_signing_in(personas, ready):
    visitor = BrowserClient()
    response = visitor.get(reverse("privacy:archive_signed", args=[service.archive_token(ready)]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    data, _ = unzip(_body(response))
    assert data["about"]["user"] == str(personas.bob.public_id)
    event = ready.request.events.filter(action=PrivacyRequestEvent.Action.ARCHIVE_DOWNLOADED)
    assert event.get().message == "Downloaded with the emailed link."


@pytest.mark.django_db
@pytest.mark.parametrize(
    "token",
    ["garbage", "x" * 2000, "eyJhIjoiMSJ9:1abc:tampered"],
)
def test_a_broken_or_tampered_link_answers_400(client, ready, token):
    response = client.get(reverse("privacy:archive_signed", args=[token]))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


@pytest.mark.django_db
def test_a_link_signed_for_another_archive_id_is_tampered(client, ready):
    token = service.archive_token(ready)
    other = signing.dumps({"a": "00000000-0000-0000-0000-000000000000"}, salt="other.salt")
    assert client.get(reverse("privacy:archive_signed", args=[other])).status_code == 400
    assert (
        client.get(reverse("privacy:archive_signed", args=[token[:-2] + "zz"])).status_code == 400
    )


@pytest.mark.django_db
def test_an_old_link_answers_400_and_a_link_to_an_expired_archive_410(
    client, ready, settings, time_machine
):
    url = reverse("privacy:archive_signed", args=[service.archive_token(ready)])
    AccessArchive.objects.filter(pk=ready.pk).update(expires_at=timezone.now())
    response = client.get(url)
    assert response.status_code == 410 and "expired" in response.content.decode()
    time_machine.move_to(timezone.now() + timedelta(days=8))
    response = client.get(url)
    assert response.status_code == 400 and "link has expired" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 30])
def test_the_list_takes_the_same_queries_for_1_or_30_archives(
    client, personas, django_assert_max_num_queries, count
):
    now = timezone.now()
    AccessArchive.objects.bulk_create(
        AccessArchive(
            user=personas.bob,
            status=AccessArchive.Status.READY,
            file="privacy-archives/x.zip",
            size=1000,
            ready_at=now,
            expires_at=now + timedelta(days=7),
        )
        for _ in range(count)
    )
    AccessArchive.objects.create(user=personas.dan)  # someone else's
    client.force_login(personas.bob)
    # session, user, the archives (savepoints and the rest are the request's own)
    with django_assert_max_num_queries(8):
        response = client.get(LIST)
    assert response.status_code == 200
    assert response.content.decode().count("/download/") == count
    assert {"private", "no-store"} <= {d.strip() for d in response["Cache-Control"].split(",")}


@pytest.mark.django_db
def test_the_list_shows_an_archive_past_its_expiry_as_expired_without_a_link(
    client, personas, ready
):
    AccessArchive.objects.filter(pk=ready.pk).update(expires_at=timezone.now())
    client.force_login(personas.bob)
    page = client.get(LIST).content.decode()
    assert "Expired" in page and _download_url(ready) not in page


@pytest.mark.django_db
def test_a_head_request_answers_like_the_download_without_counting_as_one(client, personas, ready):
    """A mail program or a link scanner checking the emailed link is not a download."""
    visitor = BrowserClient()
    signed = reverse("privacy:archive_signed", args=[service.archive_token(ready)])
    response = visitor.head(signed)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response.content == b""
    client.force_login(personas.bob)
    assert client.head(_download_url(ready)).status_code == 200
    ready.refresh_from_db()
    assert ready.downloaded_at is None
    assert not AuditEvent.objects.filter(action="access_archive.downloaded").exists()
    assert not ready.request.events.filter(
        action=PrivacyRequestEvent.Action.ARCHIVE_DOWNLOADED
    ).exists()
    # A HEAD on an expired copy says so, as the GET would.
    AccessArchive.objects.filter(pk=ready.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert visitor.head(signed).status_code == 410
