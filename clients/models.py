import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Client(models.Model):
    """A company that uses OpsX: the tenant. Every piece of Client Data points here directly."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"  # its users cannot sign in
        # Closed by its admin and deleted after the grace period: the row stays, nameless, so
        # the audit trail (and billing records the law requires) still point somewhere.
        CLOSED = "closed", "Closed"

    class DevicePolicy(models.TextChoices):
        # A sign-in on a second device revokes the first (signed out at once).
        REPLACE = "replace", "Replace the old device"
        # The new device waits until an admin approves it (which revokes the old) or refuses it.
        APPROVE = "approve", "An admin approves each new device"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    contact_email = models.EmailField()
    # Bytes of files the client stores, kept by the file services (usage statistics).
    storage_bytes = models.PositiveBigIntegerField(default=0)
    device_policy = models.CharField(
        max_length=10, choices=DevicePolicy.choices, default=DevicePolicy.REPLACE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class TenantQuerySet(models.QuerySet):
    def for_client(self, client: Client):
        """The one entry point to tenant data: rows of this client only."""
        if client is None:
            raise ValueError("for_client() needs a client; tenant data has no unscoped read")
        return self.filter(client=client)


class TenantModel(models.Model):
    """Base for every table of Client Data: a direct `client` key, never a tenant by join."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """One action someone (or the system) took: who, for which client, on what, what changed.

    Written by clients.audit.record only, in the transaction of the change it describes. Names,
    emails, phones and notes are never copied here: the actor is a key (cleared when the user is
    erased) and the target a model label and public id, so erasing a person leaves the events
    readable and nameless. A PostgreSQL trigger (migration 0003) refuses any change to a row
    other than that clearing, and any DELETE.
    """

    class ActorKind(models.TextChoices):
        USER = "user", "Client user"
        STAFF = "staff", "HexCM staff"
        SYSTEM = "system", "System"  # a task, a command, a periodic job: nobody's click

    class Action(models.TextChoices):
        CLIENT_ACCOUNT_STARTED = "client_account.started", "started the client account"
        INVITATION_CREATED = "invitation.created", "invited someone"
        INVITATION_RESENT = "invitation.resent", "resent an invitation"
        INVITATION_CANCELLED = "invitation.cancelled", "cancelled an invitation"
        INVITATION_ACCEPTED = "invitation.accepted", "accepted an invitation"
        USER_ROLE_CHANGED = "user.role_changed", "changed a role"
        USER_DEACTIVATED = "user.deactivated", "deactivated a user"
        USER_REACTIVATED = "user.reactivated", "reactivated a user"
        USER_NAME_CHANGED = "user.name_changed", "changed a name"
        USER_EMAIL_CHANGED = "user.email_changed", "changed an email address"
        USER_SESSIONS_ENDED = "user.sessions_ended", "ended sessions"
        PROSPECT_CREATED = "prospect.created", "added a prospect"
        PROSPECT_UPDATED = "prospect.updated", "edited a prospect"
        PROSPECT_NOTE_ADDED = "prospect.note_added", "added a note"
        PROSPECTS_BULK_ASSIGNED = "prospects.bulk_assigned", "assigned prospects in bulk"
        PROSPECTS_BULK_STATUS = "prospects.bulk_status", "changed prospects' status in bulk"
        PROSPECTS_EXPORTED = "prospects.exported", "exported prospects (CSV)"
        PROSPECT_DATA_EXPORTED = "prospect.data_exported", "downloaded a prospect's data (ZIP)"
        PROSPECT_ERASED = "prospect.erased", "erased a prospect"
        VISIT_PLANNED = "visit.planned", "planned a visit"
        VISIT_CHECKED_IN = "visit.checked_in", "checked in"
        VISIT_COMPLETED = "visit.completed", "filed a visit report"
        VISIT_CANCELLED = "visit.cancelled", "cancelled a visit"
        CUSTOM_FIELD_CREATED = "custom_field.created", "added a prospect field"
        CUSTOM_FIELD_DELETED = "custom_field.deleted", "removed a prospect field"
        CHECKLIST_SAVED = "checklist.saved", "saved a visit checklist"
        FILE_UPLOADED = "file.uploaded", "uploaded a file"
        FILES_DELETED = "files.deleted", "deleted files"
        FOLDER_CREATED = "folder.created", "created a folder"
        FOLDER_DELETED = "folder.deleted", "deleted a folder"
        IMPORT_STARTED = "import.started", "started a CSV import"
        IMPORT_FINISHED = "import.finished", "finished a CSV import"
        IMPORT_FAILED = "import.failed", "a CSV import failed"
        IMPORT_DELETED = "import.deleted", "deleted a CSV import"
        CLIENT_SUSPENDED = "client.suspended", "suspended the client account"
        CLIENT_REACTIVATED = "client.reactivated", "reactivated the client account"
        STAFF_ENROLMENT_ISSUED = "staff.enrolment_issued", "issued a two-factor enrolment link"
        STAFF_ENROLMENT_USED = "staff.enrolment_used", "opened a two-factor enrolment link"
        PRIVACY_REQUEST_FILED = "privacy_request.filed", "filed a privacy request"
        PRIVACY_REQUEST_VERIFIED = "privacy_request.verified", "confirmed a privacy request"
        PRIVACY_REQUEST_ASSIGNED = "privacy_request.assigned", "assigned a privacy request"
        PRIVACY_REQUEST_STATUS = "privacy_request.status", "changed a privacy request's status"
        PRIVACY_REQUEST_EXTENDED = "privacy_request.extended", "extended a privacy request"
        PRIVACY_REQUEST_REFUSED = "privacy_request.refused", "refused a privacy request"
        PRIVACY_REQUEST_WITHDRAWN = "privacy_request.withdrawn", "withdrew a privacy request"
        PRIVACY_REQUEST_DONE = "privacy_request.done", "completed a privacy request"
        PRIVACY_REQUEST_NOTED = "privacy_request.noted", "added a note to a privacy request"
        ACCESS_ARCHIVE_BUILT = "access_archive.built", "built a personal data archive"
        ACCESS_ARCHIVE_DOWNLOADED = (
            "access_archive.downloaded",
            "downloaded a personal data archive",
        )
        ACCESS_ARCHIVE_REQUESTED = (
            "access_archive.requested",
            "asked for a personal data archive",
        )
        ACCESS_ARCHIVE_FAILED = "access_archive.failed", "a personal data archive failed"
        ACCESS_ARCHIVES_EXPIRED = (
            "access_archives.expired",
            "deleted expired personal data archives",
        )
        USER_DELETION_SCHEDULED = "user.deletion_scheduled", "scheduled an account deletion"
        USER_DELETION_CANCELLED = "user.deletion_cancelled", "cancelled an account deletion"
        USER_ERASED = "user.erased", "erased a person's data"
        USER_CORRECTED = "user.corrected", "corrected a person's data"
        LEGAL_HOLD_SET = "legal_hold.set", "set a legal hold"
        LEGAL_HOLD_RELEASED = "legal_hold.released", "released a legal hold"
        POLICY_PUBLISHED = "policy.published", "published a privacy policy version"
        POLICY_DRAFT_SAVED = "policy.draft_saved", "saved a privacy policy draft"
        POLICY_NOTICES_SENT = "policy.notices_sent", "sent the notice of a policy change"
        SUPPORT_GRANTED = "support.granted", "granted support access"
        SUPPORT_REVOKED = "support.revoked", "revoked support access"
        SUPPORT_VIEW_STARTED = "support.view_started", "started a support view"
        CLIENT_CLOSURE_REQUESTED = "client.closure_requested", "closed the client account"
        CLIENT_CLOSURE_CANCELLED = "client.closure_cancelled", "cancelled the client closure"
        CLIENT_EXPORT_BUILT = "client.export_built", "built the client's full export"
        CLIENT_DELETED = "client.deleted", "deleted the client's data"
        RETENTION_APPLIED = "retention.applied", "applied the retention rules"
        DEVICE_REGISTERED = "device.registered", "signed in on a device"
        DEVICE_UPDATED = "device.updated", "updated a device's details"
        DEVICE_PENDING = "device.pending", "asked to sign in on a new device"
        DEVICE_APPROVED = "device.approved", "approved a device"
        DEVICE_REJECTED = "device.rejected", "refused a device"
        DEVICE_REVOKED = "device.revoked", "revoked a device"
        DEVICE_TOKEN_CLEARED = "device.token_cleared", "cleared a dead push token"
        DEVICE_POLICY_CHANGED = "client.device_policy_changed", "changed the device policy"
        TEAM_MESSAGE_SENT = "team.message_sent", "sent a message to the team"
        NEWSLETTER_SUBSCRIBED = "newsletter.subscribed", "signed up for the newsletter"
        NEWSLETTER_CONFIRMED = "newsletter.confirmed", "confirmed a newsletter subscription"
        NEWSLETTER_UNSUBSCRIBED = "newsletter.unsubscribed", "unsubscribed from the newsletter"
        NEWSLETTER_PENDING_EXPIRED = (
            "newsletter.pending_expired",
            "deleted unconfirmed newsletter sign-ups",
        )
        NEWSLETTER_ISSUE_SAVED = "newsletter_issue.saved", "saved a newsletter issue"
        NEWSLETTER_ISSUE_TESTED = "newsletter_issue.tested", "sent a newsletter issue as a test"
        NEWSLETTER_ISSUE_SENT = "newsletter_issue.sent", "sent a newsletter issue"
        NEWSLETTER_ISSUE_FINISHED = (
            "newsletter_issue.finished",
            "finished sending a newsletter issue",
        )
        SUPPRESSION_LIFTED = "suppression.lifted", "took an address off the suppression list"
        REFERRAL_SENT = "referral.sent", "told a friend about OpsX"
        REFERRAL_DATA_REMOVED = "referral.data_removed", "removed a friend's referral data"
        REFERRALS_SIGNED_UP = "referrals.signed_up", "signed up after a referral"
        REFERRAL_REMINDERS_SENT = "referral.reminders_sent", "sent referral reminders"
        REFERRALS_EXPIRED = "referrals.expired", "deleted referrals past their retention"
        TESTIMONIAL_SAVED = "testimonial.saved", "saved a testimonial"
        TESTIMONIAL_CONSENT_REQUESTED = (
            "testimonial.consent_requested",
            "asked a person to consent to a testimonial",
        )
        TESTIMONIAL_APPROVED = "testimonial.approved", "a person approved their testimonial"
        TESTIMONIAL_DECLINED = "testimonial.declined", "a person declined their testimonial"
        TESTIMONIAL_PUBLISHED = "testimonial.published", "published a testimonial"
        TESTIMONIAL_UNPUBLISHED = "testimonial.unpublished", "took a testimonial off the site"
        TESTIMONIAL_WITHDRAWN = "testimonial.withdrawn", "withdrew consent to a testimonial"
        TESTIMONIAL_DELETED = "testimonial.deleted", "deleted a testimonial"
        EMAIL_PREFERENCES_CHANGED = "email_preferences.changed", "changed email preferences"
        BLOG_POST_SAVED = "blog_post.saved", "saved a blog post"
        BLOG_POST_PUBLISHED = "blog_post.published", "published a blog post"
        BLOG_POST_UNPUBLISHED = "blog_post.unpublished", "took a blog post off the site"
        BLOG_POST_DELETED = "blog_post.deleted", "deleted a blog post"
        BLOG_COMMENT_POSTED = "blog_comment.posted", "commented on a blog post"
        BLOG_COMMENT_EDITED = "blog_comment.edited", "edited a blog comment"
        BLOG_COMMENT_DELETED = "blog_comment.deleted", "deleted a blog comment"
        FORUM_CATEGORY_SAVED = "forum_category.saved", "saved a forum category"
        FORUM_TOPIC_STARTED = "forum_topic.started", "started a forum topic"
        FORUM_TOPIC_LOCKED = "forum_topic.locked", "locked a forum topic"
        FORUM_TOPIC_UNLOCKED = "forum_topic.unlocked", "unlocked a forum topic"
        FORUM_TOPIC_MOVED = "forum_topic.moved", "moved a forum topic"
        FORUM_TOPIC_PINNED = "forum_topic.pinned", "pinned or unpinned a forum topic"
        FORUM_POST_REPLIED = "forum_post.replied", "replied in the forum"
        FORUM_POST_EDITED = "forum_post.edited", "edited a forum post"
        FORUM_POST_DELETED = "forum_post.deleted", "deleted a forum post"
        COMMUNITY_FLAGGED = "community.flagged", "flagged a post"
        COMMUNITY_HIDDEN = "community.hidden", "hid a post"
        COMMUNITY_HIDDEN_BY_FLAGS = "community.hidden_by_flags", "a post was hidden by flags"
        COMMUNITY_RESTORED = "community.restored", "restored a hidden post"
        COMMUNITY_FLAGS_DISMISSED = "community.flags_dismissed", "dismissed flags on a post"
        COMMUNITY_REMOVED = "community.removed", "removed a post on a privacy request"
        COMMUNITY_BANNED = "community.banned", "banned someone from posting"
        COMMUNITY_UNBANNED = "community.unbanned", "lifted a posting ban"
        BILLING_PLAN_SET = "billing.plan_set", "set the client's plan"
        BILLING_DETAILS_CHANGED = "billing.details_changed", "changed the billing details"
        BILLING_VIEWED = "billing.viewed", "looked at a client's billing details"
        INVOICE_ISSUED = "invoice.issued", "issued an invoice"
        INVOICES_ISSUED = "invoices.issued", "ran the month's invoicing"
        INVOICE_PAID = "invoice.paid", "marked an invoice paid"
        INVOICE_DOWNLOADED = "invoice.downloaded", "downloaded an invoice"
        PAYMENT_CARD_ADDED = "payment_card.added", "added or replaced the payment card"
        PAYMENT_CARD_REMOVED = "payment_card.removed", "removed the payment card"
        NOTICE_SAVED = "notice.saved", "saved a notice"
        NOTICE_SENT = "notice.sent", "sent a notice"
        NOTICE_DELIVERED = "notice.delivered", "finished mailing a notice"
        NOTICE_DISMISSED = "notice.dismissed", "dismissed a notice"

    created_at = models.DateTimeField(default=timezone.now)
    # None: an event about HexCM staff or with no client. PROTECT: the trail outlives nothing
    # silently. Unindexed alone: every index below starts with it.
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    # Cleared (SET_NULL, or audit.anonymise_user) when the person is erased; actor_kind stays,
    # so the event reads "erased user" rather than "system".
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    action = models.CharField(max_length=40, choices=Action.choices)
    # The model label ("prospects.prospect") and public id of what was acted on: no name.
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.UUIDField(null=True, blank=True)
    # {"field": {"old": ..., "new": ...}} for non-personal fields, {"field": {}} for the rest.
    changes = models.JSONField(default=dict, blank=True)
    # How many things a batch touched: {"prospects": 120, "sessions": 2}.
    counts = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)  # none for tasks, commands
    # Set when the actor is erased: the keyed hash of their address (opsx.personal_data
    # .keyed_hash), so staff can still match an erased person's events to an address they are
    # given, and nobody can read the address back. The trigger allows setting it once.
    actor_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The Admin tasks log: a client's events newest first, keyset on (created_at, id),
            # with a person or an action filter.
            models.Index(fields=["client", "-created_at", "-id"], name="audit_client_idx"),
            models.Index(
                fields=["client", "actor", "-created_at", "-id"], name="audit_client_actor_idx"
            ),
            models.Index(
                fields=["client", "action", "-created_at", "-id"], name="audit_client_action_idx"
            ),
            # Staff search by target id, and anonymise_user's target lookup.
            models.Index(fields=["target_id"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.created_at:%Y-%m-%d %H:%M}"


class UsageDay(TenantModel):
    """One client's usage on one day (UTC): what HexCM may look at per client for support and
    for benchmarks. Two writers fill it: the daily job (clients.usage.usage_record_day) sets
    the day's stock figures; the counter flush (clients.usage.usage_flush) adds the requests
    and server time counted since the last flush. A row per client per day, never per request.
    """

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    users = models.PositiveIntegerField(default=0)  # active accounts
    active_users = models.PositiveIntegerField(default=0)  # signed in during the last 30 days
    prospects = models.PositiveIntegerField(default=0)
    visits = models.PositiveIntegerField(default=0)
    files = models.PositiveIntegerField(default=0)
    bytes_stored = models.PositiveBigIntegerField(default=0)
    imports = models.PositiveIntegerField(default=0)  # finished that day
    rows_imported = models.PositiveIntegerField(default=0)  # created or updated by those
    mail_sent = models.PositiveIntegerField(default=0)  # to the client's users, that day
    # Requests and server time (microseconds) by product area (clients.usage.AREAS).
    requests_prospects = models.PositiveIntegerField(default=0)
    requests_visits = models.PositiveIntegerField(default=0)
    requests_files = models.PositiveIntegerField(default=0)
    requests_imports = models.PositiveIntegerField(default=0)
    requests_admin_tasks = models.PositiveIntegerField(default=0)
    requests_api = models.PositiveIntegerField(default=0)
    requests_other = models.PositiveIntegerField(default=0)
    server_us_prospects = models.PositiveBigIntegerField(default=0)
    server_us_visits = models.PositiveBigIntegerField(default=0)
    server_us_files = models.PositiveBigIntegerField(default=0)
    server_us_imports = models.PositiveBigIntegerField(default=0)
    server_us_admin_tasks = models.PositiveBigIntegerField(default=0)
    server_us_api = models.PositiveBigIntegerField(default=0)
    server_us_other = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["client", "day"]
        constraints = [
            # Also the index of every read: one client's days, in order.
            models.UniqueConstraint(fields=["client", "day"], name="usageday_client_day")
        ]
        # Benchmarks and the daily job read one day across all clients.
        indexes = [models.Index(fields=["day"], name="usageday_day")]

    def __str__(self) -> str:
        return f"Usage of client {self.client_id} on {self.day}"


class UsageFlush(models.Model):
    """A batch of counted requests already added to UsageDay, kept for a week: a flush that
    died after its transaction and before deleting the batch from Redis does not add it twice.
    Not Client Data (holds no client), so no client key."""

    key = models.CharField(max_length=120, unique=True)
    flushed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key


class UsageBenchmark(models.Model):
    """The spread of one figure across the clients of one size on one day: written by the daily
    job (clients.usage.usage_benchmarks_compute) only for groups of at least 5 clients. Holds
    no client, only the group's quartiles, so any client's admins may read it."""

    day = models.DateField()
    size_low = models.PositiveIntegerField()  # users, inclusive
    size_high = models.PositiveIntegerField(null=True)  # None: no upper bound
    metric = models.CharField(max_length=30)
    clients = models.PositiveIntegerField()  # in the group: always at least 5
    q1 = models.FloatField()
    median = models.FloatField()
    q3 = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "size_low", "metric"], name="usagebenchmark_once"
            ),
            models.CheckConstraint(condition=models.Q(clients__gte=5), name="usagebenchmark_min_5"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} for {self.size_low}+ users on {self.day}"


# --- billing ---------------------------------------------------------------------------------


class Plan(models.Model):
    """A price per active user per month, kept by staff in admin. A client on no plan is not
    invoiced; a plan's price change applies from the next invoice (an invoice keeps its own)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    price_per_user = models.DecimalField(
        max_digits=10, decimal_places=2, help_text="Per active user per month, before tax."
    )
    currency = models.CharField(max_length=3, default="INR")
    trial_days = models.PositiveSmallIntegerField(default=30)
    active = models.BooleanField(default=True, help_text="Offered to new clients.")

    class Meta:
        ordering = ["price_per_user", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price_per_user__gte=0), name="plan_price_ok")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.price_per_user} {self.currency}/user/month)"


class ClientBilling(TenantModel):
    """A client's plan, trial, billing details and payment card. Of the card only what the
    processor reports is kept: its customer and payment-method ids, the brand, the last four
    digits and the expiry. No card number ever reaches OpsX (clients/payments.py)."""

    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="billing")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True)
    trial_ends_on = models.DateField(null=True, blank=True)
    # Who the invoice is to, as the client admins gave it.
    legal_name = models.CharField(max_length=200, blank=True)
    address = models.TextField(max_length=500, blank=True)
    country = models.CharField(max_length=2, default="IN")  # ISO 3166-1 alpha-2
    state = models.CharField(max_length=2, blank=True)  # India: the GST state code, "29"
    gstin = models.CharField(max_length=15, blank=True)  # validated by clients/gst.py
    billing_email = models.EmailField(blank=True)
    # The payment card, as the processor reports it.
    processor = models.CharField(max_length=20, blank=True)  # "stripe"
    processor_customer_id = models.CharField(max_length=100, blank=True)
    processor_payment_method_id = models.CharField(max_length=100, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    card_exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Billing of client {self.client_id}"

    @property
    def has_card(self) -> bool:
        return bool(self.processor_payment_method_id)


class InvoiceSequence(models.Model):
    """The one counter invoice numbers come from, locked (SELECT … FOR UPDATE) by the
    transaction that issues an invoice: a number is used only if its invoice commits, so the
    numbers have no gap and no duplicate even under two concurrent month-end runs."""

    name = models.CharField(max_length=20, unique=True, default="invoices")
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.last}"


class Invoice(TenantModel):
    """One client's invoice for one month, computed from its usage rows, stored with
    everything it said (prices, tax, both parties' details) and its PDF."""

    class Status(models.TextChoices):
        ISSUED = "issued", "Issued"
        PAID = "paid", "Paid"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+", db_index=False)
    sequence = models.PositiveIntegerField(unique=True)  # 1, 2, 3… across all clients
    number = models.CharField(max_length=30, unique=True)  # "OPX-000001"
    period_start = models.DateField()  # the first of the month billed
    period_end = models.DateField()  # its last day
    issued_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    plan_name = models.CharField(max_length=80)
    currency = models.CharField(max_length=3)
    # Billed: the average of the month's daily active users, rounded half up (clients/billing.py).
    active_users = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    billable_days = models.PositiveSmallIntegerField()  # after the trial, of the month's days
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    cgst = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    sgst = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    igst = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    seller = models.JSONField()  # HexCM's details on the day it was issued
    buyer = models.JSONField()  # the client's billing details on that day
    pdf = models.FileField(upload_to="invoices/", blank=True)
    # Paid by the card on file (clients/payments.py): the processor's payment id, or why the
    # charge failed (then the invoice waits for a transfer or a new card).
    payment_reference = models.CharField(max_length=100, blank=True)
    payment_error = models.CharField(max_length=300, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["client", "period_start"], name="invoice_once_a_month")
        ]

    def __str__(self) -> str:
        return self.number
