"""Legal holds: staff keep a person's minimal record past their erasure, with a reason.

What a hold keeps is decided by the erasure engine (privacy/erasure.py, its docstring): the
user row anonymised in place, and the keys of the records that point at it.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from clients import audit
from opsx.personal_data import keyed_hash

from .models import LegalHold


@transaction.atomic
def legal_hold_set(*, user: User, reason: str, actor: User) -> LegalHold:
    """Put `user` under a legal hold. The reason is required (staff's record of why: it is
    never shown to the user). One active hold per person."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give the reason for the hold.", code="reason_required")
    if LegalHold.objects.filter(user=user, released_at__isnull=True).exists():
        raise ValidationError("This person is already under an active legal hold.", code="held")
    hold = LegalHold.objects.create(
        user=user,
        user_hash=keyed_hash(user.email),
        reason=reason,
        set_by=actor,
        set_at=timezone.now(),
    )
    audit.record(
        actor=actor, action=audit.Action.LEGAL_HOLD_SET, target=user, client=audit.NO_CLIENT
    )
    return hold


@transaction.atomic
def legal_hold_release(*, hold: LegalHold, actor: User) -> LegalHold:
    """End the hold. Nothing already anonymised comes back; a person erased under the hold is
    deleted for good by the next retention run."""
    locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if locked.released_at is not None:
        raise ValidationError("This legal hold was already released.", code="released")
    hold.released_at = timezone.now()
    hold.released_by = actor
    hold.save(update_fields=["released_at", "released_by"])
    user = hold.user
    audit.record(
        actor=actor,
        action=audit.Action.LEGAL_HOLD_RELEASED,
        target=user,
        client=audit.NO_CLIENT,
    )
    return hold
