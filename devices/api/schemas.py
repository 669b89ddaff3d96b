"""The shapes of prospects and visits in the mobile API, shared by their endpoints and the sync
pull. `version` is the row's sync_txid as a string: an offline edit sends back the version it
was based on, and a stale one is answered with a conflict."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Annotated

from django.core.exceptions import ValidationError as DjangoValidationError
from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, field_validator

from prospects.models import Prospect, Visit
from prospects.validation import clean_coordinate

from .errors import ErrorDetail, ErrorOut  # noqa: F401 (the endpoints' error answers)

NUL_MESSAGE = "Text cannot contain NUL characters (character code 0)."


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _no_nul(value):
    # PostgreSQL text cannot hold NUL: refused here, not a database error later.
    if _has_nul(value):
        raise ValueError(NUL_MESSAGE)
    return value


# A query or form parameter's text (bodies are checked by Strict).
Text = Annotated[str, AfterValidator(_no_nul)]


def _scalar(value):
    if isinstance(value, dict | list):
        raise ValueError("Give a text, a number, true or false, or null here.")
    return value


# One value of a custom field or a checklist answer: one message for a list or an object,
# rather than pydantic's one per member of the union.
Scalar = Annotated[str | bool | int | float | None, BeforeValidator(_scalar)]


class Strict(Schema):
    """Request bodies: an unknown field is an error, not silently dropped, and no text in them
    holds a NUL character."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_anywhere(cls, value):
        return _no_nul(value)


def _coordinate(limit: int, what: str):
    def clean(value):
        # The web form's own reading (validation.clean_coordinate): a number or its text,
        # rounded to 6 decimal places; NaN, 1e308 and 10**40 are refused with its message.
        try:
            return clean_coordinate(value, limit=limit, what=what)
        except DjangoValidationError as exc:
            raise ValueError(exc.messages[0]) from None

    return clean


_COORDINATE_HELP = "Decimal degrees, as a number or its text; rounded to 6 decimal places."
Latitude = Annotated[
    decimal.Decimal | None,
    BeforeValidator(_coordinate(90, "latitude")),
    Field(description=f"-90 to 90. {_COORDINATE_HELP}"),
]
Longitude = Annotated[
    decimal.Decimal | None,
    BeforeValidator(_coordinate(180, "longitude")),
    Field(description=f"-180 to 180. {_COORDINATE_HELP}"),
]


def error_responses(*statuses: int) -> dict:
    """The error answers an operation documents: these, and 401 and 403 (signed out, device
    not active) for every operation."""
    return {status: ErrorOut for status in sorted({401, 403, *statuses})}


class ProspectOut(Schema):
    id: uuid.UUID
    version: str
    name: str
    organisation: str
    email: str
    phones: list[str]
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str
    country: str
    latitude: decimal.Decimal | None
    longitude: decimal.Decimal | None
    status: str
    owner_id: uuid.UUID | None
    source: str
    tags: list[str]
    notes: str
    custom: dict
    created_at: datetime.datetime
    updated_at: datetime.datetime


class VisitOut(Schema):
    id: uuid.UUID
    version: str
    prospect_id: uuid.UUID
    prospect_name: str
    user_id: uuid.UUID | None
    status: str
    scheduled_at: datetime.datetime | None
    checked_in_at: datetime.datetime | None
    check_in_latitude: decimal.Decimal | None
    check_in_longitude: decimal.Decimal | None
    checked_out_at: datetime.datetime | None
    check_out_latitude: decimal.Decimal | None
    check_out_longitude: decimal.Decimal | None
    outcome: str
    report: str
    checklist_id: uuid.UUID | None
    answers: dict
    created_at: datetime.datetime
    updated_at: datetime.datetime


def prospect_out(prospect: Prospect) -> dict:
    """Needs `phones` prefetched and `owner` selected (only public_id) for a constant number
    of queries in a list."""
    return {
        "id": prospect.public_id,
        "version": str(prospect.sync_txid),
        "name": prospect.name,
        "organisation": prospect.organisation,
        "email": prospect.email,
        "phones": [phone.number for phone in prospect.phones.all()],
        "address_line1": prospect.address_line1,
        "address_line2": prospect.address_line2,
        "city": prospect.city,
        "state": prospect.state,
        "postal_code": prospect.postal_code,
        "country": prospect.country,
        "latitude": prospect.latitude,
        "longitude": prospect.longitude,
        "status": prospect.status,
        "owner_id": prospect.owner.public_id if prospect.owner_id else None,
        "source": prospect.source,
        "tags": list(prospect.tags or []),
        "notes": prospect.notes,
        "custom": dict(prospect.custom or {}),
        "created_at": prospect.created_at,
        "updated_at": prospect.updated_at,
    }


def visit_out(visit: Visit) -> dict:
    """Needs `prospect`, `user` and `checklist` selected for a constant number of queries."""
    return {
        "id": visit.public_id,
        "version": str(visit.sync_txid),
        "prospect_id": visit.prospect.public_id,
        "prospect_name": visit.prospect.name,
        "user_id": visit.user.public_id if visit.user_id else None,
        "status": visit.status,
        "scheduled_at": visit.scheduled_at,
        "checked_in_at": visit.checked_in_at,
        "check_in_latitude": visit.check_in_latitude,
        "check_in_longitude": visit.check_in_longitude,
        "checked_out_at": visit.checked_out_at,
        "check_out_latitude": visit.check_out_latitude,
        "check_out_longitude": visit.check_out_longitude,
        "outcome": visit.outcome,
        "report": visit.report,
        "checklist_id": visit.checklist.public_id if visit.checklist_id else None,
        "answers": dict(visit.answers or {}),
        "created_at": visit.created_at,
        "updated_at": visit.updated_at,
    }
