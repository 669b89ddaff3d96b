"""The shapes of prospects and visits in the mobile API, shared by their endpoints and the sync
pull. `version` is the row's sync_txid as a string: an offline edit sends back the version it
was based on, and a stale one is answered with a conflict."""

from __future__ import annotations

import datetime
import decimal
import uuid

from ninja import Schema
from pydantic import ConfigDict

from prospects.models import Prospect, Visit


class Strict(Schema):
    """Request bodies: an unknown field is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


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
