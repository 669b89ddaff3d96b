"""Usage statistics per client: requests and server time by product area, and the daily figures.

Counting a request costs one Redis round trip (a pipeline of HINCRBY, HINCRBY, EXPIRE on the
day's hash), never a database row. A periodic job (`usage_flush`) moves the counts into
UsageDay: it renames the day's hash first (atomic: new requests start a fresh hash), adds the
renamed batch to the rows and records the batch's name in the same transaction, then deletes
it. A flush that dies anywhere neither loses a batch (it stays under its new name and the next
flush takes it) nor adds it twice (UsageFlush remembers it).

Without REDIS_URL (the embedded default) each process counts in memory and adds its counts
to the rows itself, at most once a USAGE_FLUSH_SECONDS.

The daily figures (users, prospects, files...) come from the apps that own the data: each
registers a measure (`register_measure`) in its AppConfig.ready, because this app, the ground
floor, imports none of them. A measure answers {client_id: value} for a day in one query.
"""

from __future__ import annotations

import logging
import re
import statistics
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import Client, UsageBenchmark, UsageDay, UsageFlush

logger = logging.getLogger(__name__)

AREAS = ("prospects", "visits", "files", "imports", "admin_tasks", "api", "other")

# First match wins. Paths only, no resolver: this runs on every request.
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_RULES = [
    (re.compile(r"^/(?:api/|_allauth/app/)"), "api"),
    (re.compile(r"^/app/prospects/imports/"), "imports"),
    (re.compile(rf"^/app/prospects/(?:files/|library/|(?:visits/)?{_UUID}/files/)"), "files"),
    (re.compile(rf"^/app/prospects/(?:visits/|{_UUID}/visits/)"), "visits"),
    (re.compile(r"^/app/prospects/"), "prospects"),
    (re.compile(r"^/app/admin-tasks/"), "admin_tasks"),
]

PREFIX = "opsx:usage:"
_DAY_KEY = re.compile(r"^opsx:usage:(\d{4}-\d{2}-\d{2})(?::draining:[0-9a-f]{32})?$")
KEEP_SECONDS = 8 * 86400  # a batch nobody flushed for a week is dropped by Redis


def area_of(path: str) -> str:
    for pattern, area in _RULES:
        if pattern.match(path):
            return area
    return "other"


# --- counting ------------------------------------------------------------------------------


class RedisCounter:
    """Counts in Redis. If Redis does not answer, counting pauses for 30 s (the request goes on,
    unslowed) and the loss is logged: usage statistics are not worth an outage."""

    PAUSE = 30.0

    def __init__(self, url: str):
        self._redis = redis.Redis.from_url(
            url, socket_connect_timeout=0.2, socket_timeout=0.2, health_check_interval=30
        )
        self._paused_until = 0.0

    def add(self, day: date, client_id: int, area: str, micros: int) -> None:
        if time.monotonic() < self._paused_until:
            return
        key = f"{PREFIX}{day.isoformat()}"
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hincrby(key, f"{client_id}:{area}:n", 1)
            pipe.hincrby(key, f"{client_id}:{area}:us", micros)
            pipe.expire(key, KEEP_SECONDS)
            pipe.execute()
        except redis.RedisError as exc:
            self._paused_until = time.monotonic() + self.PAUSE
            logger.warning("usage counting paused for %ss: %s", self.PAUSE, exc)

    def batches(self) -> Iterator[tuple[str, date, dict[str, int]]]:
        """Rename every day's hash to a batch of its own, then yield every batch: (its key, its
        day, its fields). A batch left by a flush that died is yielded again."""
        for key in list(self._redis.scan_iter(match=f"{PREFIX}????-??-??", count=1000)):
            key = key.decode()
            try:
                self._redis.rename(key, f"{key}:draining:{uuid.uuid4().hex}")
            except redis.ResponseError:  # gone meanwhile: another flush took it
                continue
        for key in list(self._redis.scan_iter(match=f"{PREFIX}*:draining:*", count=1000)):
            key = key.decode()
            match = _DAY_KEY.match(key)
            if not match:
                continue
            fields = self._redis.hgetall(key)
            yield key, date.fromisoformat(match[1]), {k.decode(): int(v) for k, v in fields.items()}

    def done(self, key: str) -> None:
        self._redis.delete(key)


class MemoryCounter:
    """Counts in this process (no Redis), adding them to the rows itself now and then."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._flushed_at = time.monotonic()

    def add(self, day: date, client_id: int, area: str, micros: int) -> None:
        with self._lock:
            fields = self._counts[day]
            fields[f"{client_id}:{area}:n"] += 1
            fields[f"{client_id}:{area}:us"] += micros
            due = time.monotonic() - self._flushed_at >= settings.USAGE_FLUSH_SECONDS
        if due:
            usage_flush()

    def batches(self) -> Iterator[tuple[str, date, dict[str, int]]]:
        with self._lock:
            taken, self._counts = self._counts, defaultdict(lambda: defaultdict(int))
            self._flushed_at = time.monotonic()
        for day, fields in taken.items():
            yield f"memory:{uuid.uuid4().hex}", day, dict(fields)

    def done(self, key: str) -> None:
        pass


_counter: RedisCounter | MemoryCounter | None = None


def counter() -> RedisCounter | MemoryCounter:
    global _counter
    if _counter is None:
        url = settings.USAGE_REDIS_URL
        _counter = RedisCounter(url) if url else MemoryCounter()
    return _counter


def count_request(client_id: int, path: str, seconds: float) -> None:
    counter().add(datetime.now(UTC).date(), client_id, area_of(path), int(seconds * 1_000_000))


# --- into the database --------------------------------------------------------------------


def _rows(fields: dict[str, int]) -> dict[int, dict[str, int]]:
    """{"12:visits:n": 3, "12:visits:us": 900} -> {12: {"requests_visits": 3, ...}}."""
    rows: dict[int, dict[str, int]] = defaultdict(dict)
    for field, value in fields.items():
        client_id, _, rest = field.partition(":")
        area, _, kind = rest.partition(":")
        if not client_id.isdigit() or area not in AREAS or kind not in ("n", "us"):
            continue
        column = f"requests_{area}" if kind == "n" else f"server_us_{area}"
        rows[int(client_id)][column] = value
    return rows


_COUNTER_COLUMNS = [f"requests_{a}" for a in AREAS] + [f"server_us_{a}" for a in AREAS]


def _add_counts(day: date, rows: dict[int, dict[str, int]]) -> None:
    """One INSERT … ON CONFLICT DO UPDATE adding the counts to the day's rows (a client deleted
    meanwhile is left out)."""
    live = set(Client.objects.filter(pk__in=rows).values_list("pk", flat=True))
    values = [
        [
            client_id,
            day,
            *(0 for _ in STOCK_FIELDS),
            *(rows[client_id].get(c, 0) for c in _COUNTER_COLUMNS),
        ]
        for client_id in sorted(live)
    ]
    if not values:
        return
    table = UsageDay._meta.db_table
    # A new row gets 0 for the daily figures (the daily job sets them); a row there keeps them.
    columns = ["client_id", "day", *STOCK_FIELDS, *_COUNTER_COLUMNS]
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(values))
    updates = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in _COUNTER_COLUMNS)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders} "  # noqa: S608 (fixed column names)
        f"ON CONFLICT (client_id, day) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [v for row in values for v in row])


def usage_flush() -> int:
    """Move the counted requests into UsageDay; returns how many batches were added. Run by
    beat every USAGE_FLUSH_SECONDS (clients.tasks.usage_flush)."""
    added = 0
    source = counter()
    for key, day, fields in source.batches():
        with transaction.atomic():
            _, created = UsageFlush.objects.get_or_create(key=key)
            if created:
                rows = list(_rows(fields).items())
                for start in range(0, len(rows), 1000):
                    _add_counts(day, dict(rows[start : start + 1000]))
                added += 1
        source.done(key)
    UsageFlush.objects.filter(
        flushed_at__lt=timezone.now() - timedelta(seconds=KEEP_SECONDS)
    ).delete()
    return added


# --- the daily figures ---------------------------------------------------------------------

Measure = Callable[[date], dict[int, int]]
_measures: dict[str, Measure] = {}
STOCK_FIELDS = (
    "users",
    "active_users",
    "prospects",
    "visits",
    "files",
    "bytes_stored",
    "imports",
    "rows_imported",
    "mail_sent",
)


def register_measure(field: str, measure: Measure) -> None:
    """An app says how to measure one of UsageDay's daily figures: `measure(day)` returns
    {client_id: value} for the clients that have any (the others get 0)."""
    if field not in STOCK_FIELDS:
        raise ValueError(f"UsageDay has no daily figure {field!r}")
    _measures[field] = measure


def _bytes_stored(day: date) -> dict[int, int]:
    return dict(Client.objects.filter(storage_bytes__gt=0).values_list("pk", "storage_bytes"))


register_measure("bytes_stored", _bytes_stored)


def usage_record_day(day: date) -> int:
    """Write every client's figures for `day` (UTC): one query per measure, then one upsert.
    Run again for the same day, it overwrites the figures and keeps the request counts.
    Returns how many rows were written."""
    figures = {field: measure(day) for field, measure in _measures.items()}
    rows = [
        UsageDay(client_id=pk, day=day, **{f: figures[f].get(pk, 0) for f in figures})
        for pk in Client.objects.values_list("pk", flat=True).iterator(chunk_size=2000)
    ]
    UsageDay.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["client", "day"],
        update_fields=list(figures),
    )
    usage_benchmarks_compute(day)
    return len(rows)


# --- benchmarks ----------------------------------------------------------------------------

MIN_GROUP = 5  # a benchmark only counts a group of at least this many clients
# Clients of "its size": by users on the day compared.
SIZES = [(1, 5), (6, 20), (21, 100), (101, 500), (501, None)]
# What the benchmark compares: metric -> (label, how to read it off a UsageDay).
METRICS = {
    "active_users": ("Active users", lambda r: r.active_users),
    "prospects": ("Prospects", lambda r: r.prospects),
    "visits": ("Visits", lambda r: r.visits),
    "files": ("Files", lambda r: r.files),
    "storage_mb": ("Storage (MB)", lambda r: round(r.bytes_stored / 1_000_000, 1)),
    "requests": ("Requests that day", lambda r: sum(getattr(r, f"requests_{a}") for a in AREAS)),
}


def size_of(users: int) -> tuple[int, int | None]:
    for low, high in SIZES:
        if high is None or users <= high:
            return low, high
    return SIZES[-1]


def usage_benchmarks_compute(day: date) -> int:
    """The quartiles of each metric per size group of `day`'s rows, kept for groups of at
    least MIN_GROUP clients only (a smaller group's are deleted). Returns the rows written."""
    groups: dict[tuple[int, int | None], list[UsageDay]] = defaultdict(list)
    for row in UsageDay.objects.filter(day=day, users__gt=0).iterator(chunk_size=5000):
        groups[size_of(row.users)].append(row)
    kept = []
    for (low, high), rows in groups.items():
        if len(rows) < MIN_GROUP:
            continue
        for metric, (_, read) in METRICS.items():
            q1, median, q3 = statistics.quantiles([read(r) for r in rows], n=4, method="inclusive")
            kept.append(
                UsageBenchmark(
                    day=day,
                    size_low=low,
                    size_high=high,
                    metric=metric,
                    clients=len(rows),
                    q1=q1,
                    median=median,
                    q3=q3,
                )
            )
    with transaction.atomic():
        UsageBenchmark.objects.filter(day=day).delete()
        UsageBenchmark.objects.bulk_create(kept)
    return len(kept)
