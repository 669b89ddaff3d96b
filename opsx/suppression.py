"""The suppression list: addresses OpsX must not mail again (legal notices aside).

A hard bounce or a spam complaint suppresses an address for service notices, the newsletter,
consent requests and referral mail; a friend's "remove my information" suppresses it for referral mail only. Legal
notices and account mail are never held back: account mail (a password reset, a sign-in code)
goes out because its owner just asked for it, and a bounce months ago must not lock them out. Only a keyed hash of the
address is stored (opsx.personal_data.keyed_hash), so the list can be asked about an address
but never read back. `opsx.mail.deliver` consults it at send time for every message.
"""

from django.db import IntegrityError, transaction

from .models import OutboundMessage, Suppression
from .personal_data import keyed_hash

Category = OutboundMessage.Category
Scope = Suppression.Scope


def scopes_for(category: str) -> list[str]:
    """The suppression scopes that stop a message of `category` (none stops legal or account
    mail)."""
    if category in (Category.LEGAL, Category.ACCOUNT):
        return []
    if category == Category.REFERRAL:
        return [Scope.ALL, Scope.REFERRAL]
    return [Scope.ALL]


def is_suppressed(address: str, *, category: str) -> bool:
    scopes = scopes_for(category)
    return (
        bool(scopes)
        and Suppression.objects.filter(address_hash=keyed_hash(address), scope__in=scopes).exists()
    )


def suppress(address: str, *, reason: str, scope: str) -> bool:
    """Add the address to the list (idempotent). True if it was not on it in that scope."""
    try:
        with transaction.atomic():
            Suppression.objects.create(address_hash=keyed_hash(address), scope=scope, reason=reason)
    except IntegrityError:
        return False
    return True


def lift(address: str) -> int:
    """Take the address off the list in every scope (staff, after the owner fixed a mailbox);
    returns how many entries went."""
    return Suppression.objects.filter(address_hash=keyed_hash(address)).delete()[0]
