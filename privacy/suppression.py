"""Staff's side of the suppression list (opsx.suppression): ask whether an address is on it,
and take it off (after its owner fixed the mailbox, or a complaint was a mistake), audited.

The list keeps only keyed hashes, so both take the address staff were given and hash it; the
address itself is never stored or logged here."""

from django.db import transaction

from accounts.models import User
from clients import audit
from opsx import suppression
from opsx.models import Suppression
from opsx.personal_data import keyed_hash


def suppression_entries(address: str) -> list[Suppression]:
    """The address's entries (one per scope), oldest first; empty if it is not suppressed."""
    return list(Suppression.objects.filter(address_hash=keyed_hash(address)).order_by("created_at"))


@transaction.atomic
def suppression_lift(*, address: str, actor: User) -> int:
    """Take `address` off the list in every scope; returns how many entries went. Mail to it
    is sent again from the next message on (a message already ended `suppressed` stays so)."""
    removed = suppression.lift(address)
    if removed:
        audit.record(
            actor=actor,
            action=audit.Action.SUPPRESSION_LIFTED,
            client=audit.NO_CLIENT,
            counts={"entries": removed},
        )
    return removed
