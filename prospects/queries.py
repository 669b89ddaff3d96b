"""Reads of Client Data: the access helpers (the object or 404) and the prospect list."""

import base64
import datetime
import json
import re
import uuid
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User
from accounts.queries import ACTIVE_USERS, active_users
from clients import cache as client_cache
from clients.models import Client

from .models import (
    Checklist,
    CustomField,
    Folder,
    ImportJob,
    Prospect,
    ProspectEvent,
    ProspectPhone,
    StoredFile,
    Visit,
)
from .templatetags.prospect_tags import format_phone
from .validation import clean_custom_value

PAGE_SIZE = 25


# --- access helpers: another client's id is a 404 ----------------------------


def access_prospect(client: Client, public_id, *, lock: bool = False) -> Prospect:
    """`lock`: the row locked until the transaction ends (an update checking its version)."""
    qs = Prospect.objects.for_client(client).select_related("owner", "client")
    if lock:  # the prospect's row only: its owner is on the nullable side of a join
        qs = qs.select_for_update(of=("self",))
    return get_object_or_404(qs, public_id=public_id)


def access_visit(client: Client, public_id, *, lock: bool = False) -> Visit:
    qs = Visit.objects.for_client(client).select_related("prospect", "user", "checklist", "client")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return get_object_or_404(qs, public_id=public_id)


def access_folder(client: Client, public_id) -> Folder:
    return get_object_or_404(
        Folder.objects.for_client(client).select_related("client"), public_id=public_id
    )


def access_file(client: Client, public_id) -> StoredFile:
    return get_object_or_404(StoredFile.objects.for_client(client), public_id=public_id)


def access_import(client: Client, public_id) -> ImportJob:
    return get_object_or_404(ImportJob.objects.for_client(client), public_id=public_id)


def access_checklist(client: Client, public_id) -> Checklist:
    return get_object_or_404(Checklist.objects.for_client(client), public_id=public_id)


def access_custom_field(client: Client, key: str) -> CustomField:
    return get_object_or_404(CustomField.objects.for_client(client), key=key)


# --- the prospect list ------------------------------------------------------

# sort name -> (column, descending)
SORTS = {
    "name": ("name_key", False),
    "-name": ("name_key", True),
    "-updated": ("updated_at", True),
    "updated": ("updated_at", False),
    "-created": ("created_at", True),
    "created": ("created_at", False),
}
_PHONE_PUNCTUATION = re.compile(r"[\s\-().+/]")


@dataclass
class ProspectFilters:
    q: str = ""
    status: str = ""
    owner: str = ""  # a user's public id, "me" or "none"
    tag: str = ""
    custom_key: str = ""
    custom_value: str = ""
    sort: str = "name"
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, params) -> "ProspectFilters":
        """Read filters from a query string; anything malformed is dropped with a message."""
        values = {
            k: params.get(k, "").strip()[:200]
            for k in ("q", "status", "owner", "tag", "custom_key", "custom_value")
        }
        f = cls(**{k: v.replace("\x00", "") for k, v in values.items()})
        if any("\x00" in v for v in values.values()):  # PostgreSQL text cannot hold NUL
            f.errors.append("A NUL character in the search or filters was left out.")
        f.sort = params.get("sort", "name")
        if f.sort not in SORTS:
            f.errors.append("Unknown sort order; sorted by name.")
            f.sort = "name"
        if f.status and f.status not in Prospect.Status.values:
            f.errors.append(f"Unknown status “{f.status}”; not filtered by status.")
            f.status = ""
        return f

    def as_query(self) -> dict:
        return {k: v for k, v in vars(self).items() if v and k != "errors"}


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def prospect_search(qs: QuerySet, client: Client, q: str) -> QuerySet:
    """Any part of a phone number (digits), the start of an email, or any part of a name or an
    organisation. Each form has its own index (migrations 0002, 0003)."""
    digits = _PHONE_PUNCTUATION.sub("", q)
    if len(digits) >= 3 and digits.isdigit():
        phones = ProspectPhone.objects.for_client(client).filter(digits__contains=digits)
        return qs.filter(pk__in=phones.values("prospect_id"))
    text = " ".join(q.lower().split())
    if "@" in text:
        return qs.filter(email__startswith=text)
    if len(text) < 3:  # too short for trigrams: the start of the name (search_text's start)
        return qs.filter(search_text__startswith=text)
    if "." in text and " " not in text:  # "priya.sharma": an email's start, or a name part
        return qs.filter(Q(email__startswith=text) | Q(search_text__contains=text))
    return qs.filter(search_text__contains=text)


def prospect_list(
    client: Client, filters: ProspectFilters, *, user: User, definitions: list[CustomField]
) -> QuerySet[Prospect]:
    """The client's prospects that match `filters`; `definitions` are the client's custom
    fields (the caller has them already, for the page or the export's columns)."""
    qs = Prospect.objects.for_client(client)
    if filters.q:
        qs = prospect_search(qs, client, filters.q)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.owner == "me":
        qs = qs.filter(owner=user)
    elif filters.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif filters.owner:
        if _is_uuid(filters.owner):
            qs = qs.filter(owner__public_id=filters.owner)
        else:
            filters.errors.append("Unknown owner; not filtered by owner.")
    if filters.tag:
        tag = filters.tag.lower()
        qs = (
            qs.filter(tags__contains=[tag])
            if is_postgres()
            else qs.filter(tags__icontains=json.dumps(tag))
        )
    if filters.custom_key:
        definition = next((d for d in definitions if d.key == filters.custom_key), None)
        if definition is None:
            filters.errors.append("Unknown custom field; not filtered by it.")
        else:
            try:
                value = clean_custom_value(definition, filters.custom_value)
            except ValidationError as exc:
                filters.errors.append(f"{exc.messages[0]} Not filtered by {definition.label}.")
                value = None
            if value is not None and is_postgres():
                qs = qs.filter(custom__contains={definition.key: value})
            elif value is not None:
                qs = qs.filter(**{f"custom__{definition.key}": value})
    return qs


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    prev_cursor: str | None


def _encode_cursor(value, pk) -> str:
    if isinstance(value, datetime.datetime):
        value = {"dt": value.isoformat()}
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# _encode_cursor writes at most ~3,300: a 200-character name key of emoji, \u-escaped by JSON
MAX_CURSOR_CHARS = 4096
MAX_ID = 2**63 - 1  # bigint: a larger id would be a database error, not an empty page


def _decode_cursor(cursor: str, *, dated: bool):
    """(sort value, id) from a page link, or ValidationError. The link comes from outside:
    its size is bounded before base64 and JSON read it (json.loads of deeply nested arrays
    overflows the stack), and the id and value must be what the sort column holds (`dated`:
    an aware datetime, else text), so the query never reaches the database malformed."""
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if dated:
            if not isinstance(value, dict) or not isinstance(value.get("dt"), str):
                raise ValueError
            value = datetime.datetime.fromisoformat(value["dt"])
            if value.tzinfo is None:
                raise ValueError
        elif not isinstance(value, str) or "\x00" in value:
            raise ValueError
        if type(pk) is not int or not 0 < pk <= MAX_ID:  # bool is an int too
            raise ValueError
    except (ValueError, TypeError, KeyError, RecursionError, UnicodeDecodeError):
        raise ValidationError("That page link is broken; showing the first page.") from None
    return value, pk


def prospect_page(
    qs: QuerySet[Prospect], sort: str, *, after: str = "", before: str = "", size: int = PAGE_SIZE
) -> Page:
    """One page by keyset: WHERE (column, id) > (last seen) ORDER BY column, id LIMIT size.

    The thousandth page costs what the first does: an index range scan, no OFFSET, no COUNT.
    """
    column, descending = SORTS[sort]
    backwards = bool(before) and not after
    cursor = before if backwards else after
    # walking backwards means walking the other way and reversing the page afterwards
    reverse = descending != backwards
    if cursor:
        value, pk = _decode_cursor(cursor, dated=column != "name_key")
        # (column, id) > (value, pk), written so the index range starts at `value`.
        op = "lt" if reverse else "gt"
        qs = qs.filter(
            Q(**{f"{column}__{op}e": value})
            & (Q(**{f"{column}__{op}": value}) | Q(**{f"id__{op}": pk}))
        )
    order = [f"-{column}", "-id"] if reverse else [column, "id"]
    # Pick the page's ids first (an index-only scan of the keyset index), then load those rows.
    ids = qs.order_by(*order).values("pk")[: size + 1]
    rows = _list_rows(ids, order, column)
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    first, last = (rows[0], rows[-1]) if rows else (None, None)

    def cursor_of(row):
        return _encode_cursor(row[column], row["id"])

    has_next = more if not backwards else bool(rows)
    has_prev = (more if backwards else bool(cursor)) and bool(rows)
    return Page(
        rows=rows,
        next_cursor=cursor_of(last) if has_next and last else None,
        prev_cursor=cursor_of(first) if has_prev and first else None,
    )


# What a list row shows. The page prints fields and nothing else, so rows are plain dicts:
# building 25 model instances, their owners and a prefetch of phones cost more than the rest
# of the query layer together, and prospect_tags.prospect_rows reads dicts directly.
_ROW_FIELDS = ("id", "public_id", "name", "organisation", "email", "tags", "status", "updated_at")
_STATUS_LABELS = dict(Prospect.Status.choices)


# The rows' statement on PostgreSQL, written once: the ORM's compiling of this join, its array
# subquery and its ordering cost more CPU than PostgreSQL spends running it. The page's ids
# come from the ORM (the filters), the sort column from SORTS (never from the request), and
# row-level security applies to raw SQL as to the ORM.
_ROWS_SQL = """
    SELECT p.id, p.public_id, p.name, p.organisation, p.email, p.tags, p.status, p.updated_at,
           u.full_name, u.email, p.{column},
           ARRAY(SELECT ph.number FROM prospects_prospectphone ph
                 WHERE ph.prospect_id = p.id ORDER BY ph.id)
    FROM prospects_prospect p LEFT OUTER JOIN accounts_user u ON u.id = p.owner_id
    WHERE p.id IN ({ids})
    ORDER BY p.{column} {direction}, p.id {direction}
"""
_SQL_COLUMNS = (*_ROW_FIELDS, "owner__full_name", "owner__email")


def _list_rows(ids: QuerySet[Prospect], order: list[str], column: str) -> list[dict]:
    """The rows of `ids` (a values("pk") slice), in `order` (the sort column and id), as dicts
    of display values: `phones` (formatted, in the order they were added), `status_label`,
    `owner` (the owner's name or email, None for nobody), `updated` (the day, as the date
    filter's "Y-m-d" would print it), plus the keyset `column` and `id` for the cursors."""
    if is_postgres():  # one statement: the phones as an array per row
        ids_sql, params = ids.query.sql_with_params()
        direction = "DESC" if order[0].startswith("-") else "ASC"
        sql = _ROWS_SQL.format(column=column, direction=direction, ids=ids_sql)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            records = cursor.fetchall()
        rows = []
        for record in records:
            row = dict(zip(_SQL_COLUMNS, record[:10], strict=True))
            row["tags"] = json.loads(row["tags"])  # Django has psycopg read jsonb as text
            row[column], row["numbers"] = record[10], record[11]
            rows.append(row)
    else:
        fields = [*_SQL_COLUMNS]
        if column not in fields:
            fields.append(column)
        rows = list(Prospect.objects.filter(pk__in=ids).order_by(*order).values(*fields))
        by_prospect: dict[int, list[str]] = {row["id"]: [] for row in rows}
        for prospect_id, number in (
            ProspectPhone.objects.filter(prospect__in=list(by_prospect))
            .order_by("id")
            .values_list("prospect_id", "number")
        ):
            by_prospect[prospect_id].append(number)
        for row in rows:
            row["numbers"] = by_prospect[row["id"]]
    for row in rows:
        row["phones"] = [format_phone(n) for n in row.pop("numbers")]
        row["status_label"] = _STATUS_LABELS.get(row["status"], row["status"])
        name, email = row.pop("owner__full_name"), row.pop("owner__email")
        row["owner"] = name or email  # as str(User) says it
        # the date filter costs ~30 µs a call, this ~4
        row["updated"] = timezone.localtime(row["updated_at"]).date().isoformat()
    return rows


def prospect_objects_page(
    qs: QuerySet[Prospect], *, after: str = "", size: int = PAGE_SIZE
) -> tuple[list[Prospect], str | None]:
    """One page of `qs` by name (name_key, id, the list's keyset index) as model instances with
    their owner and phones loaded, for the mobile API: two queries whatever the size. Returns
    the prospects and the cursor of the next page (None: the last page). `after` is such a
    cursor (ValidationError when it is not one)."""
    if after:
        value, pk = _decode_cursor(after, dated=False)
        qs = qs.filter(Q(name_key__gte=value) & (Q(name_key__gt=value) | Q(id__gt=pk)))
    phones = Prefetch("phones", queryset=ProspectPhone.objects.order_by("id"))
    rows = list(
        qs.select_related("owner").prefetch_related(phones).order_by("name_key", "id")[: size + 1]
    )
    more = len(rows) > size
    rows = rows[:size]
    return rows, (_encode_cursor(rows[-1].name_key, rows[-1].pk) if more else None)


def _decode_visit_cursor(cursor: str) -> tuple[datetime.datetime | None, int]:
    try:
        if len(cursor) > 200:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if value is not None:
            value = datetime.datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError
        if type(pk) is not int or not 0 < pk <= MAX_ID:
            raise ValueError
    except (ValueError, TypeError, OverflowError, RecursionError, UnicodeDecodeError):
        raise ValidationError("That page link is broken.") from None
    return value, pk


# which visits of a user's the mobile app lists
VISIT_LISTS = ("today", "upcoming", "all")


def user_visits_page(
    client: Client,
    user: User,
    *,
    when: str,
    tzinfo: datetime.tzinfo,
    after: str = "",
    size: int = PAGE_SIZE,
) -> tuple[list[Visit], str | None]:
    """The user's visits, soonest first, unscheduled ones last, one page after the cursor
    `after` (ValidationError when it is not one); the cursor of the next page or None.

    `when`: "today" (scheduled on today's date in `tzinfo`, whatever their status),
    "upcoming" (planned or checked in, scheduled from the start of today on) or "all"."""
    qs = (
        Visit.objects.for_client(client)
        .filter(user=user)
        .select_related("prospect", "user", "checklist")
    )
    start = datetime.datetime.combine(timezone.now().astimezone(tzinfo).date(), datetime.time())
    start = start.replace(tzinfo=tzinfo)
    if when == "today":
        qs = qs.filter(scheduled_at__gte=start, scheduled_at__lt=start + datetime.timedelta(days=1))
    elif when == "upcoming":
        open_statuses = [Visit.Status.PLANNED, Visit.Status.IN_PROGRESS]
        qs = qs.filter(scheduled_at__gte=start, status__in=open_statuses)
    if after:
        value, pk = _decode_visit_cursor(after)
        if value is None:
            qs = qs.filter(scheduled_at__isnull=True, id__gt=pk)
        else:
            qs = qs.filter(
                Q(scheduled_at__gt=value)
                | Q(scheduled_at=value, id__gt=pk)
                | Q(scheduled_at__isnull=True)
            )
    order = [F("scheduled_at").asc(nulls_last=True), "id"]
    rows = list(qs.order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if not more:
        return rows, None
    last = rows[-1]
    at = last.scheduled_at.isoformat() if last.scheduled_at else None
    raw = json.dumps([at, last.pk], separators=(",", ":")).encode()
    return rows, base64.urlsafe_b64encode(raw).decode().rstrip("=")


def prospect_timeline(prospect: Prospect, *, limit: int = 200) -> list:
    """Events newest first (the template adds the prospect's creation as the oldest entry)."""
    events = list(
        ProspectEvent.objects.for_client(prospect.client_id)
        .filter(prospect=prospect)
        .select_related("actor", "visit", "file")
        .order_by("-at", "-id")[:limit]
    )
    return events


def attached_files(*, prospect: Prospect | None = None, visit: Visit | None = None) -> list:
    """The files attached to a prospect (its visits' included) or to one visit, oldest first."""
    owner = {"visit": visit} if visit is not None else {"prospect": prospect}
    client_id = (visit or prospect).client_id
    return list(StoredFile.objects.for_client(client_id).filter(**owner).order_by("created_at"))


def prospect_visits(prospect: Prospect) -> QuerySet[Visit]:
    return (
        Visit.objects.for_client(prospect.client_id)
        .filter(prospect=prospect)
        .select_related("user", "checklist")
        .order_by("-scheduled_at", "-id")
    )


def folder_contents(client: Client, folder: Folder | None):
    folders = Folder.objects.for_client(client).filter(parent=folder).order_by("name")
    files = (
        StoredFile.objects.for_client(client)
        .filter(folder=folder)
        .select_related("uploaded_by")
        .order_by("name")
    )
    return folders, files


def folder_path(folder: Folder | None) -> list[Folder]:
    """The breadcrumb from the library root to `folder`, in one query whatever the depth."""
    if folder is None:
        return []
    ids = folder.ancestor_ids
    above = Folder.objects.for_client(folder.client_id).filter(public_id__in=ids)
    by_id = {str(f.public_id): f for f in above}
    return [by_id[i] for i in ids if i in by_id] + [folder]


# --- reads the services and the import share --------------------------------


def custom_field_definitions(client: Client) -> list[CustomField]:
    return list(CustomField.objects.for_client(client))


# clients.cache's name for custom_field_definitions(); custom_field_create/_delete forget it
CUSTOM_FIELDS = "custom_fields"


def list_choices(client: Client) -> tuple[list[CustomField], list[User]]:
    """The list page's filter choices, its custom-field definitions and active users, from
    the per-client cache (one round trip instead of two statements; clients/cache.py). Writes
    (the services, the import) read the definitions from the database instead."""
    values = client_cache.read(
        client,
        {
            CUSTOM_FIELDS: lambda: custom_field_definitions(client),
            ACTIVE_USERS: lambda: active_users(client),
        },
    )
    return values[CUSTOM_FIELDS], values[ACTIVE_USERS]


def active_owners_by_email(client: Client) -> dict[str, User]:
    return {user.email: user for user in User.objects.for_client(client).active()}
