"""Fill the dedicated benchmark database `opsx_bench` with a production-sized data set.

    .venv/bin/python tests/bench/generate.py            # generate if missing (count check)
    .venv/bin/python tests/bench/generate.py --force    # rebuild from scratch

10 clients, 6 users each (1 admin, 5 members), 2 custom field definitions each,
1,000,000 prospects (100,000 per client) with ~1,090,000 phone numbers, 1,000,000 visits.

Everything is loaded in ONE transaction with PostgreSQL COPY (psycopg 3) into freshly
truncated tables (COPY ... FREEZE), with the secondary indexes dropped first and rebuilt
from their own definitions (pg_indexes / pg_get_constraintdef) afterwards, so a crash leaves
the schema exactly as the migrations made it. Foreign-key triggers are off during the load
(session_replication_role = replica): the rows are consistent by construction.

The derived prospect columns are computed in Python exactly as Prospect.refresh_derived()
computes them. Only the database `opsx_bench` and Redis db 14 are ever used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
import unicodedata
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH_DB = "opsx_bench"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
BENCH_DATABASE_URL = f"{PG_SERVER}/{BENCH_DB}"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/14"

CLIENTS = 10
MEMBERS_PER_CLIENT = 5  # plus one admin
PROSPECTS = 1_000_000
VISITS = 1_000_000
PHONE_SHARE = 0.90  # prospects with a phone number
SECOND_PHONE_SHARE = 0.10  # of those, with a second one
SEED = 20_251_124
# Bumped whenever the rows generated change shape (2: search_text without the email), so an
# older data set is rebuilt instead of measured.
DATA_VERSION = 2
NOW = dt.datetime(2025, 11, 24, 12, 0, tzinfo=dt.UTC)  # fixed: the data set is reproducible
CHUNK = 20_000  # rows per COPY write

BENCH_TABLES = ("prospects_prospect", "prospects_prospectphone", "prospects_visit")
SNAPSHOT_TABLE = "bench_import_snapshot"  # prospects an import bench updates, restored after
META_TABLE = "bench_meta"

# fmt: off
FIRST_NAMES = [  # the first few are the common ones (weights below)
    "Priya", "Rahul", "Amit", "Anjali", "Sanjay", "Deepak", "Neha", "Vikram", "Pooja", "Arjun",
    "Sunita", "Rajesh", "Kavita", "Suresh", "Meera", "Anil", "Divya", "Manoj", "Lakshmi", "Ravi",
    "Aarav", "Ishaan", "Diya", "Saanvi", "Kiran", "Farhan", "Ayesha", "Imran", "Zoya", "Harpreet",
    "Gurpreet", "Simran", "Joseph", "Mary", "Thomas", "Anita", "Venkat", "Srinivas", "Karthik",
    "Revathi", "Bhavna", "Nikhil", "Rohan", "Sneha", "Tanvi", "Yash", "Varun", "Aditi", "Shreya",
    "Gaurav", "Mohit", "Nisha", "Rekha", "Sameer", "Tariq", "Fatima", "Ramesh", "Geeta", "Hemant",
    "Jaya", "Kunal", "Lalit", "Madhu", "Naveen", "Omkar", "Pallavi", "Quasim", "Ritu", "Sachin",
    "Usha", "Vinod", "Waseem", "Yamini", "Zubin", "James", "Sarah", "David", "Emma", "Oliver",
    "Sophie", "Liam", "Chloé", "José", "Zoë", "Renée", "Björn", "Ana", "Lucas", "Hannah", "Noah",
]
LAST_NAMES = [
    "Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Nair", "Menon", "Rao",
    "Joshi", "Mehta", "Shah", "Desai", "Kulkarni", "Pillai", "Das", "Banerjee", "Chatterjee",
    "Mukherjee", "Bose", "Sen", "Ghosh", "Khan", "Ahmed", "Sheikh", "Qureshi", "Ansari", "Fernandes",
    "D'Souza", "Pereira", "Gill", "Sandhu", "Dhillon", "Malhotra", "Kapoor", "Khanna", "Chopra",
    "Bhatia", "Arora", "Agarwal", "Jain", "Bansal", "Mittal", "Goel", "Verma", "Mishra", "Pandey",
    "Tiwari", "Dubey", "Yadav", "Chauhan", "Rathore", "Thakur", "Naidu", "Choudhary", "Saxena",
    "Srivastava", "Tripathi", "Hegde", "Shetty", "Kamath", "Pai", "Bhat", "Krishnan", "Subramaniam",
    "Raman", "Swamy", "Gowda", "Patil", "Pawar", "Jadhav", "Shinde", "More", "Smith", "Jones",
    "Williams", "Brown", "Taylor", "Müller", "García", "Silva", "O'Brien", "Martin",
]
ORG_SUFFIXES = [
    "Traders", "Enterprises", "Pvt Ltd", "& Sons", "Industries", "Stores", "Agencies",
    "Distributors", "Pharma", "Foods", "Motors", "Textiles", "Hardware", "Electricals", "Medicals",
    "Supermarket", "Kirana", "Exports", "Logistics", "Builders", "Clinic", "Bakery", "Provisions",
]
ORG_WORDS = [
    "Sri Lakshmi", "Ganesh", "Balaji", "Sai", "Om", "Shree", "New India", "Royal", "Golden",
    "Classic", "Modern", "City", "Metro", "Sunrise", "Green Valley", "Star", "Apex", "Prime",
]
CITIES = [  # city, state, latitude, longitude, PIN prefix
    ("Mumbai", "Maharashtra", 19.0760, 72.8777, "400"), ("Pune", "Maharashtra", 18.5204, 73.8567, "411"),
    ("Delhi", "Delhi", 28.7041, 77.1025, "110"), ("Bengaluru", "Karnataka", 12.9716, 77.5946, "560"),
    ("Chennai", "Tamil Nadu", 13.0827, 80.2707, "600"), ("Hyderabad", "Telangana", 17.3850, 78.4867, "500"),
    ("Kolkata", "West Bengal", 22.5726, 88.3639, "700"), ("Ahmedabad", "Gujarat", 23.0225, 72.5714, "380"),
    ("Jaipur", "Rajasthan", 26.9124, 75.7873, "302"), ("Lucknow", "Uttar Pradesh", 26.8467, 80.9462, "226"),
    ("Kochi", "Kerala", 9.9312, 76.2673, "682"), ("Indore", "Madhya Pradesh", 22.7196, 75.8577, "452"),
    ("Chandigarh", "Chandigarh", 30.7333, 76.7794, "160"), ("Nagpur", "Maharashtra", 21.1458, 79.0882, "440"),
    ("Coimbatore", "Tamil Nadu", 11.0168, 76.9558, "641"), ("Surat", "Gujarat", 21.1702, 72.8311, "395"),
]
STREETS = ["MG Road", "Station Road", "Main Road", "Gandhi Nagar", "Nehru Street", "Market Road",
           "Temple Street", "Industrial Area", "Ring Road", "Church Street", "Park Avenue", "Bazaar Lane"]
DOMAINS = ["gmail.com", "yahoo.co.in", "outlook.com", "rediffmail.com", "hotmail.com", "example.in"]
TAGS = ["vip", "wholesale", "retail", "north", "south", "east", "west", "priority", "follow-up",
        "dealer", "distributor", "new-area"]
SOURCES = ["", "", "website", "referral", "trade fair", "cold call", "walk-in", "import"]
STATUSES = (["new", "contacted", "interested", "customer", "lost"], [40, 25, 15, 12, 8])
NOTES = ["Prefers calls after 4 pm.", "Asked for the new price list.", "Owner travels often.",
         "Interested in bulk discount.", "Visit with samples next time.", "Pays by cheque."]
VISIT_STATUSES = (["done", "planned", "cancelled", "in_progress"], [62, 26, 10, 2])
OUTCOMES = ["positive", "follow_up", "order", "no_interest", "not_met"]
REPORTS = ["Met the owner, showed the catalogue.", "Took an order for next month.",
           "Shop closed, will come back.", "Discussed pricing; needs approval.", "Delivered samples."]
CLIENT_NAMES = ["Acme Foods", "Bharat Agro", "Coastal Pharma", "Deccan Motors", "Everest Textiles",
                "Fortune Electricals", "Ganga Distributors", "Himalaya Traders", "Indus Hardware",
                "Jaipur Handicrafts"]
# fmt: on
FIRST_WEIGHTS = [30, 24, 22, 20, 18, 16, 15, 14, 13, 12] + [6] * (len(FIRST_NAMES) - 10)
LAST_WEIGHTS = [20, 18, 18, 16, 14, 12] + [5] * (len(LAST_NAMES) - 6)
PHONE_MULTIPLIER = 48_271  # odd, not a multiple of 5: i -> i * m mod 10**8 is a bijection


# --- environment -----------------------------------------------------------------------


def use_database(name: str, redis_url: str | None = None) -> None:
    """Point this module (and what configure_environment sets) at another database and Redis
    db than opsx_bench and db 14, e.g. a helper's own copy. Never the test databases."""
    global BENCH_DB, BENCH_DATABASE_URL, BENCH_REDIS_URL
    if name in {"opsx", "opsx_main"} or name.startswith("test_"):
        raise SystemExit(f"refusing to write benchmark data into {name!r}")
    BENCH_DB = name
    BENCH_DATABASE_URL = f"{PG_SERVER}/{name}"
    if redis_url:
        BENCH_REDIS_URL = redis_url


def configure_environment(media_root: str | None = None) -> None:
    """Point Django at the bench database and Redis db 14, whatever the caller's environment says."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "opsx.settings"
    os.environ["DATABASE_URL"] = BENCH_DATABASE_URL
    os.environ["REDIS_URL"] = BENCH_REDIS_URL
    os.environ["CELERY_BROKER_URL"] = BENCH_REDIS_URL
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"  # nothing is ever sent to a broker
    os.environ["EMAIL_URL"] = "consolemail://"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["MEDIA_ROOT"] = (
        media_root
        or os.environ.get("OPSX_BENCH_MEDIA_ROOT")
        or (os.path.join(tempfile.gettempdir(), "opsx-bench-media"))
    )


def ensure_database() -> bool:
    """Create `opsx_bench` if missing. True when it was created."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if exists:
            return False
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
        return True


def setup_django() -> None:
    import django
    from django.conf import settings

    django.setup()
    name = settings.DATABASES["default"]["NAME"]
    if name != BENCH_DB:  # belt and braces: never write anywhere else
        raise SystemExit(f"refusing to run against database {name!r}; expected {BENCH_DB!r}")


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


# --- state -------------------------------------------------------------------------------


def _raw():
    """psycopg's connection under Django's (same session, same transaction)."""
    from django.db import connection

    connection.ensure_connection()
    return connection.connection


def _vacuum(tables: str) -> None:
    from django.db import connection

    if connection.in_atomic_block:
        raise RuntimeError("VACUUM cannot run inside a transaction")
    _raw().execute(f"VACUUM (ANALYZE) {tables}")  # Django keeps psycopg in autocommit here


def read_meta() -> dict[str, int]:
    raw = _raw()
    with raw.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", [META_TABLE])
        if cur.fetchone()[0] is None:
            return {}
        cur.execute(f"SELECT key, value FROM {META_TABLE}")  # noqa: S608
        return dict(cur.fetchall())


def data_present(meta: dict[str, int] | None = None) -> bool:
    """The generated data set is complete (the count check)."""
    meta = read_meta() if meta is None else meta
    if not meta.get("complete"):
        return False
    raw = _raw()
    with raw.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM clients_client),"
            " (SELECT count(*) FROM prospects_prospect),"
            " (SELECT count(*) FROM prospects_prospectphone),"
            " (SELECT count(*) FROM prospects_visit)"
        )
        clients, prospects, phones, visits = cur.fetchone()
    return (clients, prospects, phones, visits) == (
        meta["clients"],
        meta["prospects"],
        meta["phones"],
        meta["visits"],
    )


def restore_baseline(*, vacuum: bool = True) -> bool:
    """Undo what an import bench wrote: restore the prospects it updated (from the snapshot),
    delete the prospects, phones, events, jobs and row errors it created. True if it did."""
    from django.db import transaction

    meta = read_meta()
    if not meta.get("complete"):
        return False
    raw = _raw()
    changed = False
    with transaction.atomic(), raw.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", [SNAPSHOT_TABLE])
        if cur.fetchone()[0] is not None:
            cur.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'prospects_prospect' AND column_name <> 'id'"
            )
            columns = [row[0] for row in cur.fetchall()]
            assignments = ", ".join(f'"{c}" = s."{c}"' for c in columns)
            cur.execute(
                f"UPDATE prospects_prospect p SET {assignments}"  # noqa: S608
                f" FROM {SNAPSHOT_TABLE} s WHERE p.id = s.id"
            )
            cur.execute(f"DROP TABLE {SNAPSHOT_TABLE}")
            changed = True
        statements = [
            ("DELETE FROM prospects_prospectevent", []),
            ("DELETE FROM prospects_prospectphone WHERE id > %s", [meta["phones_max_id"]]),
            ("DELETE FROM prospects_visit WHERE id > %s", [meta["visits_max_id"]]),
            ("DELETE FROM prospects_prospect WHERE id > %s", [meta["prospects_max_id"]]),
            ("DELETE FROM prospects_importrowerror", []),
            ("DELETE FROM prospects_importjob", []),
        ]
        for sql, params in statements:
            cur.execute(sql, params)
            changed = changed or cur.rowcount > 0
    if changed and vacuum:
        # Dead rows and GIN pending lists would make the next run's figures drift.
        _vacuum("prospects_prospect, prospects_prospectphone")
    return changed


def snapshot_prospects(ids: list[int]) -> None:
    """Keep a copy of prospects an import bench will update, for restore_baseline()."""
    with _raw().cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", [SNAPSHOT_TABLE])
        if cur.fetchone()[0] is None:
            cur.execute(
                f"CREATE TABLE {SNAPSHOT_TABLE} AS"  # noqa: S608
                " SELECT * FROM prospects_prospect WHERE id = ANY(%s)",
                [ids],
            )


# --- generation --------------------------------------------------------------------------


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _ts(value: dt.datetime) -> str:
    return value.isoformat()


def _secondary_indexes(cur, table: str) -> tuple[list[str], list[str]]:
    """(drop, create) statements for every index of `table` but its primary key."""
    cur.execute(
        """
        SELECT i.indexname, i.indexdef, c.contype, pg_get_constraintdef(c.oid)
        FROM pg_indexes i
        LEFT JOIN pg_constraint c
          ON c.conname = i.indexname AND c.conrelid = %s::regclass
        WHERE i.schemaname = 'public' AND i.tablename = %s
        ORDER BY i.indexname
        """,
        [table, table],
    )
    drops, creates = [], []
    for name, indexdef, contype, condef in cur.fetchall():
        if contype == "p":
            continue
        if contype is not None:  # a UNIQUE constraint owns this index
            drops.append(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            creates.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {condef}')
        else:
            drops.append(f'DROP INDEX "{name}"')
            creates.append(indexdef)
    return drops, creates


def _create_tenants(rng: random.Random):
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from clients.models import Client
    from prospects.models import CustomField

    clients = Client.objects.bulk_create(
        [
            Client(
                name=name,
                slug=name.lower().replace(" ", "-"),
                contact_email=f"office@{name.lower().replace(' ', '-')}.example",
            )
            for name in CLIENT_NAMES[:CLIENTS]
        ]
    )
    users = []
    for client in clients:
        for k in range(MEMBERS_PER_CLIENT + 1):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            users.append(
                User(
                    email=f"{_ascii(first)}.{_ascii(last)}{k}@{client.slug}.example",
                    full_name=f"{first} {last}",
                    client=client,
                    role=User.Role.ADMIN if k == 0 else User.Role.MEMBER,
                    password=make_password(None),
                    age_check_passed_at=NOW,
                )
            )
    users = User.objects.bulk_create(users)
    fields = []
    for client in clients:
        fields += [
            CustomField(
                client=client,
                key="region",
                label="Sales region",
                kind="choice",
                choices=["North", "South", "East", "West"],
                position=1,
            ),
            CustomField(client=client, key="outlets", label="Outlets", kind="number", position=2),
        ]
    CustomField.objects.bulk_create(fields)
    by_client: dict[int, list[int]] = {}
    for user in users:
        by_client.setdefault(user.client_id, []).append(user.pk)
    return [c.pk for c in clients], by_client


PROSPECT_COLUMNS = (
    "id, public_id, name, organisation, email, address_line1, address_line2, city, state, "
    "postal_code, country, latitude, longitude, status, source, tags, notes, custom, name_key, "
    "search_text, created_at, updated_at, client_id, created_by_id, import_job_id, owner_id, "
    "updated_by_id, sync_txid"
)
PHONE_COLUMNS = "id, number, digits, client_id, prospect_id"
VISIT_COLUMNS = (
    "id, public_id, status, scheduled_at, checked_in_at, check_in_latitude, check_in_longitude, "
    "checked_out_at, check_out_latitude, check_out_longitude, outcome, report, answers, "
    "created_at, updated_at, checklist_id, client_id, created_by_id, prospect_id, user_id, "
    "sync_txid"
)


def phone_number(i: int, prefix: str = "98") -> str:
    """The generated number of prospect i: +91 <prefix> + 8 digits, distinct for every i."""
    return f"+91{prefix}{(i * PHONE_MULTIPLIER) % 100_000_000:08d}"


def prospect_client_index(i: int) -> int:
    """Prospects are interleaved over the clients (as rows arrive over time in production)."""
    return (i - 1) % CLIENTS


def _prospect_lines(rng: random.Random, client_ids, users_by_client, n: int):
    """Yield (text chunk for COPY prospects, text chunk for COPY phones)."""
    from prospects.models import name_key_of, search_text_of

    firsts = rng.choices(range(len(FIRST_NAMES)), weights=FIRST_WEIGHTS, k=n)
    lasts = rng.choices(range(len(LAST_NAMES)), weights=LAST_WEIGHTS, k=n)
    first_ascii = [_ascii(f) for f in FIRST_NAMES]
    last_ascii = [_ascii(s) for s in LAST_NAMES]
    statuses = rng.choices(STATUSES[0], weights=STATUSES[1], k=n)
    start = NOW - dt.timedelta(days=3 * 365)
    span = (NOW - start).total_seconds()
    r = rng.random
    lines: list[str] = []
    phones: list[str] = []
    phone_id = 0
    for i in range(1, n + 1):
        c = prospect_client_index(i)
        client_id = client_ids[c]
        users = users_by_client[client_id]
        fi, li = firsts[i - 1], lasts[i - 1]
        first, last = FIRST_NAMES[fi], LAST_NAMES[li]
        name = (
            f"{first} {last}" if r() < 0.9 else f"{first} {rng.choice('ABCDEGHKMNPRSTV')}. {last}"
        )
        x = r()
        if x < 0.45:
            organisation = f"{rng.choice(LAST_NAMES)} {rng.choice(ORG_SUFFIXES)}"
        elif x < 0.75:
            organisation = f"{rng.choice(ORG_WORDS)} {rng.choice(ORG_SUFFIXES)}"
        else:
            organisation = ""
        email = f"{first_ascii[fi]}.{last_ascii[li]}{i}@{rng.choice(DOMAINS)}" if r() < 0.85 else ""
        city, state, lat, lng, pin = CITIES[int(r() * len(CITIES))]
        if r() < 0.6:
            latitude = f"{lat + (r() - 0.5) * 0.2:.6f}"
            longitude = f"{lng + (r() - 0.5) * 0.2:.6f}"
        else:
            latitude = longitude = "\\N"
        owner = users[int(r() * len(users))] if r() < 0.8 else None
        actor = owner or users[0]
        t = r()
        tags = (
            "[]"
            if t < 0.5
            else json.dumps(rng.sample(TAGS, 1 if t < 0.8 else 2 if t < 0.95 else 3))
        )
        created = start + dt.timedelta(seconds=span * (i - 1) / n + r() * 3600)
        updated = created + (NOW - created) * (r() ** 3)
        # with the model's own derivations, as Prospect.refresh_derived():
        email = email.strip().lower()
        name_key = name_key_of(name)
        search_text = search_text_of(name_key, organisation)
        lines.append(
            "\t".join(
                (
                    str(i),
                    str(uuid.uuid4()),
                    name,
                    organisation,
                    email,
                    f"{int(r() * 300) + 1}, {STREETS[int(r() * len(STREETS))]}",
                    "",
                    city,
                    state,
                    f"{pin}{int(r() * 1000):03d}",
                    "IN",
                    latitude,
                    longitude,
                    statuses[i - 1],
                    SOURCES[int(r() * len(SOURCES))],
                    tags,
                    NOTES[int(r() * len(NOTES))] if r() < 0.1 else "",
                    "{}",
                    name_key,
                    search_text,
                    _ts(created),
                    _ts(updated),
                    str(client_id),
                    str(actor),
                    "\\N",
                    str(owner) if owner else "\\N",
                    str(actor),
                    "0",  # sync_txid: loaded with the triggers off, as rows before any sync
                )
            )
        )
        if r() < PHONE_SHARE:
            numbers = [phone_number(i)]
            if r() < SECOND_PHONE_SHARE:
                numbers.append(phone_number(i, "97"))
            for number in numbers:
                phone_id += 1
                phones.append(f"{phone_id}\t{number}\t{number[1:]}\t{client_id}\t{i}")
        if len(lines) >= CHUNK:
            yield "\n".join(lines) + "\n", "\n".join(phones) + "\n" if phones else ""
            lines, phones = [], []
    if lines:
        yield "\n".join(lines) + "\n", "\n".join(phones) + "\n" if phones else ""


def _visit_lines(rng: random.Random, client_ids, users_by_client, n_prospects: int, n: int):
    statuses = rng.choices(VISIT_STATUSES[0], weights=VISIT_STATUSES[1], k=n)
    start = NOW - dt.timedelta(days=2 * 365)
    span = (NOW - start).total_seconds()
    r = rng.random
    lines: list[str] = []
    for v in range(1, n + 1):
        prospect = int(r() * n_prospects) + 1
        client_id = client_ids[prospect_client_index(prospect)]
        users = users_by_client[client_id]
        user = users[1 + int(r() * (len(users) - 1))]
        status = statuses[v - 1]
        if status == "planned":
            scheduled = NOW + dt.timedelta(seconds=r() * 30 * 86400)
        else:
            scheduled = start + dt.timedelta(seconds=r() * span)
        created = min(scheduled - dt.timedelta(seconds=r() * 10 * 86400), NOW)
        checked_in = lat_in = lng_in = checked_out = lat_out = lng_out = "\\N"
        outcome = report = ""
        updated = created
        if status in ("done", "in_progress"):
            city = CITIES[int(r() * len(CITIES))]
            arrived = scheduled + dt.timedelta(seconds=r() * 1800)
            checked_in = _ts(arrived)
            lat_in = f"{city[2] + (r() - 0.5) * 0.2:.6f}"
            lng_in = f"{city[3] + (r() - 0.5) * 0.2:.6f}"
            updated = arrived
            if status == "done":
                left = arrived + dt.timedelta(seconds=600 + r() * 3600)
                checked_out, lat_out, lng_out = _ts(left), lat_in, lng_in
                outcome = OUTCOMES[int(r() * len(OUTCOMES))]
                report = REPORTS[int(r() * len(REPORTS))]
                updated = left
        elif status == "cancelled":
            updated = created + dt.timedelta(seconds=r() * 86400)
        lines.append(
            "\t".join(
                (
                    str(v),
                    str(uuid.uuid4()),
                    status,
                    _ts(scheduled),
                    checked_in,
                    lat_in,
                    lng_in,
                    checked_out,
                    lat_out,
                    lng_out,
                    outcome,
                    report,
                    "{}",
                    _ts(created),
                    _ts(updated),
                    "\\N",
                    str(client_id),
                    str(user),
                    str(prospect),
                    str(user),
                    "0",
                )
            )
        )
        if len(lines) >= CHUNK:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"


def _log(message: str, started: float) -> None:
    print(f"  [{time.perf_counter() - started:6.1f}s] {message}", flush=True)


def generate(*, prospects: int = PROSPECTS, visits: int = VISITS) -> dict[str, int]:
    """Rebuild the whole data set in one transaction. Returns the meta row."""
    from django.db import transaction

    started = time.perf_counter()
    rng = random.Random(SEED)
    with transaction.atomic():
        raw = _raw()
        with raw.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
            cur.execute("SET LOCAL max_parallel_maintenance_workers = 2")
            cur.execute(f"DROP TABLE IF EXISTS {SNAPSHOT_TABLE}, {META_TABLE}")
            cur.execute(
                "TRUNCATE clients_client, accounts_user, django_session RESTART IDENTITY CASCADE"
            )
            # Truncated again by name so COPY FREEZE sees them truncated in this transaction.
            cur.execute(f"TRUNCATE {', '.join(BENCH_TABLES)} RESTART IDENTITY CASCADE")
            drops, creates = [], []
            for table in BENCH_TABLES:
                d, c = _secondary_indexes(cur, table)
                drops += d
                creates += c
            for sql in drops:
                cur.execute(sql)
        _log(f"truncated; dropped {len(drops)} secondary indexes", started)

        client_ids, users_by_client = _create_tenants(rng)
        _log(f"{len(client_ids)} clients, {sum(map(len, users_by_client.values()))} users", started)

        phones_total = 0
        with raw.cursor() as cur:
            phone_chunks: list[str] = []
            with cur.copy(
                f"COPY prospects_prospect ({PROSPECT_COLUMNS}) FROM STDIN (FREEZE)"
            ) as cp:
                for text, phone_text in _prospect_lines(
                    rng, client_ids, users_by_client, prospects
                ):
                    cp.write(text)
                    if phone_text:
                        phone_chunks.append(phone_text)
            _log(f"{prospects:,} prospects copied", started)
            with cur.copy(
                f"COPY prospects_prospectphone ({PHONE_COLUMNS}) FROM STDIN (FREEZE)"
            ) as cp:
                for text in phone_chunks:
                    cp.write(text)
                    phones_total += text.count("\n")
            del phone_chunks
            _log(f"{phones_total:,} phones copied", started)
            with cur.copy(f"COPY prospects_visit ({VISIT_COLUMNS}) FROM STDIN (FREEZE)") as cp:
                for text in _visit_lines(rng, client_ids, users_by_client, prospects, visits):
                    cp.write(text)
            _log(f"{visits:,} visits copied", started)
            for sql in creates:
                t0 = time.perf_counter()
                cur.execute(sql)
                if time.perf_counter() - t0 > 5:
                    _log(f"built in {time.perf_counter() - t0:.0f}s: {sql[:90]}", started)
            _log(f"rebuilt {len(creates)} indexes", started)
            for table in BENCH_TABLES:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                    f" (SELECT coalesce(max(id), 1) FROM {table}))"
                )
            meta = {
                "complete": 1,
                "seed": SEED,
                "data_version": DATA_VERSION,
                "clients": len(client_ids),
                "prospects": prospects,
                "phones": phones_total,
                "visits": visits,
                "prospects_max_id": prospects,
                "phones_max_id": phones_total,
                "visits_max_id": visits,
            }
            cur.execute(f"CREATE TABLE {META_TABLE} (key text PRIMARY KEY, value bigint NOT NULL)")
            with cur.copy(f"COPY {META_TABLE} (key, value) FROM STDIN") as cp:
                for key, value in meta.items():
                    cp.write_row((key, value))
    _log("committed", started)
    _vacuum("clients_client, accounts_user, prospects_customfield, " + ", ".join(BENCH_TABLES))
    _log("vacuum analyze done", started)
    return meta


def ensure(
    *, force: bool = False, prospects: int = PROSPECTS, visits: int = VISITS
) -> dict[str, int]:
    """Migrate, clean up after an interrupted bench, and generate unless the data is there.
    Needs configure_environment(), ensure_database() and setup_django() first."""
    migrate()
    restore_baseline()
    meta = read_meta()
    wanted = (meta.get("prospects"), meta.get("visits"), meta.get("data_version")) == (
        prospects,
        visits,
        DATA_VERSION,
    )
    if not force and wanted and data_present(meta):
        print(f"opsx_bench: data present ({meta['prospects']:,} prospects); generation skipped")
        return meta
    print("opsx_bench: generating the data set (a few minutes)…", flush=True)
    return generate(prospects=prospects, visits=visits)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if the data is there")
    parser.add_argument("--prospects", type=int, default=PROSPECTS, help=argparse.SUPPRESS)
    parser.add_argument("--visits", type=int, default=VISITS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    configure_environment()
    if ensure_database():
        print(f"created database {BENCH_DB}")
    setup_django()
    started = time.perf_counter()
    ensure(force=args.force, prospects=args.prospects, visits=args.visits)
    print(f"done in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
