"""The registry of where OpsX keeps personal data about a user, and the keyed hash.

Every model that holds a user key or an email address joins this registry, in its app's
`personal_data.py` (loaded by the privacy app at start-up, autodiscover style), or is named in
`NOT_PERSONAL` with the reason it holds nobody's data. Two engines read it and nothing else:
the access archive (privacy/archive.py: what we hold about a person) and erasure
(privacy/erasure.py: removing it). A test walks every installed model and fails when one with
a user key or an email field is in neither place, so a model added later cannot be forgotten.

Entries name models and fields by label ("accounts.Invitation"), so this module, on the ground
floor, imports no app; the engines resolve them.
"""

import hashlib
import hmac
from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings


class Erase(StrEnum):
    """What erasing a person does to a model's rows about them."""

    DELETE = "delete"  # the rows are theirs alone: delete them
    # The rows are Client Data (or another person's) that the person only touched: keep the
    # row, clear the keys that point at them (SET NULL). It no longer names them.
    DETACH = "detach"
    # The row must stay (proof, the law, a count) but without them: `anonymise` says what each
    # field becomes; HASH puts the keyed hash of their email address there.
    ANONYMISE = "anonymise"
    # A function of the engine's does it (`handler`: "module:function"), for rows that need more
    # than the above (files on disk, a trigger-guarded table).
    CUSTOM = "custom"


HASH = object()  # in Holding.anonymise: "the keyed hash of the person's email address"


@dataclass(frozen=True)
class Holding:
    """Where one model holds personal data about a user.

    A row is about the user when any of `user_fields` points at them, or any of `email_fields`
    holds one of their addresses (compared lower-case). `export` lists the fields the access
    archive copies (the keys are shown as the public id or "you"); empty only when the
    `note` says why the person gets nothing from it.
    """

    model: str  # "app_label.ModelName"
    user_fields: tuple[str, ...] = ()
    email_fields: tuple[str, ...] = ()
    export: tuple[str, ...] = ()
    erase: Erase = Erase.DELETE
    # For ANONYMISE: {field: new value, or HASH}. For DETACH: the fields to clear (default:
    # user_fields).
    anonymise: dict = field(default_factory=dict)
    handler: str = ""  # for Erase.CUSTOM, and to add rows to the archive that fields cannot say
    # Section title in the archive ("Email addresses"); what the rows are, for people.
    title: str = ""
    note: str = ""


_registry: dict[str, Holding] = {}

# Models with a user key or an email field that hold no personal data of a user's, with why.
NOT_PERSONAL: dict[str, str] = {}


def register(*holdings: Holding) -> None:
    for holding in holdings:
        if holding.model in _registry:
            raise ValueError(f"{holding.model} is registered twice in the personal data registry")
        _registry[holding.model] = holding


def not_personal(model: str, reason: str) -> None:
    NOT_PERSONAL[model] = reason


def holdings() -> list[Holding]:
    """Every registered holding, in registration order."""
    return list(_registry.values())


def holding_for(model: str) -> Holding | None:
    return _registry.get(model)


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of `value` (an email address: trimmed and lower-cased first) under
    settings.PRIVACY_HASH_KEY, hex. Stands in for an erased person's address where a record
    must outlive them: staff can check whether a given address made a request, nobody can
    read the address back, and without the key nobody can test guesses."""
    normalised = value.strip().lower().encode()
    return hmac.new(settings.PRIVACY_HASH_KEY.encode(), normalised, hashlib.sha256).hexdigest()


# --- opsx's own holdings ----------------------------------------------------------------

register(
    Holding(
        "opsx.OutboundMessage",
        email_fields=("to_email",),
        export=("category", "subject", "status", "created_at", "sent_at"),
        # Pending mail to them is deleted; the metadata of what was sent is kept for the
        # outbox's record, with the address replaced by its keyed hash and the subject emptied
        # (a subject may greet them by name).
        erase=Erase.CUSTOM,
        handler="privacy.erasure:erase_outbound_messages",
        title="Emails we sent you",
    ),
    Holding(
        "admin.LogEntry",
        user_fields=("user",),
        export=("action_time", "object_repr", "change_message"),
        # Staff's own edits log. Entries about the person (object_repr is their name) are
        # handled by the erasure engine's custom step too.
        erase=Erase.CUSTOM,
        handler="privacy.erasure:erase_admin_log",
        title="Changes made in the support admin",
    ),
)
