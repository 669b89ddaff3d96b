"""Reads of the client admins' device pages (Admin tasks → Devices)."""

from __future__ import annotations

import base64
import datetime
import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from clients.models import Client

from .forms import ANY_STATUS
from .models import Device

PAGE_SIZE = 50
_MAX_PK = 2**63 - 1

# What a row of the lists prints, and nothing more (not the push token, not the session).
_ROW_FIELDS = (
    "public_id",
    "platform",
    "device_model",
    "app_version",
    "status",
    "created_at",
    "last_seen_at",
    "refused_attempts",
    "last_refused_at",
    "revoked_at",
    "revoke_reason",
    "revoke_note",
    "user__public_id",
    "user__full_name",
    "user__email",
    "revoked_by__full_name",
    "revoked_by__email",
)


def access_device(client: Client, public_id) -> Device:
    """A device of `client` by public id, or 404 (also for another client's device)."""
    return get_object_or_404(
        Device.objects.for_client(client).select_related("user"), public_id=public_id
    )


def device_list(client: Client, *, status: str, search: str = "") -> QuerySet[Device]:
    """The client's devices with this status (or any, ANY_STATUS), whose user's name or email
    contains `search`. With a status, the page is a range of device_client_idx
    (client, status, -last_seen_at)."""
    qs = Device.objects.for_client(client)
    if status != ANY_STATUS:
        qs = qs.filter(status=status)
    if search:
        qs = qs.filter(Q(user__full_name__icontains=search) | Q(user__email__icontains=search))
    return qs


def pending_list(client: Client) -> QuerySet[Device]:
    """Devices waiting for an admin's approval (the client's policy is "approve")."""
    return Device.objects.for_client(client).filter(status=Device.Status.PENDING)


def refused_list(client: Client) -> QuerySet[Device]:
    """Refused sign-ins: refused devices, and pending ones whose user tried again meanwhile."""
    return Device.objects.for_client(client).filter(
        Q(status=Device.Status.REJECTED) | Q(status=Device.Status.PENDING, refused_attempts__gt=0)
    )


def pending_count(client: Client) -> int:
    return pending_list(client).count()


def active_devices_of(client: Client, user_ids) -> dict[int, Device]:
    """The active device of each of these users (what approving their pending one replaces):
    one query, whatever the number of users."""
    rows = (
        Device.objects.for_client(client)
        .filter(status=Device.Status.ACTIVE, user_id__in=set(user_ids))
        .only("user_id", "platform", "device_model", "last_seen_at")
    )
    return {device.user_id: device for device in rows}


@dataclass
class DevicePage:
    rows: list[Device]
    next_cursor: str | None


def _encode_cursor(value: datetime.datetime | None, pk: int) -> str:
    raw = json.dumps([value.isoformat() if value else None, pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime.datetime | None, int]:
    try:
        text = cursor[:200]
        when, pk = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if when is not None:
            when = datetime.datetime.fromisoformat(when)
            if when.tzinfo is None:
                raise ValueError
        if not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk <= _MAX_PK:
            raise ValueError
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationError("That page link is broken; showing the first page.") from None
    return when, pk


def device_page(
    qs: QuerySet[Device], *, column: str = "last_seen_at", after: str = "", size: int = PAGE_SIZE
) -> DevicePage:
    """One page, latest `column` first (never-seen devices before the others, as PostgreSQL
    sorts NULL in a descending index), by keyset on (column, id): no OFFSET, no COUNT, one
    query with the users. Raises ValidationError for a broken cursor."""
    if after:
        value, pk = _decode_cursor(after)
        if value is None:
            qs = qs.filter(
                Q(**{f"{column}__isnull": True}, id__lt=pk) | Q(**{f"{column}__isnull": False})
            )
        else:
            qs = qs.filter(Q(**{f"{column}__lt": value}) | Q(**{column: value}, id__lt=pk))
    rows = list(
        qs.select_related("user", "revoked_by")
        .only(*{column, *_ROW_FIELDS}, "user", "revoked_by")
        .order_by(f"-{column}", "-id")[: size + 1]
    )
    more = len(rows) > size
    rows = rows[:size]
    last = rows[-1] if rows else None
    return DevicePage(
        rows=rows,
        next_cursor=_encode_cursor(getattr(last, column), last.pk) if more and last else None,
    )
