import uuid

from django.db import models


class OutboundMessage(models.Model):
    """One email the app sends, recorded in the same transaction as the change that causes it.

    Delivery happens after commit (a Celery task) and again from the periodic resend task for
    whatever is still pending, so a message survives a broker or SMTP outage. Once sent or
    failed, the body and headers are emptied (they are personal data and may hold a live link);
    the row keeps who, what subject, when and how it ended.
    """

    class Category(models.TextChoices):
        LEGAL = "legal", "Legal notice"  # always sent
        ACCOUNT = "account", "Account and security"  # always sent
        SERVICE = "service", "Service notice"  # opt-out
        NEWSLETTER = "newsletter", "Newsletter"  # opt-in
        REFERRAL = "referral", "Referral"  # one-off to a non-user
        # A request for someone's consent (a testimonial): no opt-out stops it (its answer is
        # the decline link), but the suppression list does, at send time too.
        CONSENT = "consent", "Consent request"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"  # gave up after MAIL_MAX_ATTEMPTS, or expired
        # Refused at send time: the address is suppressed, or the recipient opted out since
        # the message was queued (opsx.mail's send-time checks).
        SUPPRESSED = "suppressed", "Not sent (opted out or suppressed)"

    class Event(models.TextChoices):
        """What the provider reported after SMTP accepted the message (anymail's webhooks)."""

        BOUNCED = "bounced", "Hard bounce"
        COMPLAINED = "complained", "Spam complaint"
        DEFERRED = "deferred", "Soft bounce (retried)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    category = models.CharField(max_length=20, choices=Category.choices)
    to_email = models.EmailField(max_length=254)
    from_email = models.CharField(max_length=254)
    subject = models.CharField(max_length=998)
    # Body and headers: empty once the message is sent or failed (opsx.mail purges them).
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    # A newsletter issue's recipients share one rendered body, held once on the batch.
    batch = models.ForeignKey(
        "MailBatch", on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    # The recipient's own unsubscribe (or "remove my information") link, for every category
    # but legal and account: put in the List-Unsubscribe header at send time (and in a
    # batch's body in place of MailBatch.UNSUBSCRIBE_PLACEHOLDER). Purged with the body.
    unsubscribe_url = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # The periodic task leaves a message alone until then (backoff after a failure).
    next_attempt_at = models.DateTimeField()
    # When the secret link the message carries (reset, confirmation, invitation) stops working:
    # a message still pending then is never sent. Null: nothing in it expires.
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The last delivery event the provider reported for this message, and when.
    event = models.CharField(max_length=12, choices=Event.choices, blank=True)
    event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A batch never has two messages to one address: a resumed fan-out inserts only
            # the recipients it has not recorded yet.
            models.UniqueConstraint(
                fields=["batch", "to_email"],
                condition=models.Q(batch__isnull=False),
                name="outbound_batch_recipient_once",
            )
        ]
        indexes = [
            models.Index(
                fields=["batch", "status"],
                condition=models.Q(batch__isnull=False),
                name="outbound_batch_status_idx",
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="outbound_pending_due_idx",
            ),
            models.Index(fields=["to_email", "-created_at"], name="outbound_to_email_idx"),
            # The daily usage figures count a day's sent mail (clients.usage, accounts/usage.py).
            models.Index(
                fields=["sent_at"], condition=models.Q(status="sent"), name="outbound_sent_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} to {self.to_email}: {self.subject}"


class MailBatch(models.Model):
    """One body sent to many recipients (a newsletter issue): rendered once, not per row.

    Each recipient is an OutboundMessage pointing here with its own address and unsubscribe
    link; the body's UNSUBSCRIBE_PLACEHOLDER is replaced by that link at send time. The body is
    emptied once no message of the batch is pending any more."""

    UNSUBSCRIBE_PLACEHOLDER = "%%OPSX_UNSUBSCRIBE_URL%%"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    category = models.CharField(max_length=20, choices=OutboundMessage.Category.choices)
    subject = models.CharField(max_length=998)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When every recipient was recorded (the fan-out's INSERT ... SELECT finished).
    recorded_at = models.DateTimeField(null=True, blank=True)
    # When a task last took a chunk of it to send: the periodic task restarts a batch with
    # pending messages only once this is older than a chunk's lease (its chains died).
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.get_category_display()} batch: {self.subject}"


class Suppression(models.Model):
    """An address OpsX must not mail (legal and account mail aside): a hard bounce, a complaint,
    or a friend who asked that no referral mail reach them again.

    Only a keyed hash of the normalised address is kept (opsx.personal_data.keyed_hash), so the list
    itself holds no address: it can answer "is this one suppressed?" and nothing else."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        COMPLAINT = "complaint", "Spam complaint"
        REFERRAL_REMOVAL = "referral_removal", "Asked to receive no referral mail"

    class Scope(models.TextChoices):
        ALL = "all", "Service notices, newsletter, consent and referral mail"
        REFERRAL = "referral", "Referral mail only"

    address_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=10, choices=Scope.choices)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["address_hash", "scope"], name="suppression_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.get_scope_display()})"
