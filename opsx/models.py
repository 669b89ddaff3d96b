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

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"  # gave up after MAIL_MAX_ATTEMPTS, or expired

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    category = models.CharField(max_length=20, choices=Category.choices)
    to_email = models.EmailField(max_length=254)
    from_email = models.CharField(max_length=254)
    subject = models.CharField(max_length=998)
    # Body and headers: empty once the message is sent or failed (opsx.mail purges them).
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
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

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="outbound_pending_due_idx",
            ),
            models.Index(fields=["to_email", "-created_at"], name="outbound_to_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} to {self.to_email}: {self.subject}"
