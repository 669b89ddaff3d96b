"""The mobile app's sync pull: what changed in a user's set since their last pull.

A user's set is the prospects they own, the visits they make (`user`), and tombstones of the
prospects and visits that left it (deleted, or given to someone else). PostgreSQL triggers
(prospects migration 0014) stamp every insert and update of a prospect or visit with the
writing transaction's id (`sync_txid`) and write the tombstones, so no way of writing is
missed.

The cursor. A pull is one or more pages; its first page reads the snapshot
(`pg_current_snapshot()`):

- `floor`: rows with sync_txid >= floor are sent. The floor of a pull is the snapshot xmin of
  the previous pull's first page: every transaction below it had ended then, so a row that a
  long transaction wrote before that pull and committed after it is never skipped (its txid is
  at least that xmin). A row may be sent twice (in two pulls); the app upserts.
- `ceiling`: rows with sync_txid >= the snapshot xmax of this pull's first page are left to
  the next pull, so a pull ends however busy the writers are, and within one pull no row is
  sent twice.
- Tables are walked in order - tombstones, prospects, visits - each in (sync_txid, id) keyset
  order; `limit` bounds the rows of a page across the three. The app applies a page's
  tombstones before its rows: a current row is always newer than any tombstone of it.
- While `has_more`, the cursor carries the floor, ceiling, next floor, the table being walked
  and the last (sync_txid, id) sent from it; at the end only the next floor and when it was
  taken.

The cursor is opaque to the app: JSON signed with django.core.signing (a changed cursor is a
400) and bound to the user (another account's cursor is a 400). No cursor is a first sync:
everything in the set, no tombstones. A cursor whose floor was taken more than
PROSPECTS_TOMBSTONE_DAYS ago is a 410 (`resync`): tombstones it needs may be gone, so the app
drops its copy and pulls from scratch. Each page runs a constant number of queries: the
snapshot (first page), then at most one per table (the prospects' phones as an array in
theirs; one query more for them on SQLite).

On SQLite (the embedded default) there are no triggers: sync_txid stays 0, no tombstone is
written, and every pull hands out everything.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.db import connection
from django.db.models import Q

from accounts.models import User
from clients.models import Client
from prospects.models import Prospect, ProspectPhone, SyncTombstone, Visit

SALT = "devices.sync.cursor"
TOMBSTONES, PROSPECTS, VISITS = 0, 1, 2
TABLES = ("tombstones", "prospects", "visits")
DAY = 86400


class CursorError(Exception):
    """A `since` the server cannot continue from; `code` says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Cursor:
    user_id: int
    floor: int  # rows with sync_txid >= floor
    floor_at: float | None  # when the floor was taken (epoch seconds); None for a first sync
    # While a pull has more pages (next_floor is not None):
    next_floor: int | None = None  # this pull's snapshot xmin, the next pull's floor
    next_floor_at: float | None = None
    ceiling: int | None = None  # rows with sync_txid < ceiling (None on SQLite)
    stage: int = TOMBSTONES  # the table being walked
    after: tuple[int, int] | None = None  # (sync_txid, id) of the last row sent from it

    @property
    def under_way(self) -> bool:
        return self.next_floor is not None

    def encode(self) -> str:
        data = {"u": self.user_id, "f": self.floor, "fa": self.floor_at}
        if self.under_way:
            data.update(
                n=self.next_floor, na=self.next_floor_at, c=self.ceiling, s=self.stage,
                k=list(self.after) if self.after else None,
            )  # fmt: skip
        return signing.dumps(data, salt=SALT, compress=True)

    @classmethod
    def decode(cls, value: str, *, user: User) -> Cursor:
        try:
            cursor = cls._from(signing.loads(value, salt=SALT))
        except (signing.BadSignature, ValueError, TypeError, KeyError):
            # BadSignature: garbage or a changed cursor. The others: a signed payload of
            # another shape (from another version of this code).
            raise CursorError(
                "bad_cursor",
                "This sync cursor is not one OpsX gave out, or it was changed. Send back the "
                "cursor of your last pull as it was, or pull without `since` to start over.",
            ) from None
        if cursor.user_id != user.pk:
            raise CursorError(
                "bad_cursor",
                "This sync cursor belongs to another account. Pull without `since` to start "
                "over for this one.",
            )
        days = settings.PROSPECTS_TOMBSTONE_DAYS
        if cursor.floor_at is not None and cursor.floor_at < time.time() - days * DAY:
            raise CursorError(
                "resync",
                f"The last sync of this phone is more than {days} days old, so some deletions "
                "may be missing from it. Drop the copy on the phone and pull everything again "
                "(without `since`).",
            )
        return cursor

    @classmethod
    def _from(cls, data: dict) -> Cursor:
        cursor = cls(
            user_id=_integer(data["u"]), floor=_integer(data["f"]), floor_at=_moment(data["fa"])
        )
        if "n" in data:
            cursor.next_floor = _integer(data["n"])
            cursor.next_floor_at = _moment(data["na"])
            cursor.ceiling = None if data["c"] is None else _integer(data["c"])
            cursor.stage = _integer(data["s"])
            if cursor.stage >= len(TABLES):
                raise ValueError(cursor.stage)
            if data["k"] is not None:
                txid, pk = data["k"]
                cursor.after = (_integer(txid), _integer(pk))
        return cursor


def _integer(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(value)
    return value


def _moment(value) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(value)
    return float(value)


@dataclass
class Page:
    """Rows of the user's set (prospects they own, visits they make) and tombstones, each the
    JSON text of its ProspectOut, VisitOut or tombstone shape (devices/api/sync.py)."""

    tombstones: list[str] = field(default_factory=list)
    prospects: list[str] = field(default_factory=list)
    visits: list[str] = field(default_factory=list)
    cursor: str = ""
    has_more: bool = False


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _snapshot() -> tuple[int, int | None]:
    """(xmin, xmax) of a snapshot taken now: every transaction below xmin has ended, none at
    or above xmax had started. (0, None) on SQLite: no floor, no ceiling."""
    if not _postgres():
        return 0, None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint"
            " FROM pg_current_snapshot() AS s"
        )
        xmin, xmax = cursor.fetchone()
    return xmin, xmax


# --- the rows, on PostgreSQL ---------------------------------------------------------------
#
# PostgreSQL writes each row's JSON itself (json_build_object), in the statements below,
# written once: building hundreds of model instances (or dicts), their phones, parsing their
# times and JSON columns only to write them again, and the ORM's compiling of these queries
# cost several times what PostgreSQL spends (tests/bench/api.py measures the pull of 500
# changes). Row-level security applies to them as to the ORM. The shapes are ProspectOut's,
# VisitOut's and the tombstones' (test_sync compares them with schemas.prospect_out and
# visit_out through django-ninja); times as DjangoJSONEncoder writes them in the rest of the
# API: UTC, milliseconds unless there are none, "Z"; decimals as strings.


def _time(column: str) -> str:
    return (
        f"to_char({column} AT TIME ZONE 'UTC', CASE"
        f" WHEN mod(date_part('microseconds', {column})::bigint, 1000000) = 0"
        """ THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"' END)"""
    )


_PROSPECT_JSON = f"""json_build_object(
    'id', t.public_id, 'version', t.sync_txid::text, 'name', t.name,
    'organisation', t.organisation, 'email', t.email,
    'phones', ARRAY(SELECT ph.number FROM prospects_prospectphone ph
                    WHERE ph.prospect_id = t.id ORDER BY ph.id),
    'address_line1', t.address_line1, 'address_line2', t.address_line2, 'city', t.city,
    'state', t.state, 'postal_code', t.postal_code, 'country', t.country,
    'latitude', t.latitude::text, 'longitude', t.longitude::text, 'status', t.status,
    'owner_id', %(user_public_id)s::uuid, 'source', t.source, 'tags', t.tags,
    'notes', t.notes, 'custom', t.custom,
    'created_at', {_time("t.created_at")}, 'updated_at', {_time("t.updated_at")})"""  # noqa: S608
_VISIT_JSON = f"""json_build_object(
    'id', t.public_id, 'version', t.sync_txid::text, 'prospect_id', p.public_id,
    'prospect_name', p.name, 'user_id', %(user_public_id)s::uuid, 'status', t.status,
    'scheduled_at', {_time("t.scheduled_at")}, 'checked_in_at', {_time("t.checked_in_at")},
    'check_in_latitude', t.check_in_latitude::text,
    'check_in_longitude', t.check_in_longitude::text,
    'checked_out_at', {_time("t.checked_out_at")},
    'check_out_latitude', t.check_out_latitude::text,
    'check_out_longitude', t.check_out_longitude::text,
    'outcome', t.outcome, 'report', t.report, 'checklist_id', c.public_id, 'answers', t.answers,
    'created_at', {_time("t.created_at")}, 'updated_at', {_time("t.updated_at")})"""
_TOMBSTONE_JSON = "json_build_object('kind', t.kind, 'id', t.public_id)"
_SOURCES = {
    TOMBSTONES: ("prospects_synctombstone t", "user_id", _TOMBSTONE_JSON),
    PROSPECTS: ("prospects_prospect t", "owner_id", _PROSPECT_JSON),
    VISITS: (
        "prospects_visit t JOIN prospects_prospect p ON p.id = t.prospect_id"
        " LEFT JOIN prospects_checklist c ON c.id = t.checklist_id",
        "user_id",
        _VISIT_JSON,
    ),
}


def _client_condition() -> str:
    """The client filter (row-level security would keep the rows to the client without it:
    test_sync takes it away to prove that)."""
    return "t.client_id = %(client)s AND "


def _rows_sql(stage: int, cursor: Cursor, client: Client, user: User, limit: int):
    """(sync_txid, id, JSON text) of the stage's table, in keyset order."""
    tables, user_column, row_json = _SOURCES[stage]
    conditions = [f"{_client_condition()}t.{user_column} = %(user)s", "t.sync_txid >= %(floor)s"]
    params = {
        "client": client.pk, "user": user.pk, "user_public_id": str(user.public_id),
        "floor": cursor.floor, "limit": limit,
    }  # fmt: skip
    if cursor.ceiling is not None:
        conditions.append("t.sync_txid < %(ceiling)s")
        params["ceiling"] = cursor.ceiling
    if cursor.after is not None:
        # The first condition keeps the index range tight; the second is the keyset.
        conditions.append("t.sync_txid >= %(txid)s AND (t.sync_txid, t.id) > (%(txid)s, %(pk)s)")
        params["txid"], params["pk"] = cursor.after
    sql = (
        f"SELECT t.sync_txid, t.id, {row_json}::text FROM {tables}"  # noqa: S608 (constants)
        f" WHERE {' AND '.join(conditions)} ORDER BY t.sync_txid, t.id LIMIT %(limit)s"
    )
    with connection.cursor() as db:
        db.execute(sql, params)
        return db.fetchall()


# --- the rows, elsewhere (SQLite, the embedded default) ------------------------------------


def _when(value) -> str | None:
    """As DjangoJSONEncoder writes a time."""
    if value is None:
        return None
    text = value.isoformat(timespec="milliseconds") if value.microsecond else value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _text(value) -> str | None:
    return None if value is None else str(value)


def _prospect_json(p: Prospect, phones: list[str], owner: User) -> dict:
    return {
        "id": str(p.public_id), "version": str(p.sync_txid), "name": p.name,
        "organisation": p.organisation, "email": p.email, "phones": phones,
        "address_line1": p.address_line1, "address_line2": p.address_line2, "city": p.city,
        "state": p.state, "postal_code": p.postal_code, "country": p.country,
        "latitude": _text(p.latitude), "longitude": _text(p.longitude), "status": p.status,
        "owner_id": str(owner.public_id), "source": p.source, "tags": p.tags, "notes": p.notes,
        "custom": p.custom, "created_at": _when(p.created_at), "updated_at": _when(p.updated_at),
    }  # fmt: skip


def _visit_json(v: Visit, user: User) -> dict:
    return {
        "id": str(v.public_id), "version": str(v.sync_txid),
        "prospect_id": str(v.prospect.public_id), "prospect_name": v.prospect.name,
        "user_id": str(user.public_id), "status": v.status,
        "scheduled_at": _when(v.scheduled_at), "checked_in_at": _when(v.checked_in_at),
        "check_in_latitude": _text(v.check_in_latitude),
        "check_in_longitude": _text(v.check_in_longitude),
        "checked_out_at": _when(v.checked_out_at),
        "check_out_latitude": _text(v.check_out_latitude),
        "check_out_longitude": _text(v.check_out_longitude),
        "outcome": v.outcome, "report": v.report,
        "checklist_id": _text(v.checklist.public_id if v.checklist_id else None),
        "answers": v.answers, "created_at": _when(v.created_at), "updated_at": _when(v.updated_at),
    }  # fmt: skip


def _rows_orm(stage: int, cursor: Cursor, client: Client, user: User, limit: int):
    """As _rows_sql, through the ORM."""
    if stage == TOMBSTONES:
        qs = SyncTombstone.objects.for_client(client).filter(user=user)
    elif stage == PROSPECTS:
        qs = Prospect.objects.for_client(client).filter(owner=user)
    else:
        qs = Visit.objects.for_client(client).filter(user=user)
        qs = qs.select_related("prospect", "checklist")
    qs = qs.filter(sync_txid__gte=cursor.floor)
    if cursor.ceiling is not None:
        qs = qs.filter(sync_txid__lt=cursor.ceiling)
    if cursor.after is not None:
        txid, pk = cursor.after
        qs = qs.filter(Q(sync_txid__gt=txid) | Q(sync_txid=txid, id__gt=pk))
    found = list(qs.order_by("sync_txid", "id")[:limit])
    if stage == TOMBSTONES:
        rows = [{"kind": t.kind, "id": str(t.public_id)} for t in found]
    elif stage == PROSPECTS:
        phones: dict[int, list[str]] = {p.pk: [] for p in found}
        numbers = ProspectPhone.objects.filter(prospect__in=list(phones)).order_by("id")
        for prospect_id, number in numbers.values_list("prospect_id", "number"):
            phones[prospect_id].append(number)
        rows = [_prospect_json(p, phones[p.pk], user) for p in found]
    else:
        rows = [_visit_json(v, user) for v in found]
    return [(r.sync_txid, r.pk, json.dumps(row)) for r, row in zip(found, rows, strict=True)]


def _rows(stage: int, cursor: Cursor, client: Client, user: User, limit: int):
    reader = _rows_sql if _postgres() else _rows_orm
    return reader(stage, cursor, client, user, limit)


# --- a page --------------------------------------------------------------------------------


def sync_pull(*, client: Client, user: User, since: Cursor | None, limit: int) -> Page:
    """One page of the user's changes since `since` (None: a first sync). Runs inside the
    client's tenant scope. See the module docstring for the cursor."""
    if since is not None and since.under_way:
        cursor = since
    else:
        # The first page of a pull: this snapshot bounds it and gives the next pull's floor.
        xmin, xmax = _snapshot()
        floor, floor_at = (0, None) if since is None else (since.floor, since.floor_at)
        cursor = Cursor(
            user_id=user.pk, floor=floor, floor_at=floor_at,
            next_floor=xmin, next_floor_at=time.time(), ceiling=xmax,
            # A first sync has no copy to remove things from.
            stage=PROSPECTS if since is None else TOMBSTONES,
        )  # fmt: skip
    page = Page()
    outputs = {TOMBSTONES: page.tombstones, PROSPECTS: page.prospects, VISITS: page.visits}
    room = limit
    while cursor.stage < len(TABLES):
        # One row more than there is room for says whether the table has more; with no room
        # left, that row alone.
        found = _rows(cursor.stage, cursor, client, user, room + 1)
        outputs[cursor.stage].extend(row for _, _, row in found[:room])
        if len(found) > room:
            if room:
                txid, pk, _ = found[room - 1]
                cursor.after = (txid, pk)
            page.has_more = True
            break
        room -= len(found)
        cursor.stage += 1
        cursor.after = None
    if page.has_more:
        page.cursor = cursor.encode()
    else:
        page.cursor = Cursor(
            user_id=user.pk, floor=cursor.next_floor, floor_at=cursor.next_floor_at
        ).encode()
    return page
