"""OpsX benchmark: a year of usage rows for 10,000 clients, their size and the reads on them.
A script, not a test.

    .venv/bin/python tests/bench/usage_rows.py                   # 10,000 clients x 365 days
    .venv/bin/python tests/bench/usage_rows.py --clients 1000    # quick

Builds its own database (default opsx_usagebench, dropped and made again), migrates it, writes
the clients and one UsageDay row per client per day with generate_series, then prints the
table's size with its indexes and the time of: one client's 90 days (the chart query), the
benchmark's quartiles of one day across every client (`usage_benchmarks_compute`) and the
page's benchmark read. Target: the reads in milliseconds, the table in the low gigabytes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--database", default="opsx_usagebench")
    args = parser.parse_args()
    base = "postgres://postgres@127.0.0.1:5432"
    for cmd in (["dropdb", "--if-exists"], ["createdb"]):
        subprocess.run([*cmd, "-U", "postgres", "-h", "127.0.0.1", args.database], check=True)
    os.environ["DATABASE_URL"] = f"{base}/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsx.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from clients import queries, usage
    from clients.models import Client

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - started:.1f} s")
    end = date(2026, 11, 30)
    start = end - timedelta(days=args.days - 1)
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO clients_client (public_id, name, slug, status, contact_email,"
            " storage_bytes, device_policy, created_at)"
            " SELECT gen_random_uuid(), 'Client ' || n, 'client-' || n, 'active',"
            " 'c' || n || '@example.com', 0, 'replace', now() FROM generate_series(1, %s) n",
            [args.clients],
        )
        stock = ", ".join(usage.STOCK_FIELDS)
        counters = ", ".join(usage._COUNTER_COLUMNS)
        cur.execute(
            f"INSERT INTO clients_usageday (client_id, day, {stock}, {counters})"  # noqa: S608 (fixed names)
            " SELECT c.id, d::date,"
            " 1 + c.id %% 300, c.id %% 200, c.id * 7 %% 50000, c.id %% 9000, c.id %% 3000,"
            " c.id::bigint * 100000, 0, 0, c.id %% 40,"
            + ", ".join(["(random() * 500)::int"] * len(usage.AREAS))
            + ", "
            + ", ".join(["(random() * 5e7)::bigint"] * len(usage.AREAS))
            + " FROM clients_client c CROSS JOIN generate_series(%s::date, %s::date, '1 day') d",
            [start, end],
        )
        cur.execute("VACUUM ANALYZE clients_usageday")
        rows = args.clients * args.days
        print(f"{rows:,} rows written in {time.perf_counter() - started:.1f} s")
        cur.execute(
            "SELECT pg_total_relation_size('clients_usageday'), pg_relation_size('clients_usageday')"
        )
        total, heap = cur.fetchone()
        print(
            f"table {heap / 1e6:.0f} MB, with its indexes {total / 1e6:.0f} MB ({total / rows:.0f} bytes a row)"
        )

    client = Client.objects.get(slug=f"client-{args.clients // 2}")

    def timed(label, fn, repeat=5):
        best = min(_time(fn) for _ in range(repeat))
        print(f"{label}: {best * 1000:.1f} ms")

    timed("one client's 90 days (the charts' query)", lambda: queries.usage_days(client, today=end))
    timed(
        "the charts drawn (4 SVG)",
        lambda: queries.usage_charts(queries.usage_days(client, today=end)),
    )
    timed(
        "one day's benchmark over every client",
        lambda: usage.usage_benchmarks_compute(end),
        repeat=2,
    )
    timed("the page's benchmark read", lambda: queries.usage_benchmark(client))
    return 0


def _time(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
