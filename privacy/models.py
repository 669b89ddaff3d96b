"""Privacy operations: requests and their timeline, access archives, legal holds, policy
versions, support access grants and client closures.

A privacy request is about a person, not Client Data, except a prospect data request: that one
names the client that holds the prospect (`client`), so it carries a direct client key and the
row-level security of every tenant table, and that client's admins answer it.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from clients.models import Client, TenantModel
from opsx import markdown


class PrivacyRequest(models.Model):
    """One request about personal data: who asked, what for, by when, and where it stands."""

    class Kind(models.TextChoices):
        ACCESS = "access", "A copy of my personal data"
        DELETION = "deletion", "Delete my account"
        CORRECTION = "correction", "Correct data I cannot edit myself"
        REMOVAL = "removal", "Remove a testimonial, forum post, blog comment or referral data"
        CHILD_DATA = "child_data", "Report a user under 16"
        PROSPECT_DATA = "prospect_data", "Data a company using OpsX holds about me"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        VERIFYING = "verifying", "Verifying identity"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        REFUSED = "refused", "Refused"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Channel(models.TextChoices):
        ACCOUNT = "account", "Account pages"  # a signed-in user
        PUBLIC = "public", "Public form"  # a visitor: confirmed by a signed link first
        STAFF = "staff", "Filed by staff"  # on someone's behalf (a letter, a phone call)

    class RemovalTarget(models.TextChoices):
        TESTIMONIAL = "testimonial", "A testimonial"
        FORUM_POST = "forum_post", "A forum post"
        BLOG_COMMENT = "blog_comment", "A blog comment"
        REFERRAL = "referral", "Referral data (someone told me about OpsX)"

    OPEN_STATUSES = (Status.RECEIVED, Status.VERIFYING, Status.IN_PROGRESS)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # The signed-in requester, or the account a visitor's confirmed address belongs to.
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="privacy_requests",
    )
    requester_name = models.CharField(max_length=150, blank=True)
    requester_email = models.EmailField(max_length=254, blank=True)  # lower-case
    # Keyed hash of requester_email (opsx.personal_data.keyed_hash): what stays once the
    # requester is erased and the request is kept as proof that it was answered.
    requester_hash = models.CharField(max_length=64, blank=True)
    # Prospect data: the client the requester named (picked from a search), whose admins answer.
    client = models.ForeignKey(
        Client, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Child data, or a request staff file for someone: the account it concerns, once known.
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    removal_target = models.CharField(max_length=20, choices=RemovalTarget.choices, blank=True)
    # What to remove or correct: a link, a quote, a description.
    reference = models.CharField(max_length=500, blank=True)
    details = models.TextField(blank=True)
    received_at = models.DateTimeField()
    due_at = models.DateTimeField()
    # A visitor's request waits for its confirmation link: sent then, confirmed then.
    verification_sent_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    # Staff may extend the deadline once, with a reason the requester is told.
    extended_at = models.DateTimeField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    # An account deletion runs by itself then unless staff run it sooner or it is cancelled.
    erase_after = models.DateTimeField(null=True, blank=True)
    # The confirmation mailed to the account's address before it is erased (privacy/deletion.py):
    # the erasure waits until it is delivered, for at most a few days.
    erasure_notice = models.ForeignKey(
        "opsx.OutboundMessage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"is_staff": True},
    )
    filed_by = models.ForeignKey(  # staff who filed it on someone's behalf
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    notes = models.TextField(blank=True)  # staff's working notes, never shown to the requester
    # Told to the requester: why it was refused, or what was done.
    refusal_reason = models.TextField(blank=True)
    outcome = models.TextField(blank=True)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            # The staff list: open requests by deadline (child data first is a sort on kind).
            models.Index(fields=["status", "due_at"], name="privacy_request_due_idx"),
            models.Index(fields=["requester", "-received_at"], name="privacy_request_user_idx"),
            models.Index(fields=["requester_email"], name="privacy_request_email_idx"),
            models.Index(fields=["requester_hash"], name="privacy_request_hash_idx"),
            models.Index(
                fields=["client", "status", "due_at"],
                condition=Q(client__isnull=False),
                name="privacy_request_client_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_at__gt=F("received_at")), name="due_after_received"
            ),
            models.CheckConstraint(
                condition=Q(extended_at__isnull=True) | ~Q(extension_reason=""),
                name="extension_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="refused") | ~Q(refusal_reason=""),
                name="refusal_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(kind="prospect_data")
                | Q(client__isnull=False)
                | Q(status="done")
                | Q(status="refused")
                | Q(status="withdrawn"),
                name="prospect_request_names_client",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} ({self.get_status_display()}), due {self.due_at:%Y-%m-%d}"
        )

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class PrivacyRequestEvent(models.Model):
    """One line of a request's timeline: who did what, when, from which status to which. The
    message is what the requester or staff may read: never the personal data itself."""

    class Action(models.TextChoices):
        FILED = "filed", "Filed"
        VERIFICATION_SENT = "verification_sent", "Confirmation link sent"
        VERIFIED = "verified", "Identity confirmed"
        ASSIGNED = "assigned", "Assigned"
        STATUS_CHANGED = "status_changed", "Status changed"
        EXTENDED = "extended", "Deadline extended"
        NOTE = "note", "Note"
        ARCHIVE_BUILT = "archive_built", "Archive built"
        ARCHIVE_DOWNLOADED = "archive_downloaded", "Archive downloaded"
        DELETION_SCHEDULED = "deletion_scheduled", "Deletion scheduled"
        DELETION_CANCELLED = "deletion_cancelled", "Deletion cancelled"
        ERASED = "erased", "Personal data erased"
        CORRECTED = "corrected", "Correction applied"
        REFUSED = "refused", "Refused"
        WITHDRAWN = "withdrawn", "Withdrawn"
        DONE = "done", "Done"

    class ActorKind(models.TextChoices):
        REQUESTER = "requester", "Requester"
        STAFF = "staff", "HexCM staff"
        CLIENT_ADMIN = "client_admin", "Client admin"
        SYSTEM = "system", "System"

    request = models.ForeignKey(PrivacyRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_kind = models.CharField(max_length=20, choices=ActorKind.choices)
    action = models.CharField(max_length=30, choices=Action.choices)
    from_status = models.CharField(max_length=20, choices=PrivacyRequest.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=PrivacyRequest.Status.choices, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["request", "at"], name="privacy_event_request_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"


def _archive_path(instance, filename) -> str:
    return f"privacy-archives/{uuid.uuid4().hex}.zip"  # random: nothing to guess


class AccessArchive(models.Model):
    """The archive of everything OpsX holds about a user (an access request): a ZIP with a
    JSON file for machines and an HTML page for people, downloadable until expires_at."""

    class Status(models.TextChoices):
        BUILDING = "building", "Being built"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"  # the file is deleted

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_archives"
    )
    request = models.ForeignKey(
        PrivacyRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="archives"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BUILDING)
    file = models.FileField(upload_to=_archive_path, max_length=200, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)  # the latest download
    # Why the build failed, in words the user and staff can read (never a traceback).
    failure_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="archive_user_idx"),
            models.Index(
                fields=["expires_at"], condition=Q(status="ready"), name="archive_expiry_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Archive for {self.user_id} ({self.get_status_display()})"

    @property
    def is_downloadable(self) -> bool:
        """Ready and not yet past its expiry (the daily sweep deletes the file later)."""
        return (
            self.status == self.Status.READY
            and self.expires_at is not None
            and self.expires_at > timezone.now()
        )


class LegalHold(models.Model):
    """Staff keep a person's records that the law or a dispute requires past their erasure:
    while a hold is active the erasure keeps the held records with the minimum fields and
    the keyed hash of the address, instead of deleting them."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user_hash = models.CharField(max_length=64)  # keyed hash of the user's address
    reason = models.TextField()
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    set_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-set_at"]
        indexes = [models.Index(fields=["user_hash"], name="legal_hold_hash_idx")]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="legal_hold_reason")]

    def __str__(self) -> str:
        return f"Legal hold set {self.set_at:%Y-%m-%d}"


# A policy label is part of its address (/privacy/versions/<label>/): letters, digits and
# . _ - only, starting with a letter or digit.
POLICY_LABEL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}"


class PolicyVersion(models.Model):
    """One version of the privacy policy. The version in effect on a day governs the data used
    that day, so published versions are never edited, only followed by a newer one."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # audit target
    label = models.CharField(  # "1", "2024-03", "v2.1"
        max_length=40,
        unique=True,
        validators=[
            RegexValidator(
                rf"\A{POLICY_LABEL_PATTERN}\Z",
                "Use letters, digits, dots, dashes or underscores (it is part of the page's address).",
            )
        ],
    )
    effective_on = models.DateField()
    body = models.TextField()  # Markdown, rendered without raw HTML and sanitised
    summary = models.TextField(blank=True)  # what changed, for the notice and the history
    material = models.BooleanField(default=False)  # a material change: users are told first
    published_at = models.DateTimeField(null=True, blank=True)  # null: a draft
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # When the legal notice of a material change was queued for every active user.
    notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["effective_on"],
                condition=Q(published_at__isnull=False),
                name="one_published_policy_per_day",
            )
        ]

    def __str__(self) -> str:
        return f"Privacy policy {self.label} (effective {self.effective_on:%Y-%m-%d})"

    @property
    def rendered_body(self):
        """The body as sanitised HTML (opsx.markdown), safe to put in a page."""
        return markdown.render(self.body)


class SupportGrant(models.Model):
    """A user's permission for HexCM support to look at their account, for a period they chose
    (at most SUPPORT_GRANT_MAX_DAYS), read-only; revocable at any time."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_grants"
    )
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Whether support may download Client Data (files, exports) while looking.
    allow_downloads = models.BooleanField(default=False)
    note = models.TextField(blank=True)  # what the user wants support to look at

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["user", "-expires_at"], name="support_grant_user_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("granted_at"))
                & Q(expires_at__lte=F("granted_at") + timedelta(days=31)),
                name="support_grant_period",
            )
        ]

    def __str__(self) -> str:
        return f"Support access for {self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class SupportAccessLog(models.Model):
    """One page support viewed under a grant: listed to the user."""

    grant = models.ForeignKey(SupportGrant, on_delete=models.CASCADE, related_name="views")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField()
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)  # without the query string
    status_code = models.PositiveSmallIntegerField(null=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["grant", "-at"], name="support_log_grant_idx")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} at {self.at:%Y-%m-%d %H:%M}"


class ClientClosure(TenantModel):
    """A client admin's closing of the client account: an export is offered, then after the
    grace period a task deletes all the client's data and users in chunks."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"  # in the grace period: cancellable
        CANCELLED = "cancelled", "Cancelled"
        DELETING = "deleting", "Deleting"
        DONE = "done", "Done"

    class ExportStatus(models.TextChoices):
        NONE = "none", "Not requested"
        BUILDING = "building", "Being built"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField()
    delete_after = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    export_status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.NONE
    )
    export_file = models.FileField(upload_to=_archive_path, max_length=200, blank=True)
    export_done = models.PositiveIntegerField(default=0)  # progress: items written
    export_total = models.PositiveIntegerField(default=0)
    deletion_started_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Deletion progress: {"prospects": 1200, ...} rows deleted so far, per kind.
    progress = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(status__in=["scheduled", "deleting"]),
                name="one_open_closure_per_client",
            )
        ]
        indexes = [
            models.Index(
                fields=["delete_after"], condition=Q(status="scheduled"), name="closure_due_idx"
            )
        ]

    def __str__(self) -> str:
        return f"Closure of {self.client_id} ({self.get_status_display()})"


# --- communications ------------------------------------------------------------------------


class EmailPreference(models.Model):
    """What a user chose to receive. Legal notices and account mail ignore it; the newsletter
    choice lives on NewsletterSubscriber (a user's subscription is one row there). No row: the
    defaults (service notices on)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preference"
    )
    service_notices = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Email preferences of {self.user_id}"


class NewsletterSubscriber(models.Model):
    """One address that asked for the newsletter, and how and when it consented.

    Pending until the address confirms (double opt-in); a pending one past
    settings.NEWSLETTER_CONFIRM_DAYS is deleted. Unsubscribing deletes the row."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for confirmation"
        CONFIRMED = "confirmed", "Confirmed"

    class Source(models.TextChoices):
        PUBLIC_FORM = "public_form", "Public sign-up form, confirmed by email"
        PREFERENCES = "preferences", "Signed-in user's email preferences"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(max_length=254, unique=True)  # stored lower-case
    name = models.CharField(max_length=150, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="newsletter_subscription",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(max_length=20, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # Consent: when the address confirmed (or the user switched it on), and the wording shown.
    consented_at = models.DateTimeField(null=True, blank=True)
    consent_text = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending"),
                name="newsletter_pending_idx",
            ),
            models.Index(
                fields=["id"], condition=Q(status="confirmed"), name="newsletter_confirmed_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Newsletter subscriber {self.public_id}"


class NewsletterIssue(models.Model):
    """One issue of the newsletter: written and previewed in admin, then sent once."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subject = models.CharField(max_length=200)
    body = models.TextField()  # Markdown, rendered without raw HTML and sanitised
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    batch = models.OneToOneField(
        "opsx.MailBatch", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)  # recorded in the batch

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject

    @property
    def rendered_body(self):
        return markdown.render(self.body)


class Notice(models.Model):
    """A legal notice staff send to every user or to the users of chosen clients (a change of
    ownership, a material policy change, a security incident). Sent by email whatever the
    user's preferences, and shown as a banner while current until the user dismisses it."""

    class Audience(models.TextChoices):
        ALL = "all", "Every active user"
        CLIENTS = "clients", "The users of the chosen clients"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=200)
    body = models.TextField()  # Markdown
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.ALL)
    clients = models.ManyToManyField(Client, blank=True, related_name="+")
    # The banner shows from current_from (null: once sent) until current_until (null: until
    # dismissed).
    current_from = models.DateTimeField(null=True, blank=True)
    current_until = models.DateTimeField(null=True, blank=True)
    # A material policy change's notice points at its version (privacy.policies).
    policy_version = models.OneToOneField(
        PolicyVersion, on_delete=models.CASCADE, null=True, blank=True, related_name="notice"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # when the send was started

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["current_from"], condition=Q(sent_at__isnull=False), name="notice_sent_idx"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def rendered_body(self):
        return markdown.render(self.body)


class NoticeDelivery(models.Model):
    """That a user was mailed a notice (when), and when they dismissed its banner."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    delivered_at = models.DateTimeField()  # the legal notice was queued in the outbox
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notice", "user"], name="notice_delivery_once")
        ]
        indexes = [models.Index(fields=["user", "notice"], name="notice_delivery_user_idx")]

    def __str__(self) -> str:
        return f"Notice {self.notice_id} to {self.user_id}"


def _testimonial_photo_path(instance, filename: str) -> str:
    return f"testimonials/{instance.public_id}/{uuid.uuid4().hex}"


class Testimonial(models.Model):
    """A quote staff drafted for a person; published only with that person's consent, given
    by a signed link in email, and withdrawn at once when they ask."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        REQUESTED = "requested", "Consent requested"
        APPROVED = "approved", "Approved by the person"
        DECLINED = "declined", "Declined by the person"
        WITHDRAWN = "withdrawn", "Consent withdrawn"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    quote = models.TextField(max_length=2000)
    person_name = models.CharField(max_length=150)
    person_email = models.EmailField(max_length=254)  # stored lower-case
    company = models.CharField(max_length=150, blank=True)
    photo = models.ImageField(upload_to=_testimonial_photo_path, max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Consent: when it was asked, when and by what means it was given (or refused, withdrawn).
    requested_at = models.DateTimeField(null=True, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    consent_means = models.CharField(max_length=200, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)  # null: not on the site
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(published_at__isnull=True) | Q(status="approved"),
                name="testimonial_published_only_approved",
            )
        ]
        indexes = [
            models.Index(
                fields=["-published_at"],
                condition=Q(published_at__isnull=False),
                name="testimonial_published_idx",
            ),
            models.Index(fields=["person_email"], name="testimonial_person_email_idx"),
        ]

    def __str__(self) -> str:
        return f"Testimonial of {self.person_name}"
