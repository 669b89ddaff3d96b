import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from clients.models import Client, TenantModel, TenantQuerySet


class UserQuerySet(TenantQuerySet):
    def active(self):
        return self.filter(is_active=True)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email=username.lower())

    def create_user(self, email, password=None, **fields):
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True, client=None)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: a client's member or admin, or HexCM staff (no client)."""

    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        ADMIN = "admin", "Admin"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(max_length=254, unique=True)  # the login, always stored lower-case
    full_name = models.CharField(max_length=150)
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    is_staff = models.BooleanField(default=False, help_text="HexCM staff: may use Django admin.")
    # The age gate stores only that it was passed and when, never the birth date.
    age_check_passed_at = models.DateTimeField(null=True, blank=True)
    # HexCM staff only: when the pending two-factor enrolment link was issued. The link carries
    # this time; issuing a new one retires the old, using it clears this (single use).
    staff_enrolment_sent_at = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]
        constraints = [
            # Lower-case only, so the plain unique index makes the login case-insensitive.
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="user_email_lower"
            ),
            # Only HexCM staff live outside a client.
            models.CheckConstraint(
                condition=models.Q(client__isnull=False) | models.Q(is_staff=True),
                name="user_client_unless_staff",
            ),
        ]
        indexes = [models.Index(fields=["client", "full_name"], name="user_client_name_idx")]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self):
        super().clean()
        self.email = self.email.lower()

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def is_client_admin(self) -> bool:
        return self.client_id is not None and self.role == self.Role.ADMIN and self.is_active


class ProfileRevision(models.Model):
    """The previous value of a name or email, kept when the user changes it."""

    class Field(models.TextChoices):
        FULL_NAME = "full_name", "Name"
        EMAIL = "email", "Email address"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="revisions")
    field = models.CharField(max_length=20, choices=Field.choices)
    old_value = models.CharField(max_length=254)
    new_value = models.CharField(max_length=254)
    changed_at = models.DateTimeField(default=timezone.now)
    # Who made the change: the user, or staff acting on their behalf.
    changed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["user", "-changed_at"], name="revision_user_idx")]

    def __str__(self) -> str:
        return f"{self.get_field_display()} of {self.user_id} on {self.changed_at:%Y-%m-%d}"


class Invitation(TenantModel):
    """A client admin's invitation of a person by email; accepting it creates a member."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        CANCELLED = "cancelled", "Cancelled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=10, choices=User.Role.choices, default=User.Role.MEMBER)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    # Resending renews the link: the signed token carries this time, older links stop working.
    sent_at = models.DateTimeField(default=timezone.now)
    accepted_user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "email"],
                condition=models.Q(status="pending"),
                name="invitation_pending_unique_per_client",
            )
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.client_id}"


class Referral(models.Model):
    """A user told a friend about OpsX: the friend's name and address, kept only to send the
    invitation (and at most one reminder) and to see whether it led to a sign-up; deleted once
    it has served (settings.REFERRAL_RETENTION_DAYS) or when the friend asks."""

    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        SIGNED_UP = "signed_up", "Signed up"
        CANCELLED = "cancelled", "Cancelled"  # the friend asked not to be mailed, or was suppressed

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    referrer = models.ForeignKey(User, on_delete=models.CASCADE, related_name="referrals")
    friend_name = models.CharField(max_length=150)
    friend_email = models.EmailField(max_length=254)  # stored lower-case
    note = models.TextField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.INVITED)
    created_at = models.DateTimeField(auto_now_add=True)
    # The reminder goes out once, at this time, if the friend has neither signed up nor asked
    # to be removed; null once it has gone (or will not).
    remind_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    signed_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["referrer", "friend_email"], name="referral_once_per_friend"
            )
        ]
        indexes = [
            models.Index(fields=["friend_email"], name="referral_friend_email_idx"),
            models.Index(
                fields=["remind_at"],
                condition=models.Q(remind_at__isnull=False),
                name="referral_remind_due_idx",
            ),
            models.Index(fields=["created_at"], name="referral_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Referral {self.public_id} by {self.referrer_id}"
