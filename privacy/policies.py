"""Privacy policy versions: which one is in effect, their history, and publishing one.

A version is a draft until staff publish it; from then on it never changes (the version in
effect on a day governs the data used that day), and it is followed by a newer one instead. A
material change is published ahead of its effective day: its Notice (privacy.notices) mails
every active user a legal notice (legal notices ignore opt-outs) and shows its banner until the
day comes.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from clients import audit
from clients.models import AuditEvent

from . import notices
from .models import Notice, PolicyVersion

logger = logging.getLogger(__name__)

# Fields a page of the history needs; the bodies stay in the database.
_LISTED = ("pk", "public_id", "label", "effective_on", "summary", "material", "published_at")


def _today(today: date | None) -> date:
    return today or timezone.localdate()


# --- queries ------------------------------------------------------------------------------


def policy_history() -> QuerySet[PolicyVersion]:
    """Published versions, the newest effective date first (future ones included)."""
    return PolicyVersion.objects.filter(published_at__isnull=False).order_by("-effective_on")


def policy_in_effect(today: date | None = None) -> PolicyVersion | None:
    """The published version whose effective date is the latest on or before `today`."""
    return policy_history().filter(effective_on__lte=_today(today)).first()


def policy_upcoming(today: date | None = None) -> PolicyVersion | None:
    """The next published material change that has not taken effect yet, if any."""
    return (
        policy_history()
        .filter(material=True, effective_on__gt=_today(today))
        .order_by("effective_on")
        .first()
    )


def policy_published(label: str) -> PolicyVersion:
    """The published version called `label`; PolicyVersion.DoesNotExist for drafts and unknown
    labels."""
    return policy_history().get(label=label)


@dataclass
class Listed:
    """A published version on the history: in effect from `version.effective_on` to `until`
    (inclusive; None: still in effect, or not yet)."""

    version: PolicyVersion
    until: date | None = None


@dataclass
class Timeline:
    in_effect: PolicyVersion | None = None  # with its body
    earlier: list[Listed] = field(default_factory=list)  # newest first
    coming: list[Listed] = field(default_factory=list)  # soonest first
    until: date | None = None  # when the version in effect stops being in effect

    @property
    def coming_material(self) -> Listed | None:
        return next((listed for listed in self.coming if listed.version.material), None)


def policy_timeline(today: date | None = None) -> Timeline:
    """Every published version placed on the calendar of `today`: two queries (the list
    without bodies, then the body of the version in effect)."""
    today = _today(today)
    versions = list(policy_history().only(*_LISTED))  # newest first
    timeline = Timeline()
    next_start = None  # effective date of the version after the one at hand
    for version in versions:
        until = next_start - timedelta(days=1) if next_start else None
        if version.effective_on > today:
            timeline.coming.insert(0, Listed(version, until))
        elif timeline.in_effect is None:
            timeline.in_effect, timeline.until = version, until
        else:
            timeline.earlier.append(Listed(version, until))
        next_start = version.effective_on
    if timeline.in_effect is not None:
        timeline.in_effect = PolicyVersion.objects.get(pk=timeline.in_effect.pk)
    return timeline


def policy_validity(version: PolicyVersion) -> date | None:
    """The last day `version` is in effect: the day before the next published version takes
    effect (None while none follows)."""
    following = (
        policy_history()
        .filter(effective_on__gt=version.effective_on)
        .order_by("effective_on")
        .values_list("effective_on", flat=True)
        .first()
    )
    return following - timedelta(days=1) if following else None


# --- services -----------------------------------------------------------------------------


def _refuse_if_published(version: PolicyVersion) -> PolicyVersion:
    """The stored row of `version`, locked; ValidationError if it is published."""
    stored = PolicyVersion.objects.select_for_update().filter(pk=version.pk).first()
    if stored is not None and stored.published_at is not None:
        raise ValidationError(
            f"Version {stored.label} is published: it cannot be changed. Publish a new version."
        )
    return stored


@transaction.atomic
def policy_draft_save(*, version: PolicyVersion, actor: User) -> PolicyVersion:
    """Create or update a draft (admin's add and change forms). A published version is never
    saved again; `published_at`, `published_by` and `notified_at` are kept as stored."""
    if version.pk:
        _refuse_if_published(version)
    version.published_at = version.published_by = version.notified_at = None
    version.full_clean(exclude=["published_by"])
    version.save()
    audit.record(actor=actor, action=AuditEvent.Action.POLICY_DRAFT_SAVED, target=version)
    return version


@transaction.atomic
def policy_publish(*, version: PolicyVersion, actor: User) -> PolicyVersion:
    """Publish the draft `version`: from now on it is read-only, shown in the history, and in
    effect from its effective date.

    Refused (ValidationError) for a published version, an effective date in the past (it would
    change which policy governed data already used), a material change taking effect today
    (users are told before a material change applies), a material change without a summary
    (the notice quotes it) and a day that already has a published
    version. A material change is then announced: its Notice is sent (privacy.notices
    .send_notice), which mails every active user once this transaction commits.
    """
    stored = _refuse_if_published(version)
    if stored is None:
        raise ValidationError("Save the draft before publishing it.")
    today = timezone.localdate()
    if stored.effective_on < today:
        raise ValidationError(
            f"Version {stored.label} takes effect on {stored.effective_on:%d %B %Y}, a day "
            "already past: choose today or a later day."
        )
    if stored.material and not stored.summary.strip():
        raise ValidationError(
            f"Version {stored.label} is a material change: write the summary of what changes "
            "first (the notice to every user quotes it)."
        )
    if stored.material and stored.effective_on <= today:
        raise ValidationError(
            f"Version {stored.label} is a material change: users must be told before it "
            "applies, so it must take effect on a later day than today."
        )
    if policy_history().filter(effective_on=stored.effective_on).exists():
        raise ValidationError(
            f"A published version already takes effect on {stored.effective_on:%d %B %Y}."
        )
    stored.published_at = timezone.now()
    stored.published_by = actor
    try:
        with transaction.atomic():  # the constraint decides a race between two publishers
            stored.save(update_fields=["published_at", "published_by"])
    except IntegrityError:
        raise ValidationError(
            f"A published version already takes effect on {stored.effective_on:%d %B %Y}."
        ) from None
    audit.record(
        actor=actor,
        action=AuditEvent.Action.POLICY_PUBLISHED,
        target=stored,
        changes={"material": (None, stored.material)},
    )
    if stored.material:
        notices.send_notice(_policy_notice(stored, actor), actor=actor)
    version.refresh_from_db()
    return stored


def _policy_notice(version: PolicyVersion, actor: User | None) -> Notice:
    """The Notice of the material change `version` (made once): to every user, its banner up
    until the day the version takes effect."""
    notice = Notice.objects.filter(policy_version=version).first()
    if notice is not None:
        return notice
    ends = datetime.combine(version.effective_on, time.min, tzinfo=timezone.get_current_timezone())
    link = reverse("privacy_version", args=[version.label])
    return Notice.objects.create(
        policy_version=version,
        title=f"Our privacy policy changes on {version.effective_on:%-d %B %Y}",
        body=f"{version.summary}\n\n[Read what changes]({link})",
        audience=Notice.Audience.ALL,
        current_until=ends,
        created_by=actor,
    )


def policy_notify(*, version_id: int, batch_size: int = notices.NOTICE_BATCH) -> int:
    """Mail every active user the legal notice of the material change `version_id` (through
    its Notice, privacy.notices.notice_deliver, which sets the version's `notified_at` once
    all are told). Returns how many were mailed by this run; 0 for a draft or a minor change.
    """
    with transaction.atomic():
        version = (
            PolicyVersion.objects.select_for_update()
            .filter(pk=version_id, published_at__isnull=False, material=True)
            .first()
        )
        if version is None:
            return 0
        notice = _policy_notice(version, version.published_by)
        if notice.sent_at is None:  # published before notices existed: sent now
            notice.sent_at = timezone.now()
            notice.save(update_fields=["sent_at"])
            notices.clear_current_cache()
    return notices.notice_deliver(notice_id=notice.pk, batch_size=batch_size)


def policy_notify_pending() -> int:
    """Finish the notices of every published material change not fully sent yet (a broker
    that was down when it was published, a worker that died mid-run). Returns how many users
    were mailed."""
    pending = PolicyVersion.objects.filter(
        published_at__isnull=False, material=True, notified_at__isnull=True
    ).values_list("pk", flat=True)
    return sum(policy_notify(version_id=pk) for pk in pending)
