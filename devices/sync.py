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
snapshot (first page), then at most one per table and one for the prospects' phones.

On SQLite (the embedded default) there are no triggers: sync_txid stays 0, no tombstone is
written, and every pull hands out everything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.db import connection
from django.db.models import Prefetch, Q

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
    tombstones: list[SyncTombstone] = field(default_factory=list)
    prospects: list[Prospect] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    cursor: str = ""
    has_more: bool = False


def _snapshot() -> tuple[int, int | None]:
    """(xmin, xmax) of a snapshot taken now: every transaction below xmin has ended, none at
    or above xmax had started. (0, None) on SQLite: no floor, no ceiling."""
    if connection.vendor != "postgresql":
        return 0, None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint"
            " FROM pg_current_snapshot() AS s"
        )
        xmin, xmax = cursor.fetchone()
    return xmin, xmax


def _window(qs, cursor: Cursor):
    """Rows of `qs` in this pull's range, after the last one sent, in keyset order."""
    qs = qs.filter(sync_txid__gte=cursor.floor)
    if cursor.ceiling is not None:
        qs = qs.filter(sync_txid__lt=cursor.ceiling)
    if cursor.after is not None:
        txid, pk = cursor.after
        # The first condition keeps the index range tight; the second is the keyset.
        qs = qs.filter(sync_txid__gte=txid).filter(Q(sync_txid__gt=txid) | Q(id__gt=pk))
    return qs.order_by("sync_txid", "id")


def _prospects(client: Client, user: User):
    phones = ProspectPhone.objects.for_client(client).order_by("id").only("prospect_id", "number")
    return (
        Prospect.objects.for_client(client)
        .filter(owner=user)
        .defer("name_key", "search_text")
        .prefetch_related(Prefetch("phones", queryset=phones))
    )


def _visits(client: Client, user: User):
    return (
        Visit.objects.for_client(client)
        .filter(user=user)
        .select_related("prospect", "checklist")
        .only(
            *(f.name for f in Visit._meta.concrete_fields),
            "prospect__public_id",
            "prospect__name",
            "checklist__public_id",
        )
    )


def _tombstones(client: Client, user: User):
    return SyncTombstone.objects.for_client(client).filter(user=user)


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
    sources = {
        TOMBSTONES: (_tombstones(client, user), page.tombstones),
        PROSPECTS: (_prospects(client, user), page.prospects),
        VISITS: (_visits(client, user), page.visits),
    }
    room = limit
    while cursor.stage < len(TABLES):
        qs, out = sources[cursor.stage]
        rows = _window(qs, cursor)
        if room == 0:
            page.has_more = rows.exists()
            if page.has_more:
                break
        else:
            found = list(rows[: room + 1])
            out.extend(found[:room])
            if len(found) > room:
                last = found[room - 1]
                cursor.after = (last.sync_txid, last.pk)
                room = 0
                page.has_more = True
                break
            room -= len(found)
        cursor.stage += 1
        cursor.after = None
    for prospect in page.prospects:
        prospect.owner = user  # the filter's: no join for it
    for visit in page.visits:
        visit.user = user
    if page.has_more:
        page.cursor = cursor.encode()
    else:
        page.cursor = Cursor(
            user_id=user.pk, floor=cursor.next_floor, floor_at=cursor.next_floor_at
        ).encode()
    return page
