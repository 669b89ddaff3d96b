import uuid

from django.db import models


class Client(models.Model):
    """A company that uses OpsX: the tenant. Every piece of Client Data points here directly."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"  # its users cannot sign in

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    contact_email = models.EmailField()
    # Bytes of files the client stores, kept by the file services (usage statistics).
    storage_bytes = models.PositiveBigIntegerField(default=0)
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
