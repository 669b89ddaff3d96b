"""Publishing a policy version: drafts become read-only versions; a material change taking
effect later mails every active user a legal notice once, through its Notice (recorded as
NoticeDelivery rows)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from clients.models import AuditEvent
from opsx.models import OutboundMessage
from privacy import policies
from privacy.models import NoticeDelivery, PolicyVersion
from privacy.tasks import privacy_policy_notify, privacy_policy_notify_pending
from tests.conftest import body_of
from tests.factories import StaffFactory, UserFactory


def draft(label="2", *, days=30, material=True, summary="We now keep server logs 30 days."):
    return PolicyVersion.objects.create(
        label=label,
        effective_on=timezone.localdate() + datetime.timedelta(days=days),
        body=f"## Version {label}\n\nNew words.",
        summary=summary,
        material=material,
    )


def notices():
    return OutboundMessage.objects.filter(subject__startswith="Our privacy policy changes")


@pytest.fixture
def crowd(personas, sam):
    """The four personas and Sam (staff), plus a deactivated user and one whose address was
    never verified: only the four active, verified client users are told."""
    gone = UserFactory(client=personas.client_a, email="gone@acme.example")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    unverified = UserFactory(client=personas.client_b, email="new@bravo.example")
    unverified.emailaddress_set.update(verified=False)
    return personas


def test_publishing_a_material_change_mails_every_active_user_once(
    crowd, sam, django_capture_on_commit_callbacks
):
    version = draft()
    with django_capture_on_commit_callbacks(execute=True):
        policies.policy_publish(version=version, actor=sam)
    version.refresh_from_db()
    assert version.published_at is not None and version.published_by == sam
    assert version.notified_at is not None
    told = {"alice@acme.example", "bob@acme.example", "carol@bravo.example", "dan@bravo.example"}
    assert set(notices().values_list("to_email", flat=True)) == told
    assert notices().count() == 4
    assert set(notices().values_list("category", flat=True)) == {OutboundMessage.Category.LEGAL}
    assert (
        set(
            NoticeDelivery.objects.filter(notice__policy_version=version).values_list(
                "user__email", flat=True
            )
        )
        == told
    )
    # a rerun (a redelivered task, the periodic sweep) mails nobody again
    assert privacy_policy_notify.apply(args=[version.pk]).get() == 0
    assert privacy_policy_notify_pending.apply().get() == 0
    assert notices().count() == 4 and NoticeDelivery.objects.count() == 4
    events = AuditEvent.objects.filter(target_id=version.public_id)
    assert set(events.values_list("action", flat=True)) == {
        AuditEvent.Action.POLICY_PUBLISHED,
        AuditEvent.Action.POLICY_NOTICES_SENT,
    }
    assert events.get(action=AuditEvent.Action.POLICY_NOTICES_SENT).counts == {"users": 4}


def test_the_notice_reaches_the_inbox_with_the_date_summary_and_link(
    settings, personas, sam, smtp_server, django_capture_on_commit_callbacks
):
    version = draft(days=10)
    with django_capture_on_commit_callbacks(execute=True):
        policies.policy_publish(version=version, actor=sam)
    mails = {m["To"]: m for m in smtp_server.messages}
    assert "bob@acme.example" in mails and sam.email not in mails
    text = body_of(mails["bob@acme.example"])
    assert f"{version.effective_on:%-d %B %Y}" in mails["bob@acme.example"]["Subject"]
    assert "Version 2 takes effect on" in text and "We now keep server logs 30 days." in text
    assert f"{settings.SITE_URL}/privacy/versions/2/" in text
    assert "legal notice" in text


def test_a_run_that_stopped_midway_is_finished_by_the_next_one_without_duplicates(crowd, sam):
    version = draft()
    with transaction.atomic():
        policies.policy_publish(version=version, actor=sam)  # on_commit not run: no task yet
    assert policies.policy_notify(version_id=version.pk, batch_size=3) == 4
    # a crash after the first batch: forget the second batch's work
    second = NoticeDelivery.objects.order_by("-user_id")[:1]
    OutboundMessage.objects.filter(to_email__in=[n.user.email for n in second]).delete()
    NoticeDelivery.objects.filter(pk__in=[n.pk for n in second]).delete()
    PolicyVersion.objects.filter(pk=version.pk).update(notified_at=None)
    assert policies.policy_notify_pending() == 1  # only the one not yet told
    assert notices().count() == 4
    assert notices().values("to_email").distinct().count() == 4
    assert PolicyVersion.objects.get(pk=version.pk).notified_at is not None


def test_a_minor_change_or_a_draft_mails_nobody(personas, sam, django_capture_on_commit_callbacks):
    minor = draft("2", material=False)
    with django_capture_on_commit_callbacks(execute=True):
        policies.policy_publish(version=minor, actor=sam)
    assert not notices().exists() and not NoticeDelivery.objects.exists()
    unpublished = draft("3", days=40)
    assert policies.policy_notify(version_id=unpublished.pk) == 0
    assert not notices().exists()


def test_published_versions_cannot_be_published_or_saved_again(personas, sam):
    version = draft(material=False)
    policies.policy_publish(version=version, actor=sam)
    with pytest.raises(ValidationError, match="is published"):
        policies.policy_publish(version=version, actor=sam)
    version.body = "Rewritten history."
    with pytest.raises(ValidationError, match="cannot be changed"):
        policies.policy_draft_save(version=version, actor=sam)
    assert PolicyVersion.objects.get(pk=version.pk).body == "## Version 2\n\nNew words."


@pytest.mark.parametrize(
    ("days", "material", "message"),
    [
        (-1, False, "a day already past"),
        (0, True, "must take effect on a later day than today"),
    ],
    ids=["past", "material-today"],
)
def test_past_days_and_material_changes_taking_effect_today_are_refused(
    db, sam, days, material, message
):
    version = draft(days=days, material=material)
    with pytest.raises(ValidationError, match=message):
        policies.policy_publish(version=version, actor=sam)
    assert PolicyVersion.objects.get(pk=version.pk).published_at is None


def test_a_material_change_needs_a_summary_for_the_notice(db, sam):
    version = draft(summary="  ")
    with pytest.raises(ValidationError, match="write the summary"):
        policies.policy_publish(version=version, actor=sam)


def test_a_minor_change_may_take_effect_today(db, sam):
    version = draft(days=0, material=False)
    policies.policy_publish(version=version, actor=sam)
    assert policies.policy_in_effect() == PolicyVersion.objects.get(pk=version.pk)


def test_one_published_version_per_effective_day(db, sam):
    policies.policy_publish(version=draft("2", days=5, material=False), actor=sam)
    same_day = draft("2b", days=5, material=False)
    with pytest.raises(ValidationError, match="already takes effect"):
        policies.policy_publish(version=same_day, actor=sam)
    assert PolicyVersion.objects.get(pk=same_day.pk).published_at is None


def test_drafts_are_saved_through_the_service_with_an_audit_event(db, sam):
    version = PolicyVersion(
        label="v2.1", effective_on=datetime.date(2030, 1, 1), body="Words", material=True
    )
    policies.policy_draft_save(version=version, actor=sam)
    version.body = "Better words"
    policies.policy_draft_save(version=version, actor=sam)
    assert PolicyVersion.objects.get(label="v2.1").body == "Better words"
    assert (
        AuditEvent.objects.filter(
            action=AuditEvent.Action.POLICY_DRAFT_SAVED, target_id=version.public_id
        ).count()
        == 2
    )
    with pytest.raises(ValidationError, match="letters, digits"):
        policies.policy_draft_save(
            version=PolicyVersion(label="../x", effective_on=datetime.date(2030, 2, 1), body="x"),
            actor=sam,
        )


def test_staff_are_not_mailed(db, sam):
    StaffFactory(email="other-staff@hexcm.example")
    version = draft()
    policies.policy_publish(version=version, actor=sam)
    assert policies.policy_notify(version_id=version.pk) == 0
    assert PolicyVersion.objects.get(pk=version.pk).notified_at is not None
