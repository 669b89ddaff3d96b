"""A user with a row in every holding of the personal data registry, for the access archive's
tests, and the helpers to build and open an archive through the task."""

import io
import json
import zipfile
from datetime import date, timedelta

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.usersessions.models import UserSession
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from accounts.models import Invitation, ProfileRevision, Referral
from clients import audit
from clients.models import ClientBilling
from devices.models import Device, IdempotencyRecord
from opsx.models import OutboundMessage
from opsx.personal_data import keyed_hash
from privacy import archive as service
from privacy.models import (
    AccessArchive,
    ClientClosure,
    EmailPreference,
    LegalHold,
    NewsletterIssue,
    NewsletterSubscriber,
    Notice,
    NoticeDelivery,
    PolicyVersion,
    SupportAccessLog,
    SupportGrant,
    Testimonial,
)
from prospects.models import Prospect
from tests.factories import ProspectFactory, StaffFactory
from tests.prospects.objects import client_objects
from tests.website.community_objects import community_rows
from website.models import BlogPost

OLD_ADDRESS = "bob.before@acme.example"


def data_everywhere(user, *, admin, label: str) -> dict:
    """Rows about `user` (a member of `admin`'s client) in every holding; returns the ids the
    archive must show, by model label. The privacy request, its timeline and the access
    archive itself come from asking for the archive."""
    client = user.client
    now = timezone.now()
    staff = StaffFactory()
    ProfileRevision.objects.create(
        user=user, field=ProfileRevision.Field.EMAIL, old_value=OLD_ADDRESS, new_value=user.email
    )
    invitation = Invitation.objects.create(
        client=client,
        email=user.email,
        invited_by=admin,
        status=Invitation.Status.ACCEPTED,
        accepted_user=user,
    )
    referral = Referral.objects.create(
        referrer=user, friend_name=f"Friend {label}", friend_email=f"friend-{label}@x.example"
    )
    UserSession.objects.create(
        user=user, ip="203.0.113.7", session_key=f"s-{label}", user_agent=f"Browser {label}"
    )
    TOTP.activate(user, generate_totp_secret())
    OutboundMessage.objects.create(  # mail to their old address is theirs too
        to_email=OLD_ADDRESS.upper(),
        from_email="no-reply@opsx.localhost",
        subject=f"Welcome {label}",
        category=OutboundMessage.Category.ACCOUNT,
        next_attempt_at=now,
    )
    LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(Invitation),
        object_repr=f"Entry {label}",
        action_flag=ADDITION,
    )
    client.contact_email = user.email
    client.save(update_fields=["contact_email"])
    ClientBilling.objects.update_or_create(client=client, defaults={"billing_email": user.email})
    prospect = ProspectFactory(client=client, owner=user, created_by=user)
    objects = client_objects(client, user, label=label)  # a visit, folder, file, import
    event = audit.record(actor=user, action=audit.Action.PROSPECT_CREATED, target=prospect)
    LegalHold.objects.create(
        user=user, user_hash=keyed_hash(user.email), reason="A dispute", set_by=staff, set_at=now
    )
    policy = PolicyVersion.objects.create(
        label=f"policy {label}",
        # one published version per day: a day of its own for each label
        effective_on=date(2020, 1, 1) + timedelta(days=sum(map(ord, label))),
        body="Text",
        published_at=now,
        published_by=user,
    )
    # The policy change's notice (mailed to them, dismissed), one they wrote, their choices.
    notice = Notice.objects.create(
        policy_version=policy, title=f"Policy {label}", body="Changes", sent_at=now
    )
    NoticeDelivery.objects.create(notice=notice, user=user, delivered_at=now, dismissed_at=now)
    Notice.objects.create(title=f"Written by {label}", body="Hello", created_by=user)
    EmailPreference.objects.create(user=user, service_notices=False)
    grant = SupportGrant.objects.create(
        user=user, granted_at=now, expires_at=now + timedelta(days=2), note=f"Look {label}"
    )
    SupportAccessLog.objects.create(
        grant=grant, staff=staff, at=now, method="GET", path=f"/app/{label}/seen/"
    )
    own_grant = SupportGrant.objects.create(  # a log entry where they are the viewer
        user=admin, granted_at=now, expires_at=now + timedelta(days=1)
    )
    SupportAccessLog.objects.create(
        grant=own_grant, staff=user, at=now, method="GET", path=f"/app/{label}/viewed/"
    )
    ClientClosure.objects.create(
        client=client, requested_by=user, requested_at=now, delete_after=now + timedelta(days=30)
    )
    device = Device.objects.create(
        client=client, user=user, installation_id=f"install-{label}", platform="android",
        device_model=f"Phone {label}", app_version="1.2.0", last_seen_at=now,
    )  # fmt: skip
    IdempotencyRecord.objects.create(
        client=client, user=user, key=f"retry-{label}", fingerprint="f" * 64, status_code=201,
        body={"id": str(prospect.public_id)},
    )  # fmt: skip
    # Newsletter: their subscription (by address, in capitals: compared lower-case) and an
    # issue they wrote (as if they were staff).
    subscription = NewsletterSubscriber.objects.create(
        email=user.email.upper(),
        name=f"Reader {label}",
        status=NewsletterSubscriber.Status.CONFIRMED,
        source=NewsletterSubscriber.Source.PUBLIC_FORM,
        consented_at=now,
        consent_text="Yes, the newsletter",
    )
    issue = NewsletterIssue.objects.create(subject=f"Issue {label}", body="Hi", created_by=user)
    testimonial = Testimonial.objects.create(  # their words, at their address (in capitals)
        quote=f"OpsX saves us hours {label}", person_name=user.full_name,
        person_email=user.email.upper(), company=client.name,
    )  # fmt: skip
    post = BlogPost.objects.create(  # a blog post they wrote (as if they were staff)
        title=f"Notes {label}", slug=f"notes-{label}", description="Notes.", body="Hi",
        author=user,
    )  # fmt: skip
    # Their prospect given to the admin: the trigger writes the user's tombstone.
    given = ProspectFactory(client=client, owner=user)
    Prospect.objects.filter(pk=given.pk).update(owner=admin)
    community = community_rows(user, other=admin, label=label)
    return {
        **community,
        "accounts.User": str(user.public_id),
        "accounts.Invitation": str(invitation.public_id),
        "accounts.Referral": str(referral.public_id),
        "prospects.Prospect": str(prospect.public_id),
        "prospects.Visit": str(objects["visit"].public_id),
        "prospects.Folder": str(objects["folder"].public_id),
        "prospects.StoredFile": str(objects["file"].public_id),
        "prospects.ImportJob": str(objects["job"].public_id),
        "privacy.SupportGrant": str(grant.public_id),
        "clients.AuditEvent": str(event.target_id),
        "clients.Client": str(client.public_id),
        "devices.Device": str(device.public_id),
        "privacy.NewsletterSubscriber": str(subscription.public_id),
        "privacy.NewsletterIssue": str(issue.public_id),
        "privacy.Testimonial": str(testimonial.public_id),
        "website.BlogPost": str(post.public_id),
    }


def build_for(user, capture) -> AccessArchive:
    """Ask for a copy as the user would, running the on-commit build task (eager)."""
    with capture(execute=True):
        archive = service.archive_request_from_account(user=user)
    archive.refresh_from_db()
    return archive


def open_zip(archive: AccessArchive) -> tuple[dict, str]:
    with archive.file.open("rb") as f:
        raw = f.read()
    return unzip(raw)


def unzip(raw: bytes) -> tuple[dict, str]:
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        assert sorted(z.namelist()) == ["data.json", "index.html"]
        return json.loads(z.read("data.json")), z.read("index.html").decode()
