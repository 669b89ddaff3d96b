"""The archive's life: a failed build says why and leaves the request open, a build runs
once however often the task is delivered, and expired archives lose their file daily."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone

from clients.models import AuditEvent
from opsx.models import OutboundMessage
from privacy import archive as service
from privacy.models import AccessArchive, PrivacyRequest
from privacy.services import due_for
from privacy.tasks import privacy_archive_build, privacy_archives_expire

from .archive_objects import build_for


def _staff_request(user, *, status=PrivacyRequest.Status.VERIFYING):
    now = timezone.now()
    return PrivacyRequest.objects.create(
        kind=PrivacyRequest.Kind.ACCESS,
        channel=PrivacyRequest.Channel.STAFF,
        status=status,
        requester=user,
        requester_email=user.email,
        received_at=now,
        due_at=due_for(PrivacyRequest.Kind.ACCESS, now),
    )


@pytest.mark.django_db
def test_a_failed_build_is_marked_failed_with_a_clear_message_and_the_request_stays_open(
    client, personas, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(user):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "archive_data", broken)
    archive = build_for(personas.bob, django_capture_on_commit_callbacks)
    assert archive.status == AccessArchive.Status.FAILED
    assert archive.failure_reason == service.FAILED_MESSAGE
    assert "disk on fire" not in archive.failure_reason  # no internals for the user
    assert not archive.file
    assert archive.request.status == PrivacyRequest.Status.IN_PROGRESS
    assert archive.request.events.filter(message__startswith="Archive failed").exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ACCESS_ARCHIVE_FAILED).exists()
    assert not OutboundMessage.objects.filter(to_email=personas.bob.email).exists()
    client.force_login(personas.bob)
    assert "We could not build this copy" in client.get("/app/account/privacy/archives/").text


@pytest.mark.django_db
def test_running_the_build_again_does_nothing(personas, django_capture_on_commit_callbacks):
    archive = build_for(personas.bob, django_capture_on_commit_callbacks)
    name = archive.file.name
    assert privacy_archive_build.delay(archive.pk).get() == "skipped"
    archive.refresh_from_db()
    assert archive.file.name == name
    assert OutboundMessage.objects.filter(to_email=personas.bob.email).count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ACCESS_ARCHIVE_BUILT).count() == 1


@pytest.mark.django_db
def test_staff_can_answer_a_request_with_an_archive_which_moves_it_on(
    personas, sam, django_capture_on_commit_callbacks
):
    request = _staff_request(personas.bob)
    with django_capture_on_commit_callbacks(execute=True):
        archive = service.archive_request(user=personas.bob, request=request, actor=sam)
    archive.refresh_from_db()
    request.refresh_from_db()
    assert archive.status == AccessArchive.Status.READY
    assert request.status == PrivacyRequest.Status.DONE
    statuses = list(request.events.values_list("to_status", flat=True))
    assert statuses[0] == PrivacyRequest.Status.IN_PROGRESS


@pytest.mark.django_db
def test_no_archive_for_a_closed_request_or_another_kind(personas, sam):
    withdrawn = _staff_request(personas.bob, status=PrivacyRequest.Status.WITHDRAWN)
    with pytest.raises(ValidationError, match="withdrawn"):
        service.archive_request(user=personas.bob, request=withdrawn, actor=sam)
    deletion = _staff_request(personas.bob)
    deletion.kind = PrivacyRequest.Kind.DELETION
    with pytest.raises(ValidationError, match="Only an access request"):
        service.archive_request(user=personas.bob, request=deletion, actor=sam)
    assert not AccessArchive.objects.exists()


@pytest.mark.django_db
def test_a_request_withdrawn_before_the_build_gets_no_archive(personas, sam):
    request = _staff_request(personas.bob)
    archive = service.archive_request(user=personas.bob, request=request, actor=sam)
    PrivacyRequest.objects.filter(pk=request.pk).update(status=PrivacyRequest.Status.WITHDRAWN)
    assert service.archive_run(archive.pk) == AccessArchive.Status.FAILED
    archive.refresh_from_db()
    assert "withdrawn" in archive.failure_reason and not archive.file


@pytest.mark.django_db
def test_expiry_deletes_the_files_of_archives_past_their_date_only(
    personas, django_capture_on_commit_callbacks
):
    old = build_for(personas.bob, django_capture_on_commit_callbacks)
    fresh = build_for(personas.dan, django_capture_on_commit_callbacks)
    AccessArchive.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    assert default_storage.exists(old.file.name)
    with django_capture_on_commit_callbacks(execute=True):
        assert privacy_archives_expire.delay().get() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == AccessArchive.Status.EXPIRED and not old.file
    assert not default_storage.exists(old.file.name or "privacy-archives/none.zip")
    assert fresh.status == AccessArchive.Status.READY
    assert default_storage.exists(fresh.file.name)
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_ARCHIVES_EXPIRED)
    assert event.counts == {"archives": 1}
    assert service.archive_expire() == 0


@pytest.mark.django_db
def test_expiry_deletes_the_stored_file(personas, django_capture_on_commit_callbacks):
    archive = build_for(personas.bob, django_capture_on_commit_callbacks)
    name = archive.file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert service.archive_expire(now=archive.expires_at) == 1
    assert not default_storage.exists(name)


@pytest.mark.django_db
def test_a_build_never_enqueued_is_enqueued_again_by_the_daily_sweep(personas, sam):
    archive = service.archive_request(
        user=personas.bob, request=_staff_request(personas.bob), actor=sam
    )  # its on-commit enqueue never runs here: as if the broker had been down
    AccessArchive.objects.filter(pk=archive.pk).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    assert service.archives_resume_stale() == 1  # eager: built now
    archive.refresh_from_db()
    assert archive.status == AccessArchive.Status.READY


def test_expiry_runs_daily_at_four():
    entry = settings.CELERY_BEAT_SCHEDULE["privacy-archives-expire"]
    assert entry["task"] == "privacy.tasks.privacy_archives_expire"
    assert entry["schedule"].hour == {4} and entry["schedule"].minute == {0}
