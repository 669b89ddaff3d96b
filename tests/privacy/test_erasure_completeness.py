"""Erasure completeness: a person with data in every registered holding is erased, the whole
database is dumped (pg_dump --data-only), and none of their email addresses, name, phone or IP
appears anywhere; their keyed hash appears only in the columns privacy.erasure.HASH_FIELDS
names. A bystander in the same client keeps every row.

The test fills one row (at least) for every holding of the registry and checks that the
erasure touched each: a holding added to the registry without data here, or an entry removed
from it, fails the test (EXPECTED must equal the registry)."""

import os
import re
import subprocess
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.usersessions.models import UserSession
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Invitation, ProfileRevision, Referral, User
from clients.models import AuditEvent, ClientBilling
from devices.models import Device, IdempotencyRecord
from opsx.models import OutboundMessage
from opsx.personal_data import holdings, keyed_hash
from privacy import models as pm
from privacy.erasure import HASH_FIELDS, user_erase
from prospects import models as prm
from tests.factories import PASSWORD, AdminFactory, ProspectFactory, StaffFactory
from tests.website.community_objects import community_rows
from website.models import BlogPost

EMAIL = "zebulon.qp@erase.example"
OLD_EMAIL = "zq.old@erase.example"
NAME = "Zebulon Quaxley-Prynne"
OLD_NAME = "Zeb Quaxley"
PHONE = "+919812345678"
IP = "203.0.113.77"
FORBIDDEN = [EMAIL, OLD_EMAIL, NAME, OLD_NAME, "quaxley", PHONE, PHONE[3:], IP]

# Every holding of the registry; the test fills each with rows about Zebulon.
EXPECTED = {
    "clients.ClientBilling",
    "opsx.OutboundMessage",
    "admin.LogEntry",
    "accounts.User",
    "accounts.ProfileRevision",
    "accounts.Invitation",
    "accounts.Referral",
    "account.EmailAddress",
    "usersessions.UserSession",
    "mfa.Authenticator",
    "clients.AuditEvent",
    "clients.Client",
    "prospects.Prospect",
    "prospects.Visit",
    "prospects.Folder",
    "prospects.StoredFile",
    "prospects.ProspectEvent",
    "prospects.ImportJob",
    "privacy.PrivacyRequest",
    "privacy.PrivacyRequestEvent",
    "privacy.AccessArchive",
    "privacy.LegalHold",
    "privacy.PolicyVersion",
    "privacy.EmailPreference",
    "privacy.Notice",
    "privacy.NoticeDelivery",
    "privacy.SupportGrant",
    "privacy.SupportAccessLog",
    "privacy.ClientClosure",
    "devices.Device",
    "devices.IdempotencyRecord",
    "prospects.SyncTombstone",
    "privacy.NewsletterSubscriber",
    "privacy.NewsletterIssue",
    "privacy.Testimonial",
    "website.BlogPost",
    "website.ForumTopic",
    "website.ForumPost",
    "website.BlogComment",
    "website.Flag",
    "website.CommunityBan",
    "website.TopicRead",
}


def _rows_about(user) -> dict[str, int]:
    """For each holding, how many rows its keys or addresses tie to `user`."""
    from django.db.models import Q

    out = {}
    for holding in holdings():
        model = apps.get_model(holding.model)
        q = Q()
        for name in holding.user_fields:
            q |= Q(**{name: user.pk})
        for name in holding.email_fields:
            q |= Q(**{f"{name}__iexact": user.email})
        out[holding.model] = model._default_manager.filter(q).count()
    return out


def _fill(zeb, bob, alice, staff, client_a):
    """Rows about Zebulon in every holding (besides the sign-in, sessions and audit events
    made through real requests)."""
    now = timezone.now()
    # Mail: one sent (its subject greets him), one still pending.
    OutboundMessage.objects.create(
        to_email=EMAIL,
        from_email="opsx@hexcm.example",
        subject=f"Hello {NAME}",
        category=OutboundMessage.Category.ACCOUNT,
        status=OutboundMessage.Status.SENT,
        next_attempt_at=now,
        sent_at=now,
        last_error=f"550 {EMAIL} mailbox full (once)",
    )
    OutboundMessage.objects.create(
        to_email=OLD_EMAIL,
        from_email="opsx@hexcm.example",
        subject=f"Welcome {OLD_NAME}",
        body_text=f"Call {PHONE}",
        category=OutboundMessage.Category.SERVICE,
        next_attempt_at=now + timedelta(days=1),
    )
    LogEntry.objects.create(
        user=staff,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(zeb.pk),
        object_repr=NAME,
        action_flag=CHANGE,
        change_message=f'[{{"changed": {{"name": "email address", "object": "{EMAIL}"}}}}]',
    )
    LogEntry.objects.create(  # as if he had been support: his own edits' log
        user=zeb,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(bob.pk),
        object_repr="Bob Member",
        action_flag=CHANGE,
    )
    # Old address: a revision, an allauth address, an invitation he accepted.
    account_services.user_record_email_change(user=zeb, old_email=OLD_EMAIL, new_email=EMAIL)
    EmailAddress.objects.create(user=zeb, email=OLD_EMAIL, verified=True, primary=False)
    Invitation.objects.create(
        client=client_a,
        email=OLD_EMAIL,
        invited_by=alice,
        status=Invitation.Status.ACCEPTED,
        accepted_user=zeb,
    )
    Invitation.objects.create(client=client_a, email="newbie@acme.example", invited_by=zeb)
    ProfileRevision.objects.create(
        user=bob, field="full_name", old_value="Bob M", new_value="Bob Member", changed_by=zeb
    )
    # Referrals: one he made (his note names him), one Alice made to his old address (it is
    # his data: it goes too).
    Referral.objects.create(
        referrer=zeb, friend_name="Fay Friend", friend_email="fay@friend.example",
        note=f"From {NAME}: call me on {PHONE}",
    )  # fmt: skip
    Referral.objects.create(
        referrer=alice, friend_name=OLD_NAME, friend_email=OLD_EMAIL,
        status=Referral.Status.SIGNED_UP,
    )  # fmt: skip
    TOTP.activate(zeb, generate_totp_secret())
    client_a.contact_email = EMAIL.upper()
    client_a.save(update_fields=["contact_email"])
    # Invoices of his client go to his address: cleared, the company's record kept.
    ClientBilling.objects.create(client=client_a, legal_name="A Pvt Ltd", billing_email=EMAIL)
    # Client Data he made: stays, without his key.
    prospect = ProspectFactory(client=client_a, owner=zeb, created_by=zeb, updated_by=zeb)
    visit = prm.Visit.objects.create(client=client_a, prospect=prospect, user=zeb, created_by=zeb)
    folder = prm.Folder.objects.create(client=client_a, name="Brochures", created_by=zeb)
    stored = prm.StoredFile.objects.create(
        client=client_a,
        name="leaflet.txt",
        content_type="text/plain",
        size=2,
        blob="blobs/leaflet.txt",
        folder=folder,
        uploaded_by=zeb,
    )
    prm.ProspectEvent.objects.create(
        client=client_a, prospect=prospect, kind="note", actor=zeb, at=now, text="Met them."
    )
    prm.ProspectEvent.objects.create(
        client=client_a, prospect=prospect, kind="file", actor=zeb, at=now, file=stored
    )
    prm.ImportJob.objects.create(
        client=client_a, created_by=zeb, source="imports/x.csv", original_name="x.csv"
    )
    assert visit.pk
    # Privacy: his own request (his words name him and his phone), a report about him.
    own = pm.PrivacyRequest.objects.create(
        kind="deletion",
        channel="account",
        requester=zeb,
        requester_name=NAME,
        requester_email=EMAIL,
        details=f"I am {NAME}, call me on {PHONE}",
        reference=f"profile of {OLD_NAME}",
        notes=f"phoned {PHONE}",
        received_at=now,
        due_at=now + timedelta(days=30),
        assignee=staff,
    )
    pm.PrivacyRequestEvent.objects.create(
        request=own, at=now, actor=zeb, actor_kind="requester", action="filed"
    )
    pm.PrivacyRequest.objects.create(
        kind="child_data",
        channel="public",
        requester_name="Concerned Parent",
        requester_email="parent@home.example",
        subject_user=zeb,
        details=f"{NAME} is 14; his phone is {PHONE}",
        received_at=now,
        due_at=now + timedelta(hours=72),
    )
    archive_name = default_storage.save("privacy-archives/zeb-test.zip", ContentFile(b"PK"))
    pm.AccessArchive.objects.create(user=zeb, status="ready", file=archive_name)
    pm.LegalHold.objects.create(
        user=zeb,
        user_hash=keyed_hash(EMAIL),
        reason="old dispute, closed",
        set_by=staff,
        set_at=now - timedelta(days=10),
        released_at=now - timedelta(days=1),
        released_by=staff,
    )
    version = pm.PolicyVersion.objects.create(
        label="erasure-test", effective_on=now.date(), body="Policy", published_by=zeb
    )
    notice = pm.Notice.objects.create(
        policy_version=version, title="Policy", body="Changes", sent_at=now, created_by=zeb
    )
    pm.NoticeDelivery.objects.create(notice=notice, user=zeb, delivered_at=now, dismissed_at=now)
    pm.EmailPreference.objects.create(user=zeb, service_notices=False)
    grant = pm.SupportGrant.objects.create(
        user=zeb, granted_at=now, expires_at=now + timedelta(days=2), note=f"call {PHONE}"
    )
    pm.SupportAccessLog.objects.create(grant=grant, staff=staff, at=now, method="GET", path="/")
    # A page he viewed under Bob's grant (as if he were support): Bob's log keeps the row.
    bobs = pm.SupportGrant.objects.create(
        user=bob, granted_at=now, expires_at=now + timedelta(days=2)
    )
    pm.SupportAccessLog.objects.create(grant=bobs, staff=zeb, at=now, method="GET", path="/x")
    pm.ClientClosure.objects.create(
        client=client_a,
        requested_by=zeb,
        requested_at=now,
        delete_after=now + timedelta(days=30),
        status="cancelled",
        cancelled_by=zeb,
    )
    # The mobile app: his phone, a device of Bob's he revoked (Bob's row keeps the revocation,
    # without him), a retried request's stored answer (his own details in it), and the
    # tombstone of a prospect of his that went to Bob.
    Device.objects.create(
        client=client_a, user=zeb, installation_id="zeb-phone", platform="ios",
        device_model="iPhone", session_key="zebsessionkey0000000000000000000",
    )  # fmt: skip
    Device.objects.create(
        client=client_a, user=bob, installation_id="bob-phone", platform="android",
        status=Device.Status.REVOKED, revoked_at=now, revoked_by=zeb,
        revoke_reason=Device.RevokeReason.ADMIN,
    )  # fmt: skip
    IdempotencyRecord.objects.create(
        client=client_a, user=zeb, key="retry-1", fingerprint="f" * 64, status_code=200,
        body={"email": EMAIL, "full_name": NAME},
    )  # fmt: skip
    given = ProspectFactory(client=client_a, owner=zeb)
    prm.Prospect.objects.filter(pk=given.pk).update(owner=bob)
    # Newsletter: his subscription (with his name), an issue he wrote (as if he were staff: it
    # stays, without him).
    pm.NewsletterSubscriber.objects.create(
        email=EMAIL,
        name=NAME,
        status="confirmed",
        source="public_form",
        consented_at=now,
        consent_text="Yes",
    )
    pm.NewsletterIssue.objects.create(subject="Spring news", body="Hello", created_by=zeb)
    # Testimonials: his own words (with a photo), and one he drafted about someone else.
    photo = default_storage.save("testimonials/zeb/photo", ContentFile(b"\x89PNG"))
    pm.Testimonial.objects.create(
        quote=f"{NAME} says OpsX is great", person_name=NAME, person_email=EMAIL,
        company="Acme", photo=photo,
    )  # fmt: skip
    pm.Testimonial.objects.create(
        quote="Great tool", person_name="Pat Other", person_email="pat@other.example",
        created_by=zeb,
    )  # fmt: skip
    # A blog post he wrote (as if he were staff): HexCM's publication, kept without him.
    BlogPost.objects.create(
        title="Route planning", slug="route-planning", description="Less driving.",
        body="Plan the day.", author=zeb,
    )  # fmt: skip
    # The community: his topic, reply and comment, a flag, a ban he made, a topic he read.
    community_rows(zeb, other=bob, label="Z")
    return archive_name, photo


def _dump() -> str:
    settings_dict = connection.settings_dict
    result = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "--no-owner",
            "-h",
            settings_dict.get("HOST") or "127.0.0.1",
            "-p",
            str(settings_dict.get("PORT") or 5432),
            "-U",
            settings_dict.get("USER") or "postgres",
            settings_dict["NAME"],
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PGPASSWORD": settings_dict.get("PASSWORD") or ""},
    )
    return result.stdout


def _columns_holding(dump: str, needle: str) -> set[tuple[str, str]]:
    """(table, column) of every value in the dump's COPY blocks that contains `needle`."""
    found = set()
    table, columns = None, []
    for line in dump.splitlines():
        match = re.match(r"COPY public\.(\w+) \((.*)\) FROM stdin;", line)
        if match:
            table = match.group(1)
            columns = [c.strip().strip('"') for c in match.group(2).split(",")]
            continue
        if line == "\\.":
            table = None
            continue
        if table and needle.lower() in line.lower():
            for column, value in zip(columns, line.split("\t"), strict=False):
                if needle.lower() in value.lower():
                    found.add((table, column))
    return found


@pytest.mark.django_db(transaction=True)
def test_erasure_leaves_no_trace_of_the_person_and_keeps_the_bystanders(client, personas):
    assert {h.model for h in holdings()} == EXPECTED, "a holding without data in this test"
    staff = StaffFactory(email="sam@hexcm.example", full_name="Sam Support")
    alice, bob, client_a = personas.alice, personas.bob, personas.client_a
    zeb = AdminFactory(client=client_a, email=EMAIL, full_name=OLD_NAME)
    # A real sign-in from his IP: allauth's session record and the audit trail hold it.
    response = client.post(
        reverse("account_login"), {"login": EMAIL, "password": PASSWORD}, REMOTE_ADDR=IP
    )
    assert response.status_code == 302
    response = client.post(reverse("account_settings"), {"full_name": NAME}, REMOTE_ADDR=IP)
    assert response.status_code == 302
    zeb.refresh_from_db()
    assert UserSession.objects.filter(user=zeb, ip=IP).exists()
    assert AuditEvent.objects.filter(actor=zeb, ip_address=IP).exists()
    archive_name, photo = _fill(zeb, bob, alice, staff, client_a)
    before = _dump().lower()
    for needle in FORBIDDEN:
        assert needle.lower() in before, f"the test put no {needle!r} in the database"
    about_zeb = _rows_about(zeb)
    assert all(about_zeb.values()), {k: v for k, v in about_zeb.items() if not v}
    bob_before = _rows_about(bob)
    prospects_before = prm.Prospect.objects.filter(client=client_a).count()

    counts = user_erase(user=zeb, actor=staff, reason="deletion_request")

    missing = {label for label in EXPECTED if not counts.get(label)}
    assert missing == set(), missing
    assert not User.objects.filter(pk=zeb.pk).exists()
    dump = _dump()
    assert "COPY public.accounts_user " in dump  # what _columns_holding reads
    assert dump.lower().count(IP) == 0
    leaks = {needle: _columns_holding(dump, needle) for needle in FORBIDDEN}
    assert {k: v for k, v in leaks.items() if v} == {}
    assert not [n for n in FORBIDDEN if n.lower() in dump.lower()]  # nor outside COPY rows
    hash_ = keyed_hash(EMAIL)
    allowed = set()
    for label in HASH_FIELDS:
        app_model, _, field = label.rpartition(".")
        model = apps.get_model(app_model)
        allowed.add((model._meta.db_table, model._meta.get_field(field).column))
    assert _columns_holding(dump, hash_[:16]) - allowed == set()
    assert _columns_holding(dump, hash_[:16])  # it is there: the request, the trail...
    # The bystander keeps every row; the client keeps its data.
    assert _rows_about(bob) == bob_before
    assert prm.Prospect.objects.filter(client=client_a).count() == prospects_before
    assert ProfileRevision.objects.filter(user=bob, changed_by=None).count() == 1
    assert Invitation.objects.filter(email="newbie@acme.example", invited_by=None).exists()
    assert not Referral.objects.filter(referrer=alice).exists()
    client_a.refresh_from_db()
    assert client_a.contact_email == alice.email
    assert not default_storage.exists(archive_name)
    assert not default_storage.exists(photo)
    assert pm.Testimonial.objects.get(person_email="pat@other.example").created_by is None
    assert BlogPost.objects.get(slug="route-planning").author is None
    # The request stays as proof, nameless, with the hash.
    own = pm.PrivacyRequest.objects.get(kind="deletion")
    assert (own.requester_id, own.requester_email, own.requester_hash) == (None, "", hash_)
    erased = AuditEvent.objects.get(action="user.erased")
    assert erased.target_id is None and erased.actor_id == staff.pk
    # His session is over: the browser is signed out.
    assert client.get(reverse("account_settings")).status_code == 302
