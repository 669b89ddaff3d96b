"""OpsX benchmark: the prospect list, search, CSV import and CSV export on 1,000,000 prospects.

    .venv/bin/python tests/bench/run.py              # the figures
    .venv/bin/python tests/bench/run.py --explain    # and the EXPLAIN (ANALYZE, BUFFERS) plans
    .venv/bin/python tests/bench/run.py --profile-list [FILE]   # only a cProfile of the list page

Runs against the dedicated database `opsx_bench` (created, migrated and filled by
generate.py when needed) and Redis db 14; nothing else is touched. The import bench
writes into one client and restores it afterwards, so the run is repeatable.

Compare figures from a freshly generated database (`generate.py --force`, about a minute).
Writes the restore cannot undo, such as experiments that insert and roll back many rows,
leave the indexes bloated: on 2026-11-25 they made the same import code 15 to 25 % slower
(backend CPU 6.3 to 7.2 s against 5.4 s after regenerating).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import itertools
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # this folder, next to this file

PAGE = 1000  # the deep page of the list bench
IMPORT_ROWS = 100_000
IMPORT_FORMATS = ("csv", "xlsx", "vcf")  # the import cases; --import-formats picks some
VCF_ROWS = 20_000  # an address book: phones hold thousands of cards, not 100,000
EXPORT_ROWS = 100_000
LIST_CLIENT, IMPORT_CLIENT, EXPORT_CLIENT = 0, 1, 2  # indexes into the clients, by id

TARGET_PAGE_MS = 25
TARGET_SEARCH_MS = 30
TARGET_IMPORT_S = 10
TARGET_IMPORT_MB = 300
FLAT_MB = 10  # "flat memory": the peak after 10% of the rows grows by less than this
TARGET_EXPORT_S = 5
HELPER = "helper: "  # breakdown labels of time spent in the import's helper thread


# --- results -------------------------------------------------------------------------------


@dataclass
class PageResult:
    label: str
    times_ms: list[float]
    queries: list[int]
    sql_ms: list[float]
    rows: int
    target_ms: float
    note: str = ""
    sql: list[str] = field(default_factory=list, repr=False)

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.times_ms, n=20, method="inclusive")[-1]


@dataclass
class JobResult:
    label: str
    wall_s: float
    target: str
    ok: bool
    details: list[str]


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 1024 / 1024:,.1f} MB"


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes


# --- set-up ----------------------------------------------------------------------------------


def _bootstrap(media_root: str) -> None:
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise, no collectstatic
    generate.configure_environment(media_root)
    generate.setup_django()
    from django.conf import settings

    # Production runs with DEBUG off (no query log, no template debug info). Set before the
    # first request, so the template engine is built without debug.
    settings.DEBUG = False


def _clients():
    from clients.models import Client

    return list(Client.objects.order_by("id"))


def _member(client):
    from accounts.models import User

    return User.objects.for_client(client).filter(role=User.Role.MEMBER).order_by("id").first()


def _admin(client):
    from accounts.models import User

    return User.objects.for_client(client).filter(role=User.Role.ADMIN).order_by("id").first()


# --- the list and search pages ------------------------------------------------------------

_ROW_MARK = 'class="badge status-'
_TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK"}
_FIRST_ROW = re.compile(r'href="[^"]*/prospects/([0-9a-f-]{36})/"')


def _measure_page(http, url: str, *, label: str, n: int, target_ms: float, note: str = ""):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):  # warm-up: template compile, caches, buffers
        response = http.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times, queries, sql_ms = [], [], []
    captured: list[dict] = []
    body = b""
    spent = [0.0]

    def sql_timer(execute, statement, params, many, context):
        t = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            spent[0] += time.perf_counter() - t

    for _ in range(n):
        spent[0] = 0.0
        with CaptureQueriesContext(connection) as cq, connection.execute_wrapper(sql_timer):
            t0 = time.perf_counter()
            response = http.get(url)
            elapsed = time.perf_counter() - t0
        assert response.status_code == 200, (url, response.status_code)
        times.append(elapsed * 1000)
        # BEGIN/COMMIT of ATOMIC_REQUESTS are not counted as queries
        statements = [q for q in cq.captured_queries if q["sql"] not in _TRANSACTION_CONTROL]
        queries.append(len(statements))
        sql_ms.append(spent[0] * 1000)
        captured, body = statements, response.content
    return PageResult(
        label=label,
        times_ms=times,
        queries=queries,
        sql_ms=sql_ms,
        rows=body.decode().count(_ROW_MARK),
        target_ms=target_ms,
        note=note,
        sql=[q["sql"] for q in captured],
    ), body.decode()


def _page_cursor(client, sort: str, page: int, **filters):
    """The `after` cursor that opens page `page` (the last row of page - 1), and the public id
    of the row the page must start with."""
    from prospects.models import Prospect
    from prospects.queries import PAGE_SIZE, SORTS, _encode_cursor

    column, descending = SORTS[sort]
    order = [f"-{column}", "-id"] if descending else [column, "id"]
    offset = PAGE_SIZE * (page - 1)
    (last_value, last_pk, _), (_, _, first_public_id) = (
        Prospect.objects.for_client(client)
        .filter(**filters)
        .order_by(*order)
        .values_list(column, "id", "public_id")[offset - 1 : offset + 1]
    )
    return _encode_cursor(last_value, last_pk), str(first_public_id)


def bench_pages(client, n: int) -> list[PageResult]:
    from urllib.parse import urlencode

    from django.test import Client as HttpClient
    from django.urls import reverse

    from prospects.models import Prospect, ProspectPhone
    from prospects.queries import PAGE_SIZE

    # A previous import bench's restore may have run its VACUUM while autovacuum held a
    # snapshot, leaving pages not all-visible: index-only scans would visit the heap.
    generate._vacuum("prospects_prospect, prospects_prospectphone")
    member = _member(client)
    http = HttpClient()
    http.force_login(member)
    base = reverse("prospects:list")
    results = []

    def run(label, params, target, note="", expect_first=None, expect_in=None):
        url = f"{base}?{urlencode(params)}" if params else base
        result, html = _measure_page(http, url, label=label, n=n, target_ms=target, note=note)
        if expect_first is not None:
            first = _FIRST_ROW.search(html, html.find("<tbody>"))
            assert first and first.group(1) == expect_first, f"{label}: wrong first row"
        if expect_in is not None:
            assert f'/prospects/{expect_in}/"' in html, f"{label}: expected prospect missing"
        results.append(result)
        return result

    for sort, sort_label in (("name", "name"), ("-updated", "-updated")):
        params = {} if sort == "name" else {"sort": sort}
        run(f"list sort={sort_label}, page 1", params, TARGET_PAGE_MS)
        cursor, first = _page_cursor(client, sort, PAGE)
        run(
            f"list sort={sort_label}, page {PAGE:,}",
            {**params, "after": cursor},
            TARGET_PAGE_MS,
            expect_first=first,
        )

    # filtered lists walk the name index and filter inside it (migration 0006)
    scoped = Prospect.objects.for_client(client)
    mine = scoped.filter(owner=member).count()
    deep = min(PAGE, mine // PAGE_SIZE)
    run("my prospects, page 1 (extra)", {"owner": "me"}, TARGET_PAGE_MS, note=f"{mine:,} rows")
    cursor, first = _page_cursor(client, "name", deep, owner=member)
    run(
        f"my prospects, page {deep:,} (extra)",
        {"owner": "me", "after": cursor},
        TARGET_PAGE_MS,
        expect_first=first,
    )
    lost = scoped.filter(status="lost").count()
    cursor, first = _page_cursor(client, "name", PAGE // 4, status="lost")
    run(
        f"status lost, page {PAGE // 4:,} (extra)",
        {"status": "lost", "after": cursor},
        TARGET_PAGE_MS,
        note=f"{lost:,} rows",
        expect_first=first,
    )

    # search terms taken from the data
    name_q = generate.FIRST_NAMES[0][:4]
    matches = scoped.filter(search_text__contains=name_q.lower()).count()
    run(f"search name “{name_q}”", {"q": name_q}, TARGET_SEARCH_MS, note=f"{matches:,} match")

    public_id, email = (
        scoped.exclude(email="").order_by("id").values_list("public_id", "email")[5000]
    )
    email_q = email.split("@")[0] + "@"
    run(f"search email “{email_q}”", {"q": email_q}, TARGET_SEARCH_MS, expect_in=public_id)

    digits, prospect_id = (
        ProspectPhone.objects.for_client(client)
        .order_by("id")
        .values_list("digits", "prospect")[5000]
    )
    phone_q = digits[6:11]  # 5 digits from the middle: 91 98 xx[xxxxx]x
    phone_matches = (
        ProspectPhone.objects.for_client(client).filter(digits__contains=phone_q).count()
    )
    run(
        f"search phone “{phone_q}”",
        {"q": phone_q},
        TARGET_SEARCH_MS,
        note=f"{phone_matches:,} match",
        expect_in=scoped.get(pk=prospect_id).public_id if phone_matches <= 25 else None,
    )
    run("search, no match “qxzv” (extra)", {"q": "qxzv"}, TARGET_SEARCH_MS, note="0 match")
    return results


def profile_list(client, n: int, out: str = "") -> None:
    """Profile the list page as wrk_compare serves it (the first client's first member, page 1,
    no filter): CPU time per request, the SQL it runs, and cProfile's top functions by own and
    by cumulative CPU time. CPU time (not wall time) so a loaded machine still gives figures
    to compare; call counts are exact whatever the load."""
    import pstats

    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    http = HttpClient()
    http.force_login(_member(client))
    url = reverse("prospects:list")
    for _ in range(5):  # warm-up: template compile, caches, the connection
        assert http.get(url).status_code == 200
    with CaptureQueriesContext(connection) as cq:
        http.get(url)
    statements = [q["sql"] for q in cq.captured_queries]  # now: the next request clears the log
    cpu = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(n):
            http.get(url)
        cpu.append((time.process_time() - started) / n * 1000)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(n):
        http.get(url)
    profiler.disable()
    print(f"\nlist page, {len(statements)} statements (BEGIN/COMMIT included):")
    for sql in statements:
        print(f"  {sql[:150]}")
    print(
        f"\nPython CPU per request, 5 runs of {n}: min {min(cpu):.2f} ms,"
        f" median {statistics.median(cpu):.2f} ms (without the profiler)"
    )
    stats = pstats.Stats(profiler)
    print(f"{stats.total_calls / n:,.0f} function calls per request")
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    if out:
        stats.dump_stats(out)
        print(f"profile written to {out} (pstats)")


def _main_query(result: PageResult) -> str:
    for sql in result.sql:
        if 'FROM "prospects_prospect"' in sql and "LIMIT 26" in sql:
            return sql
    raise LookupError(f"no list query captured for {result.label}")


def print_explains(results: list[PageResult]) -> None:
    from django.db import connection

    for result in results:
        sql = _main_query(result)
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cur.fetchall())
        print(f"\n=== EXPLAIN (ANALYZE, BUFFERS): {result.label}\n{sql}\n\n{plan}")


# --- CSV import --------------------------------------------------------------------------

IMPORT_HEADER = ["Name", "Company", "Email", "Mobile", "City", "State", "Status", "Tags",
                 "Assigned To", "Notes"]  # fmt: skip
IMPORT_MAPPING = {
    "Name": "name", "Company": "organisation", "Email": "email", "Mobile": "phones",
    "City": "city", "State": "state", "Status": "status", "Tags": "tags", "Assigned To": "owner",
    "Notes": "notes",
}  # fmt: skip


def _phone_text(number: str, k: int) -> str:
    """The same E.164 number written the ways people type it."""
    national = number[3:]
    style = k % 4
    if style == 0:
        return f"+91 {national[:5]} {national[5:]}"
    if style == 1:
        return national
    if style == 2:
        return f"+91-{national[:5]}-{national[5:]}"
    return f"0{national}"


def write_import_csv(path: Path, client, rows: int = IMPORT_ROWS) -> tuple[list[int], dict]:
    """A realistic upload: 10% duplicates of existing prospects by email (other case, a new
    phone), 5% invalid rows, 1% duplicates of an earlier row of the file, the rest new.
    Returns the ids of the existing prospects it duplicates and the expected counts."""
    from accounts.models import User
    from prospects.models import Prospect

    rng = random.Random(generate.SEED + 1)
    existing = list(
        Prospect.objects.for_client(client)
        .exclude(email="")
        .order_by("id")
        .values_list("id", "name", "email")
    )
    n_dup, n_bad, n_repeat = rows // 10, rows // 20, rows // 100
    dups = rng.sample(existing, n_dup)
    owners = list(User.objects.for_client(client).active().values_list("email", flat=True))
    kinds = ["dup"] * n_dup + ["bad"] * n_bad + ["repeat"] * n_repeat
    kinds += ["new"] * (rows - len(kinds))
    rng.shuffle(kinds)
    bad_cells = [
        (2, "someone@"),  # email
        (3, "12345"),  # phone
        (6, "maybe later"),  # status
        (0, ""),  # name
        (8, "nobody@elsewhere.example"),  # owner
    ]
    new_rows: list[list[str]] = []
    dup_iter = iter(dups)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(IMPORT_HEADER)
        for k, kind in enumerate(kinds):
            first, last = rng.choice(generate.FIRST_NAMES), rng.choice(generate.LAST_NAMES)
            city, state, *_ = rng.choice(generate.CITIES)
            row = [
                f"{first} {last}",
                f"{rng.choice(generate.ORG_WORDS)} {rng.choice(generate.ORG_SUFFIXES)}"
                if rng.random() < 0.7
                else "",
                f"{generate._ascii(first)}.{generate._ascii(last)}.n{k}@example.net",
                _phone_text(generate.phone_number(k + 1, "96"), k),
                city,
                state,
                rng.choice(["", "New", "contacted", "Interested", "customer"]),
                ", ".join(rng.sample(generate.TAGS, rng.randint(0, 2))),
                rng.choice(owners).upper() if rng.random() < 0.3 else "",
                rng.choice(generate.NOTES) if rng.random() < 0.05 else "",
            ]
            if kind == "dup":
                _, name, email = next(dup_iter)
                row[0], row[2] = name, email.upper() if k % 2 else email.title()
                row[3] = _phone_text(generate.phone_number(k + 1, "90"), k)
                row[6], row[7] = "Interested", "imported, q4"
            elif kind == "bad":
                column, value = bad_cells[k % len(bad_cells)]
                row[column] = value
            elif kind == "repeat" and new_rows:
                earlier = rng.choice(new_rows)
                row[0], row[2] = earlier[0], earlier[2]
            else:
                new_rows.append(row)
            writer.writerow(row)
    expected = {"duplicates": n_dup, "invalid": n_bad, "repeats": n_repeat}
    return [d[0] for d in dups], expected


VCF_MAPPING = {
    "Full name": "name", "Organisation": "organisation", "Email": "email",
    "Mobile phone": "phones", "City": "city", "Region": "state", "Categories": "tags",
    "Note": "notes",
}  # fmt: skip


def write_import_xlsx(csv_path: Path, path: Path) -> None:
    """The CSV's rows as a workbook (written streamed), as Excel users have them: a mobile
    number typed without spaces is stored as a number."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Leads")
    mobile = IMPORT_HEADER.index("Mobile")
    with csv_path.open(newline="", encoding="utf-8") as fh:
        for k, row in enumerate(csv.reader(fh)):
            if k and row[mobile].isdigit():
                row[mobile] = int(row[mobile])
            sheet.append(row)
    workbook.save(path)


def _vcard_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def write_import_vcf(csv_path: Path, path: Path, cards: int) -> None:
    """The CSV's first rows as vCard 3.0 cards as a phone exports them (N, FN, ORG, TEL, EMAIL,
    ADR, CATEGORIES, NOTE)."""
    column = {name: i for i, name in enumerate(IMPORT_HEADER)}
    with csv_path.open(newline="", encoding="utf-8") as fh, path.open("w", encoding="utf-8") as out:
        reader = csv.reader(fh)
        next(reader)
        for row in itertools.islice(reader, cards):
            given, _, family = row[column["Name"]].partition(" ")
            lines = ["BEGIN:VCARD", "VERSION:3.0", f"N:{_vcard_text(family)};{_vcard_text(given)};;;",
                     f"FN:{_vcard_text(row[column['Name']])}"]  # fmt: skip
            if row[column["Company"]]:
                lines.append(f"ORG:{_vcard_text(row[column['Company']])};")
            lines.append(f"TEL;type=CELL;type=VOICE;type=pref:{row[column['Mobile']]}")
            if row[column["Email"]]:
                lines.append(f"EMAIL;type=INTERNET;type=HOME:{row[column['Email']]}")
            city, state = row[column["City"]], row[column["State"]]
            lines.append(f"item1.ADR;type=HOME:;;;{_vcard_text(city)};{_vcard_text(state)};;India")
            lines.append("item1.X-ABADR:in")
            if row[column["Tags"]]:
                lines.append(
                    "CATEGORIES:"
                    + ",".join(_vcard_text(t) for t in row[column["Tags"]].split(", "))
                )
            if row[column["Notes"]]:
                lines.append(f"NOTE:{_vcard_text(row[column['Notes']])}")
            lines.append("END:VCARD")
            out.write("\r\n".join(lines) + "\r\n")


def _run_child(kind: str, *args: str, media_root: str) -> dict:
    env = {**os.environ, "OPSX_BENCH_MEDIA_ROOT": media_root}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise RuntimeError(f"the {kind} child failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_import(
    client,
    workdir: Path,
    media_root: str,
    *,
    traced: bool,
    profile: str | None = None,
    rows: int = IMPORT_ROWS,
) -> list[JobResult]:
    path = workdir / "import.csv"
    dup_ids, expected = write_import_csv(path, client, rows)
    size = path.stat().st_size
    runs = {}
    modes = ["time"] + (["tracemalloc"] if traced else []) + (["profile"] if profile else [])
    try:
        for mode in modes:
            generate.snapshot_prospects(dup_ids)
            if profile:
                os.environ["OPSX_BENCH_PROFILE"] = str(Path(profile).resolve())
            runs[mode] = _run_child(
                "import", str(client.pk), str(path), mode, media_root=media_root
            )
            t0 = time.perf_counter()
            generate.restore_baseline()
            runs[mode]["cleanup_s"] = time.perf_counter() - t0
    finally:
        generate.restore_baseline()
    for run in runs.values():
        if run["status"] != "done":
            raise RuntimeError(f"import ended {run['status']}: {run['failure_reason']}")
    timed = runs["time"]
    rss_peak = timed["rss_peak"]  # the tracemalloc run's own bookkeeping would inflate it
    ok_time = timed["wall_s"] < TARGET_IMPORT_S
    ok_mem = rss_peak < TARGET_IMPORT_MB * 1024 * 1024
    counts = timed["counts"]
    parts = sorted(timed["breakdown"].items(), key=lambda kv: -kv[1])
    helper = [(k.removeprefix(HELPER), v) for k, v in parts if k.startswith(HELPER)]
    parts = [(k, v) for k, v in parts if not k.startswith(HELPER)]
    other = timed["wall_s"] - sum(v for _, v in parts)
    details = [
        f"file {_mb(size)}: {expected['duplicates']:,} duplicates of existing prospects"
        f" (by email), {expected['invalid']:,} invalid rows, {expected['repeats']:,} repeats"
        " of an earlier row, the rest new; on_duplicate=update",
        f"job: created {counts['created']:,}, updated {counts['updated']:,},"
        f" merged {counts['merged']:,}, skipped {counts['skipped']:,},"
        f" refused {counts['errors']:,}, warned {counts['warned']:,}",
        f"time: import_run {timed['wall_s']:.2f} s ({rows / timed['wall_s']:,.0f} rows/s)"
        f" [{'PASS' if ok_time else 'OVER'}]; import_upload before it {timed['upload_s']:.2f} s",
        "  where: "
        + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in parts)
        + f", rest (reading the CSV, deciding, building rows, …) {other:.1f} s",
        "  meanwhile in the helper thread: "
        + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in helper),
        f"  CPU: worker process {timed['cpu']['worker']:.1f} s (both threads),"
        f" its PostgreSQL backend {timed['cpu']['backend']:.1f} s",
        f"  of which SQL statements (round trips) {timed['sql_s']:.1f} s"
        f" in {timed['sql_statements']:,} statements",
        f"memory: worker peak RSS {_mb(rss_peak)} (VmHWM; RSS when import_run started"
        f" {_mb(timed['rss_start'])}) [{'PASS' if ok_mem else 'OVER'}];"
        f" ru_maxrss before/after {_mb(timed['maxrss_before'])} / {_mb(timed['maxrss_after'])}"
        " (inherits the parent's peak across exec)",
    ]
    if traced:
        run = runs["tracemalloc"]
        details.append(
            f"memory: tracemalloc peak of Python allocations in import_run"
            f" {_mb(run['tracemalloc_peak'])} (a second run; tracemalloc slowed it to"
            f" {run['wall_s']:.0f} s)"
        )
    details.append(f"clean-up after each run (restore + VACUUM ANALYZE) {timed['cleanup_s']:.1f} s")
    return [
        JobResult(
            label=f"CSV import {rows:,} rows (import_run)",
            wall_s=timed["wall_s"],
            target=f"< {TARGET_IMPORT_S} s, < {TARGET_IMPORT_MB} MB",
            ok=ok_time and ok_mem,
            details=details,
        )
    ]


def bench_file_import(client, workdir: Path, media_root: str, fmt: str, rows: int) -> JobResult:
    """The same rows as an .xlsx workbook or a .vcf address book: wall time of import_run,
    import_upload before it (it reads the whole file once for the column statistics), and
    whether memory stays flat (the worker's peak RSS after 10% of the rows against the end)."""
    csv_path = workdir / f"for-{fmt}.csv"
    dup_ids, _ = write_import_csv(csv_path, client, rows)
    path = workdir / f"import.{fmt}"
    if fmt == "xlsx":
        write_import_xlsx(csv_path, path)
    else:
        write_import_vcf(csv_path, path, rows)
    try:
        generate.snapshot_prospects(dup_ids)
        timed = _run_child("import", str(client.pk), str(path), "time", media_root=media_root)
    finally:
        generate.restore_baseline()
    if timed["status"] != "done":
        raise RuntimeError(f"{fmt} import ended {timed['status']}: {timed['failure_reason']}")
    counts = timed["counts"]
    early, late = timed["rss_first_10pct"], timed["rss_peak"]
    flat = late <= early + FLAT_MB * 1024 * 1024
    label = {"xlsx": "Excel .xlsx", "vcf": "vCard .vcf"}[fmt]
    return JobResult(
        label=f"{label} import {rows:,} rows (import_run)",
        wall_s=timed["wall_s"],
        target="flat memory",
        ok=flat,
        details=[
            f"file {_mb(path.stat().st_size)}; job: read {counts['processed']:,},"
            f" created {counts['created']:,}, updated {counts['updated']:,},"
            f" errors {counts['errors']:,}",
            f"time: import_run {timed['wall_s']:.2f} s ({rows / timed['wall_s']:,.0f} rows/s);"
            f" import_upload before it {timed['upload_s']:.2f} s",
            f"memory: RSS {_mb(timed['rss_start'])} when import_run started, peak"
            f" {_mb(early)} after the first 10% of rows, peak {_mb(late)} at the end (VmHWM)"
            f" [{'flat' if flat else 'GROWS'}]",
        ],
    )


def _proc_status() -> dict[str, int]:
    """VmRSS and VmHWM (peak) of this process in bytes (Linux)."""
    values = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values


def _cpu_seconds(backend_pid: int) -> dict[str, float]:
    """CPU time (user + system) of this process and of its PostgreSQL backend (same host)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(f"/proc/{backend_pid}/stat") as fh:
        fields = fh.read().rpartition(")")[2].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {
        "worker": usage.ru_utime + usage.ru_stime,
        "backend": (int(fields[11]) + int(fields[12])) / ticks,
    }


def _reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


class _Clock:
    """Time spent in some functions, by label (the breakdown of import_run)."""

    def __init__(self):
        self.spent: dict[str, float] = {}

    def patch(self, owner, name: str, label):
        from unittest import mock

        original = getattr(owner, name)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                key = label(args)
                self.spent[key] = self.spent.get(key, 0.0) + time.perf_counter() - t0

        return mock.patch.object(owner, name, timed)


def child_import(client_id: int, csv_path: str, mode: str) -> dict:
    from concurrent.futures import Future
    from contextlib import ExitStack
    from unittest import mock

    from django.core.files.uploadedfile import UploadedFile
    from django.db import connection, connections
    from django.db.models.query import QuerySet

    from clients.models import Client
    from opsx import bulk
    from prospects import importing
    from prospects.models import ImportJob

    client = Client.objects.get(pk=client_id)
    actor = _admin(client)
    suffix = Path(csv_path).suffix
    t0 = time.perf_counter()
    with open(csv_path, "rb") as fh:
        upload = UploadedFile(
            fh, name=f"bench-import{suffix}", content_type="", size=os.path.getsize(csv_path)
        )
        job = importing.import_upload(client=client, actor=actor, upload=upload)
    upload_s = time.perf_counter() - t0
    mapping = VCF_MAPPING if suffix == ".vcf" else IMPORT_MAPPING
    # This process is the worker: import_start's on-commit enqueue is dropped and import_run
    # is called directly below, as the Celery task would.
    with mock.patch.object(importing.jobs, "_enqueue", lambda job_id: None):
        importing.import_start(job=job, actor=actor, mapping=mapping, on_duplicate="update")
    rss_first = {"bytes": 0}
    real_open_records = importing.pipeline.open_records

    def open_records_noting_memory(job, fileobj):
        """The peak RSS once a tenth of the rows was read (flat memory: it stays so)."""
        tenth = max(1, job.total_rows // 10)
        for k, record in enumerate(real_open_records(job, fileobj), 1):
            if k == tenth:
                rss_first["bytes"] = _proc_status().get("VmHWM", 0)
            yield record

    clock = _Clock()
    sql = {"s": 0.0, "n": 0}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]

    def sql_timer(execute, statement, params, many, context):
        t = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            sql["s"] += time.perf_counter() - t
            sql["n"] += 1

    with ExitStack() as stack:
        stack.enter_context(
            mock.patch.object(importing.pipeline, "open_records", open_records_noting_memory)
        )
        if mode == "time":  # a few perf_counter calls per batch or row: no measurable cost
            # The helper thread's work overlaps the writes: reported apart, not in the sum.
            stack.enter_context(
                clock.patch(importing.pipeline.Runner, "_check", lambda a: HELPER + "checking rows")
            )
            stack.enter_context(
                clock.patch(importing.ImportPlanner, "plan", lambda a: HELPER + "planning rows")
            )
            stack.enter_context(clock.patch(Future, "result", lambda a: "waiting for the helper"))
            stack.enter_context(
                clock.patch(
                    importing.ProspectWriter, "find", lambda a: "finding duplicates (SELECT)"
                )
            )
            for method in ("bulk_create", "bulk_update"):
                stack.enter_context(
                    clock.patch(QuerySet, method, lambda a, m=method: f"{m} {a[0].model.__name__}")
                )
            stack.enter_context(
                clock.patch(QuerySet, "_fetch_all", lambda a: "ORM reads (duplicate lookups, job)")
            )
            stack.enter_context(clock.patch(bulk, "copy_text_into", lambda a: f"COPY {a[0]}"))
            stack.enter_context(
                clock.patch(
                    importing.writer,
                    "update_from_stage",
                    lambda a: f"UPDATE {a[0].__name__} (with its COPY)",
                )
            )
            stack.enter_context(
                clock.patch(
                    connections["default"], "commit", lambda a: "COMMIT (deferred FK checks)"
                )
            )
            stack.enter_context(connection.execute_wrapper(sql_timer))
        maxrss_before = _maxrss_bytes()
        _reset_peak_rss()
        rss_start = _proc_status().get("VmRSS", 0)
        if mode == "tracemalloc":
            tracemalloc.start()
        profiler = cProfile.Profile() if mode == "profile" else None
        cpu = _cpu_seconds(backend_pid)
        t0 = time.perf_counter()
        if profiler:
            profiler.runcall(importing.import_run, job.pk)
        else:
            importing.import_run(job.pk)
        wall = time.perf_counter() - t0
        cpu = {k: v - cpu[k] for k, v in _cpu_seconds(backend_pid).items()}
        if profiler:
            profiler.dump_stats(os.environ["OPSX_BENCH_PROFILE"])
        peak = tracemalloc.get_traced_memory()[1] if mode == "tracemalloc" else 0
        tracemalloc.stop()
        rss_peak = _proc_status().get("VmHWM", 0)
    job = ImportJob.objects.get(pk=job.pk)
    return {
        "wall_s": wall,
        "cpu": cpu,
        "upload_s": upload_s,
        "breakdown": clock.spent,
        "sql_s": sql["s"],
        "sql_statements": sql["n"],
        "tracemalloc_peak": peak,
        "rss_start": rss_start,
        "rss_peak": rss_peak,
        "rss_first_10pct": rss_first["bytes"],
        "maxrss_before": maxrss_before,
        "maxrss_after": _maxrss_bytes(),
        "status": job.status,
        "failure_reason": job.failure_reason,
        "counts": {
            "created": job.created_count,
            "updated": job.updated_count,
            "merged": job.merged_count,
            "skipped": job.skipped_count,
            "errors": job.error_count,
            "warned": job.warned_count,
            "processed": job.processed_rows,
        },
    }


# --- CSV export --------------------------------------------------------------------------


def bench_export(client, media_root: str, *, traced: bool) -> list[JobResult]:
    timed = _run_child("export", str(client.pk), "time", media_root=media_root)
    if timed["rows"] != EXPORT_ROWS:
        raise RuntimeError(f"the export wrote {timed['rows']:,} rows, not {EXPORT_ROWS:,}")
    ok_time = timed["wall_s"] < TARGET_EXPORT_S
    # flat: the peak after 10% of the rows is (within noise) the peak of the whole export
    early, late = timed["rss_first_10pct"], timed["rss_peak"]
    flat = late <= early + 10 * 1024 * 1024
    details = [
        f"{_mb(timed['bytes'])} of CSV, {EXPORT_ROWS / timed['wall_s']:,.0f} rows/s"
        f" [{'PASS' if ok_time else 'OVER'}]",
        f"memory: RSS {_mb(timed['rss_start'])} at the start, peak {_mb(early)} after the first"
        f" 10% of rows, peak {_mb(late)} at the end (VmHWM) [{'flat' if flat else 'GROWS'}]",
    ]
    if traced:
        run = _run_child("export", str(client.pk), "tracemalloc", media_root=media_root)
        t_early, t_late = run["peak_first_10pct"], run["peak_rest"]
        flat_traced = t_late <= t_early * 1.25 + 2 * 1024 * 1024
        flat = flat and flat_traced
        details.append(
            f"memory: tracemalloc peak over the first 10% of rows {_mb(t_early)}, over the"
            f" other 90% {_mb(t_late)} [{'flat' if flat_traced else 'GROWS'}]"
        )
    return [
        JobResult(
            label=f"CSV export {EXPORT_ROWS:,} rows (export_rows)",
            wall_s=timed["wall_s"],
            target=f"< {TARGET_EXPORT_S} s, flat memory",
            ok=ok_time and flat,
            details=details,
        )
    ]


def child_export(client_id: int, mode: str) -> dict:
    from clients.models import Client
    from prospects.exporting import export_rows
    from prospects.models import Prospect
    from prospects.queries import custom_field_definitions

    client = Client.objects.get(pk=client_id)
    qs = Prospect.objects.for_client(client)  # every client has exactly 100,000 prospects
    definitions = custom_field_definitions(client)
    _reset_peak_rss()
    rss_start = _proc_status().get("VmRSS", 0)
    if mode == "tracemalloc":
        tracemalloc.start()
    n_bytes = lines = 0
    peak_first = rss_first = None
    t0 = time.perf_counter()
    for chunk in export_rows(client, qs, definitions):
        n_bytes += len(chunk.encode())
        lines += chunk.count("\r\n")
        if rss_first is None and lines > EXPORT_ROWS // 10:
            rss_first = _proc_status().get("VmHWM", 0)
            if mode == "tracemalloc":
                peak_first = tracemalloc.get_traced_memory()[1]
                tracemalloc.reset_peak()
    wall = time.perf_counter() - t0
    peak_rest = tracemalloc.get_traced_memory()[1] if mode == "tracemalloc" else 0
    tracemalloc.stop()
    return {
        "wall_s": wall,
        "bytes": n_bytes,
        "rows": lines - 1,
        "peak_first_10pct": peak_first or 0,
        "peak_rest": peak_rest,
        "rss_start": rss_start,
        "rss_first_10pct": rss_first or 0,
        "rss_peak": _proc_status().get("VmHWM", 0),
    }


# --- the report --------------------------------------------------------------------------


def print_report(meta: dict, pages: list[PageResult], jobs: list[JobResult], elapsed: float):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
    print()
    print(
        f"OpsX benchmark — database {generate.BENCH_DB}: {meta['clients']} clients,"
        f" {meta['prospects']:,} prospects, {meta['phones']:,} phones, {meta['visits']:,} visits;"
        f" PostgreSQL {version}, {os.cpu_count()} CPUs"
    )
    if pages:
        print(
            f"Pages: signed-in member of one client ({meta['prospects'] // meta['clients']:,}"
            f" prospects), {len(pages[0].times_ms)} timed requests each after 3 warm-up."
        )
        print(
            "time = django.test.Client.get() in-process, DEBUG off; SQL = time in"
            " cursor.execute; queries = SQL statements per request (BEGIN/COMMIT not counted)"
        )
        header = (
            f"{'measure':<34} {'median':>9} {'p95':>9} {'SQL med':>9} {'queries':>7}"
            f" {'rows':>5} {'target':>9}  result"
        )
        print()
        print(header)
        print("-" * len(header))
        first_counts = {}
        for r in pages:
            counts = sorted(set(r.queries))
            count_text = "/".join(map(str, counts))
            ok = r.median < r.target_ms
            extra = []
            if r.label.startswith("list"):
                sort = r.label.split(",")[0]
                if sort in first_counts:
                    same = first_counts[sort] == counts
                    ok = ok and same
                    extra.append("same queries as page 1" if same else "MORE QUERIES than page 1")
                else:
                    first_counts[sort] = counts
            if r.note:
                extra.append(r.note)
            print(
                f"{r.label:<34} {r.median:>6.1f} ms {r.p95:>6.1f} ms {statistics.median(r.sql_ms):>6.1f} ms"
                f" {count_text:>7} {r.rows:>5} {'< ' + str(r.target_ms) + ' ms':>9}"
                f"  {'PASS' if ok else 'OVER'}{'  (' + '; '.join(extra) + ')' if extra else ''}"
            )
    for job in jobs:
        print()
        print(
            f"{job.label:<40} {job.wall_s:>6.2f} s   target {job.target:<22}"
            f" {'PASS' if job.ok else 'OVER'}"
        )
        for line in job.details:
            print(f"    {line}")
    print()
    print(f"total bench time {elapsed:.0f} s")


# --- entry points --------------------------------------------------------------------------


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the data set first")
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="run the import once more under cProfile and write its stats to FILE (pstats)",
    )
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument(
        "--import-formats",
        default=",".join(IMPORT_FORMATS),
        help="the import cases to run, comma-separated: csv, xlsx, vcf (default: all three;"
        " `--import-formats csv` gives the figure comparable with runs before the others existed)",
    )
    parser.add_argument(
        "--import-rows",
        type=int,
        default=IMPORT_ROWS,
        help=f"rows of the csv and xlsx cases (default {IMPORT_ROWS:,}; a small number checks"
        " that the cases run)",
    )
    parser.add_argument(
        "--vcf-rows", type=int, default=VCF_ROWS, help=f"cards of the vcf case ({VCF_ROWS:,})"
    )
    parser.add_argument(
        "--profile-list",
        nargs="?",
        const="",
        metavar="FILE",
        help="only profile the list page (CPU per request, its SQL, cProfile's top functions);"
        " with FILE, also write the stats there (pstats)",
    )
    parser.add_argument(
        "--no-tracemalloc",
        action="store_true",
        help="skip the second import and export runs under tracemalloc (saves ~3 minutes)",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.import_formats.split(",") if f.strip()]
    if unknown := set(formats) - set(IMPORT_FORMATS):
        parser.error(f"unknown import format(s): {', '.join(sorted(unknown))}")

    if args.child:
        _bootstrap(os.environ["OPSX_BENCH_MEDIA_ROOT"])
        kind, *rest = args.child
        if kind == "import":
            result = child_import(int(rest[0]), rest[1], rest[2])
        else:
            result = child_export(int(rest[0]), rest[1])
        print(json.dumps(result))
        return

    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="opsx-bench-"))
    media_root = str(workdir / "media")
    try:
        generate.configure_environment(media_root)
        if generate.ensure_database():
            print(f"created database {generate.BENCH_DB}")
        _bootstrap(media_root)
        if args.profile_list is not None:
            # Reads only: ensure() would migrate and restore the import baseline, undoing an
            # import bench another process may be running on the same database.
            profile_list(_clients()[LIST_CLIENT], args.requests, args.profile_list)
            return
        meta = generate.ensure(force=args.regenerate)
        clients = _clients()
        print("benchmarking pages…", flush=True)
        pages = [] if args.skip_pages else bench_pages(clients[LIST_CLIENT], args.requests)
        jobs = []
        if not args.skip_import and "csv" in formats:
            print("benchmarking the CSV import (two runs, each restored)…", flush=True)
            jobs += bench_import(
                clients[IMPORT_CLIENT],
                workdir,
                media_root,
                traced=not args.no_tracemalloc,
                profile=args.profile,
                rows=args.import_rows,
            )
        for fmt in () if args.skip_import else [f for f in formats if f != "csv"]:
            print(f"benchmarking the {fmt} import (one run, restored)…", flush=True)
            rows = args.vcf_rows if fmt == "vcf" else args.import_rows
            jobs.append(bench_file_import(clients[IMPORT_CLIENT], workdir, media_root, fmt, rows))
        if not args.skip_export:
            print("benchmarking the CSV export…", flush=True)
            jobs += bench_export(clients[EXPORT_CLIENT], media_root, traced=not args.no_tracemalloc)
        print_report(meta, pages, jobs, time.perf_counter() - started)
        if args.explain:
            print_explains(pages)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
