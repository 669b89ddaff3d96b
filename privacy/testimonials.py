"""Testimonial consent: staff draft a person's quote, the person approves or declines it
through signed links in email, staff publish only what was approved, and the person withdraws
at any time (a link in the approval mail, or a removal request).

A consent link carries the testimonial's public id and a version of exactly what would be
published (quote, name, company, photo) and where it was asked (the address): any change of
them makes older links useless, and a change of the published words voids a consent already
given (`testimonial_save`). The request is category CONSENT: a one-off message to a person
about their own words, which no newsletter or service opt-out may block (SERVICE would ask a
user account's service preference, and put a one-click unsubscribe on a mail whose opt-out is
the decline link), but which the suppression list stops, when it is asked (staff are told
why) and again at send time. The approval's confirmation, which carries the withdraw link, is
ACCOUNT mail: it answers the person's own click.

What is kept of a consent: the date, and the means ("email link", the day it was asked, the
version of the text approved). Not the IP address: the signed link mailed to the person's own
address is the proof, and the IP would be more personal data with no use of its own.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from clients import audit
from clients.audit import NO_CLIENT
from clients.models import AuditEvent
from opsx import images, mail, signed_links, suppression
from opsx.models import OutboundMessage

from .models import Testimonial

Status = Testimonial.Status
Action = AuditEvent.Action

CONSENT_PURPOSE = "testimonial-consent"
WITHDRAW_PURPOSE = "testimonial-withdraw"

# What the published words are; a change of any voids consent.
TEXT_FIELDS = ("quote", "person_name", "company")

QUOTE_MAX_LENGTH = Testimonial._meta.get_field("quote").max_length

# The public page shows at most this many (newest first).
PUBLISHED_LIMIT = 100


class ConsentLinkError(Exception):
    """A consent or withdrawal link that cannot be used; the message says why, for the
    person, and `status` is the page's HTTP status (400 tampered, 410 expired or stale)."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


def link_max_age() -> timedelta:
    return timedelta(days=settings.TESTIMONIAL_LINK_MAX_AGE_DAYS)


def text_version(testimonial: Testimonial) -> str:
    """A short hash of what the person is asked to approve and where they were asked."""
    parts = [
        testimonial.quote,
        testimonial.person_name,
        testimonial.company,
        testimonial.person_email.lower(),
        testimonial.photo.name if testimonial.photo else "",
    ]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:20]


# --- queries ------------------------------------------------------------------------------


def published() -> QuerySet[Testimonial]:
    """What the public page shows: published testimonials, newest first (one query, on the
    partial index testimonial_published_idx)."""
    return (
        Testimonial.objects.filter(published_at__isnull=False, status=Status.APPROVED)
        .only("public_id", "quote", "person_name", "company", "photo", "published_at")
        .order_by("-published_at")[:PUBLISHED_LIMIT]
    )


def published_photo(public_id) -> Testimonial | None:
    """The published testimonial with a photo, by public id; None for any other (a draft, a
    withdrawn one, an unknown id): the photo URL of an unpublished testimonial answers 404."""
    return (
        Testimonial.objects.filter(
            public_id=public_id, published_at__isnull=False, status=Status.APPROVED
        )
        .exclude(photo="")
        .only("public_id", "photo")
        .first()
    )


def consent_token(testimonial: Testimonial) -> str:
    return signed_links.make(
        CONSENT_PURPOSE, {"t": str(testimonial.public_id), "v": text_version(testimonial)}
    )


def withdraw_token(testimonial: Testimonial) -> str:
    return signed_links.make(WITHDRAW_PURPOSE, str(testimonial.public_id))


def from_consent_token(token: str) -> tuple[Testimonial, str]:
    """The testimonial a consent link is for, and the text version it was made for.
    ConsentLinkError when the link is tampered, expired, or for words that changed since."""
    try:
        value = signed_links.read(CONSENT_PURPOSE, token, max_age=link_max_age())
    except signed_links.LinkExpired:
        raise ConsentLinkError(
            "This link has expired. If you still want to answer, reply to the email that "
            "asked you and we will send a new one.",
            status=410,
        ) from None
    except signed_links.LinkInvalid:
        raise ConsentLinkError(
            "This link is not valid: it may have been cut short when it was copied. Open it "
            "again from the email."
        ) from None
    if not isinstance(value, dict) or not isinstance(value.get("v"), str):
        raise ConsentLinkError("This link is not valid.")
    testimonial = _by_public_id(value.get("t"))
    if testimonial is None or value["v"] != text_version(testimonial):
        raise ConsentLinkError(
            "This link is no longer valid: the testimonial it asked about was changed or "
            "removed since. If we still want to publish it, we will ask you again.",
            status=410,
        )
    return testimonial, value["v"]


def from_withdraw_token(token: str) -> Testimonial:
    try:
        value = signed_links.read(WITHDRAW_PURPOSE, token, max_age=None)
    except signed_links.LinkError:
        raise ConsentLinkError(
            "This link is not valid: it may have been cut short when it was copied. Open it "
            "again from the email, or send us a privacy request to remove your testimonial."
        ) from None
    testimonial = _by_public_id(value)
    if testimonial is None:
        raise ConsentLinkError("This testimonial no longer exists: nothing is left to withdraw.")
    return testimonial


def _by_public_id(value) -> Testimonial | None:
    if not isinstance(value, str):
        return None
    try:
        return Testimonial.objects.filter(public_id=value).first()
    except ValidationError:  # not a UUID
        return None


# --- the photo ----------------------------------------------------------------------------


def clean_photo(upload) -> ContentFile:
    """The uploaded photo decoded and written again, or ValidationError with what is wrong
    (opsx.images.clean)."""
    return images.clean(upload, what="photo", name="photo")


photo_content_type = images.content_type


# --- services -----------------------------------------------------------------------------


def _locked(testimonial: Testimonial) -> Testimonial:
    return Testimonial.objects.select_for_update().get(pk=testimonial.pk)


def _void_consent(testimonial: Testimonial) -> None:
    testimonial.status = Status.DRAFT
    testimonial.published_at = None
    testimonial.consented_at = None
    testimonial.consent_means = ""
    testimonial.declined_at = None


@transaction.atomic
def testimonial_save(*, testimonial: Testimonial, actor: User, photo_upload=None) -> Testimonial:
    """Create or update a testimonial from staff's form (Django admin).

    `photo_upload`: a newly uploaded photo (checked and re-encoded by `clean_photo`), or None
    to keep the stored one. Changing the published words (quote, name, company), the photo or
    the address voids what the person answered: the testimonial goes back to DRAFT, off the
    site, and the links already sent stop working (their version no longer matches). Only
    removing the photo keeps an approval (less is shown than was approved). A withdrawn
    testimonial is not edited again: the person said no for good.
    """
    testimonial.person_email = testimonial.person_email.strip().lower()
    testimonial.person_name = " ".join(testimonial.person_name.split())
    testimonial.company = " ".join(testimonial.company.split())
    testimonial.quote = testimonial.quote.strip()
    if len(testimonial.quote) > QUOTE_MAX_LENGTH:  # a TextField's max_length is the form's only
        raise ValidationError(
            {"quote": f"The quote may be at most {QUOTE_MAX_LENGTH} characters long."}
        )
    old_photo = ""
    if photo_upload is not None:
        testimonial.photo = clean_photo(photo_upload)
    if testimonial.pk is None:
        testimonial.status = Status.DRAFT
        testimonial.created_by = actor
        previous = None
        changed = ["created"]
    else:
        stored = _locked(testimonial)
        if stored.status == Status.WITHDRAWN:
            raise ValidationError(
                "This person withdrew their consent: the testimonial cannot be changed or "
                "used again."
            )
        previous = stored.status
        old_photo = stored.photo.name if stored.photo else ""
        changed = [
            name
            for name in (*TEXT_FIELDS, "person_email")
            if getattr(stored, name) != getattr(testimonial, name)
        ]
        if photo_upload is not None or (
            old_photo != (testimonial.photo.name if testimonial.photo else "") and old_photo
        ):
            changed.append("photo")
        # State is the services' own: what the form says of it is ignored.
        for name in (
            "status",
            "requested_at",
            "consented_at",
            "consent_means",
            "declined_at",
            "withdrawn_at",
            "published_at",
            "created_by_id",
        ):
            setattr(testimonial, name, getattr(stored, name))
        removed_photo_only = changed == ["photo"] and not testimonial.photo
        if changed and not removed_photo_only and stored.status != Status.DRAFT:
            _void_consent(testimonial)
    testimonial.full_clean(exclude=["photo", "created_by"])
    testimonial.save()
    if old_photo and old_photo != (testimonial.photo.name if testimonial.photo else ""):
        images.delete_on_commit(old_photo)
    if changed:
        audit.record(
            actor=actor,
            action=Action.TESTIMONIAL_SAVED,
            target=testimonial,
            client=NO_CLIENT,
            changes={name: () for name in changed if name != "created"}
            | {"status": (previous, testimonial.status)},
        )
    return testimonial


@transaction.atomic
def request_consent(testimonial: Testimonial, actor: User) -> Testimonial:
    """Mail the person the exact words to be published with an approve and a decline link
    (valid TESTIMONIAL_LINK_MAX_AGE_DAYS days, and only while the words stay the same).

    Asked of a draft, or again of a request not answered yet (a new mail; the old links keep
    working as long as the words are the same). Refused for an approved, declined or withdrawn
    testimonial: a declined text is changed before asking again, never asked twice as is.
    """
    testimonial = _locked(testimonial)
    if testimonial.status not in (Status.DRAFT, Status.REQUESTED):
        raise ValidationError(
            {
                Status.APPROVED: "The person already approved this testimonial.",
                Status.DECLINED: "The person declined this text: change it before asking again.",
                Status.WITHDRAWN: "The person withdrew their consent: they are not asked again.",
            }[testimonial.status]
        )
    try:
        validate_email(testimonial.person_email)
    except ValidationError:
        raise ValidationError(
            "The person's email address is not valid: correct it first."
        ) from None
    if suppression.is_suppressed(
        testimonial.person_email, category=OutboundMessage.Category.SERVICE
    ):
        raise ValidationError(
            "Mail to this address bounced or was reported as spam: OpsX does not write to it. "
            "Check the address with the person (staff can lift it under Suppressions)."
        )
    previous = testimonial.status
    testimonial.status = Status.REQUESTED
    testimonial.requested_at = timezone.now()
    testimonial.save(update_fields=["status", "requested_at"])
    token = consent_token(testimonial)
    mail.queue(
        to=testimonial.person_email,
        template="testimonial-consent",
        context={
            "testimonial": testimonial,
            "approve_url": _absolute("privacy:testimonial_consent", token, "approve"),
            "decline_url": _absolute("privacy:testimonial_consent", token, "decline"),
            "max_age_days": settings.TESTIMONIAL_LINK_MAX_AGE_DAYS,
            "has_photo": bool(testimonial.photo),
        },
        category=OutboundMessage.Category.CONSENT,
        secret_ttl=link_max_age(),
    )
    audit.record(
        actor=actor,
        action=Action.TESTIMONIAL_CONSENT_REQUESTED,
        target=testimonial,
        client=NO_CLIENT,
        changes={"status": (previous, testimonial.status)},
    )
    return testimonial


def _absolute(name: str, *args) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name, args=args)


@transaction.atomic
def consent_answer(*, testimonial: Testimonial, version: str, approve: bool) -> bool:
    """Record the person's answer from a consent link; True if this call recorded it, False
    if the same answer was already recorded (a second click). ConsentLinkError (410) when the
    words changed since the link was made, or the request is no longer open."""
    testimonial = _locked(testimonial)
    if version != text_version(testimonial):
        raise ConsentLinkError(
            "This link is no longer valid: the testimonial it asked about was changed since. "
            "If we still want to publish it, we will ask you again.",
            status=410,
        )
    wanted = Status.APPROVED if approve else Status.DECLINED
    if testimonial.status == wanted:
        return False
    if testimonial.status != Status.REQUESTED:
        raise ConsentLinkError(
            "This request is no longer open: you already answered it, or withdrew your "
            "consent. To withdraw an approval, use the link in the email that confirmed it.",
            status=410,
        )
    now = timezone.now()
    testimonial.status = wanted
    if approve:
        testimonial.consented_at = now
        testimonial.consent_means = (
            f"email link (consent request of {testimonial.requested_at:%Y-%m-%d}), approved "
            f"{now:%Y-%m-%d %H:%M} UTC, text version {version}"
        )
        fields = ["status", "consented_at", "consent_means"]
    else:
        testimonial.declined_at = now
        fields = ["status", "declined_at"]
    testimonial.save(update_fields=fields)
    audit.record(
        actor=None,
        action=Action.TESTIMONIAL_APPROVED if approve else Action.TESTIMONIAL_DECLINED,
        target=testimonial,
        client=NO_CLIENT,
        changes={"status": (Status.REQUESTED, wanted)},
    )
    if approve:
        mail.queue(
            to=testimonial.person_email,
            template="testimonial-approved",
            context={
                "testimonial": testimonial,
                "withdraw_url": _absolute(
                    "privacy:testimonial_withdraw", withdraw_token(testimonial)
                ),
            },
            category=OutboundMessage.Category.ACCOUNT,
        )
    return True


@transaction.atomic
def testimonial_publish(testimonial: Testimonial, actor: User) -> bool:
    """Put an approved testimonial on the public page; True if it was not there yet.
    ValidationError for any other status (the database's check constraint agrees)."""
    testimonial = _locked(testimonial)
    if testimonial.status != Status.APPROVED:
        raise ValidationError(
            f"“{testimonial.person_name}”: only a testimonial its person approved can be "
            f"published; this one is “{testimonial.get_status_display()}”."
        )
    if testimonial.published_at is not None:
        return False
    testimonial.published_at = timezone.now()
    testimonial.save(update_fields=["published_at"])
    audit.record(
        actor=actor, action=Action.TESTIMONIAL_PUBLISHED, target=testimonial, client=NO_CLIENT
    )
    return True


@transaction.atomic
def testimonial_unpublish(testimonial: Testimonial, actor: User) -> bool:
    """Take a testimonial off the public page (its consent stays); True if it was on it."""
    testimonial = _locked(testimonial)
    if testimonial.published_at is None:
        return False
    testimonial.published_at = None
    testimonial.save(update_fields=["published_at"])
    audit.record(
        actor=actor, action=Action.TESTIMONIAL_UNPUBLISHED, target=testimonial, client=NO_CLIENT
    )
    return True


@transaction.atomic
def testimonial_withdraw(testimonial: Testimonial, actor: User | None) -> bool:
    """The person withdraws (their link: actor None; a removal request: the staff member).
    The testimonial leaves the site in this transaction (the page and the photo read the
    database on every request), its photo is deleted once it commits, and it is never asked
    about or published again. The words and the consent record stay, as proof of what was
    approved and when it was withdrawn. True if this call withdrew it."""
    testimonial = _locked(testimonial)
    if testimonial.status == Status.WITHDRAWN:
        return False
    previous = testimonial.status
    photo = testimonial.photo.name if testimonial.photo else ""
    testimonial.status = Status.WITHDRAWN
    testimonial.withdrawn_at = timezone.now()
    testimonial.published_at = None
    testimonial.photo = ""
    testimonial.save(update_fields=["status", "withdrawn_at", "published_at", "photo"])
    images.delete_on_commit(photo)
    audit.record(
        actor=actor,
        action=Action.TESTIMONIAL_WITHDRAWN,
        target=testimonial,
        client=NO_CLIENT,
        changes={"status": (previous, Status.WITHDRAWN)},
    )
    return True


# Statuses whose row is no record of consent, so staff may delete it: never asked, or asked
# and not answered yet (its links stop working with it).
DELETABLE = (Status.DRAFT, Status.REQUESTED)


@transaction.atomic
def testimonial_delete(testimonial: Testimonial, actor: User) -> None:
    """Delete a testimonial that holds no answer of the person's (DELETABLE), and its photo
    once that commits. An approval, refusal or withdrawal is kept as the record of it."""
    testimonial = _locked(testimonial)
    if testimonial.status not in DELETABLE:
        raise ValidationError(
            "This testimonial records the person's answer: it is kept. Take it off the site "
            "instead."
        )
    images.delete_on_commit(testimonial.photo.name if testimonial.photo else "")
    audit.record(
        actor=actor, action=Action.TESTIMONIAL_DELETED, target=testimonial, client=NO_CLIENT
    )
    testimonial.delete()


def withdraw_for_address(email: str, actor: User | None) -> int:
    """A removal request (removal_target TESTIMONIAL): withdraw every testimonial of the
    person at `email`, whatever its status. Returns how many were withdrawn."""
    address = (email or "").strip().lower()
    if not address:
        return 0
    with transaction.atomic():
        mine = Testimonial.objects.filter(person_email=address).exclude(status=Status.WITHDRAWN)
        return sum(testimonial_withdraw(t, actor) for t in mine.only("pk"))


# --- erasure (the personal data registry's handler, privacy/personal_data.py) ------------


def erase_for_user(ctx) -> int:
    """A user is erased: testimonials about them (their address) are deleted with their
    photos; ones they drafted as staff stay, without the key to them."""
    about = Testimonial.objects.filter(ctx.email_q("person_email"))
    ctx.files.extend(name for name in about.values_list("photo", flat=True) if name)
    deleted, _ = about.delete()
    return deleted + ctx.detach(Testimonial, "created_by")
