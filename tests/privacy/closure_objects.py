"""What the client closure tests share: a client full of data, and closures made due."""

from datetime import timedelta

from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from clients.models import Client, ClientBilling, Invoice, UsageDay
from devices.models import Device, IdempotencyRecord
from privacy import closure as services
from privacy.models import ClientClosure, PrivacyRequest
from prospects import files
from prospects.models import ImportRowError, Prospect, ProspectEvent
from tests.factories import InvitationFactory, ProspectFactory
from tests.prospects.objects import PNG, client_objects


def client_key_models():
    """Every model with a direct key to Client, read from the models (not from the code under
    test), so a model added later is counted too."""
    return [
        m
        for m in apps.get_models()
        if any(
            f.name == "client" and f.many_to_one and f.related_model is Client
            for f in m._meta.concrete_fields
        )
    ]


def counts(client) -> dict[str, int]:
    return {
        m._meta.label_lower: m._base_manager.filter(client=client).count()
        for m in client_key_models()
    }


def fill(client, actor, *, label: str, prospects: int = 3) -> dict:
    """A row in every table of Client Data: client_objects' set, more prospects (with
    phones), a prospect attachment, a note, an import error, a pending invitation, a privacy
    request about one of the client's prospects, the actor's device and a retried request's
    answer, and a sync tombstone (a prospect given away from the actor)."""
    objects = client_objects(client, actor, label=label)
    objects["device"] = Device.objects.create(
        client=client, user=actor, installation_id=f"install-{label}", platform="android"
    )
    IdempotencyRecord.objects.create(
        client=client, user=actor, key=f"key-{label}", fingerprint="f" * 64, status_code=201,
        body={"id": "x"},
    )  # fmt: skip
    # A prospect of the actor's given away: the trigger's tombstone.
    Prospect.objects.filter(pk=objects["prospect"].pk).update(owner=actor)
    Prospect.objects.filter(pk=objects["prospect"].pk).update(owner=None)
    for i in range(prospects):
        ProspectFactory(client=client, name=f"{label} person {i}", phones=["+919876543210"])
    objects["attachment"] = files.file_store(
        client=client,
        actor=actor,
        upload=SimpleUploadedFile(f"{label} card.png", PNG),
        prospect=objects["prospect"],
    )
    ProspectEvent.objects.create(
        client=client, prospect=objects["prospect"], kind="note", actor=actor,
        at=timezone.now(), text="a note",
    )  # fmt: skip
    ImportRowError.objects.create(client=client, job=objects["job"], row_number=2, reason="bad")
    # Usage and billing: a day's figures (deleted) and an invoice (kept: accounting records).
    UsageDay.objects.create(client=client, day=timezone.localdate(), users=1, prospects=3)
    ClientBilling.objects.create(client=client, legal_name=f"{label} Pvt Ltd")
    Invoice.objects.create(
        client=client, sequence=Invoice.objects.count() + 1, number=f"OPX-{label}",
        period_start=timezone.localdate().replace(day=1), period_end=timezone.localdate(),
        issued_on=timezone.localdate(), plan_name="Team", currency="INR", active_users=1,
        unit_price=399, billable_days=30, subtotal=399, total=399, seller={}, buyer={},
    )  # fmt: skip
    InvitationFactory(client=client, invited_by=actor)
    now = timezone.now()
    objects["request"] = PrivacyRequest.objects.create(
        kind=PrivacyRequest.Kind.PROSPECT_DATA, channel=PrivacyRequest.Channel.PUBLIC,
        requester_email=f"customer@{label.lower()}.example", client=client,
        received_at=now, due_at=now + timedelta(days=30),
    )  # fmt: skip
    return objects


def due_closure(client, actor) -> ClientClosure:
    """A closure requested by `actor` whose grace period is over."""
    closure = services.closure_request(client=client, actor=actor)
    ClientClosure.objects.filter(pk=closure.pk).update(
        delete_after=timezone.now() - timedelta(minutes=1)
    )
    closure.refresh_from_db()
    return closure


class FakeErasure:
    """Stands in for privacy.erasure.user_erase (another helper's work, NotImplementedError
    on this branch): deletes the user row and records whom it was called for."""

    def __init__(self, *, keep_row: bool = False):
        self.calls = []
        self.keep_row = keep_row  # as an erasure that anonymises the row instead of deleting it

    def __call__(self, *, user, actor, reason):
        self.calls.append((user.email, actor, reason))
        if not self.keep_row:
            user.delete()
        return {"accounts.user": 1}
