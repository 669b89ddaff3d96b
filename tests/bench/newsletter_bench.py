"""OpsX benchmark: one newsletter issue to 100,000 confirmed subscribers. A script, not a test.

    .venv/bin/python tests/bench/newsletter_bench.py
    .venv/bin/python tests/bench/newsletter_bench.py --database-url postgres://postgres@127.0.0.1:5432/opsx_h3_bench --redis-url redis://127.0.0.1:6379/3
    .venv/bin/python tests/bench/newsletter_bench.py --subscribers 5000     # quick: check it runs

In its own database (created and migrated when missing; default `opsx_newsletter_bench`, never
the test or bench databases): 100,000 confirmed subscribers are inserted by one INSERT ...
SELECT; an SMTP sink (aiosmtpd) on loopback runs in a subprocess and only counts what it
accepts; a real Celery worker (prefork, concurrency 2) is started on Redis; then
`privacy.newsletter.send_issue` records the recipients and starts the batch, and the clock runs
until the sink has every message and no message of the batch is pending. Printed: the
recording time, the total seconds and messages per second, and the worker's memory: the peak
RSS (VmHWM) of each of its processes, and their RSS after the first 10% of the messages
against the end (flat memory: it grows by less than FLAT_MB). Targets: TARGET_S in all.
Everything the run wrote is deleted afterwards, so runs repeat.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TARGET_S = 300.0
FLAT_MB = 10
# Nothing reached the sink for this long: the run is reported as it stands (a chunk left to its
# lease would otherwise hold it for opsx.mail.BATCH_LEASE).
STALL_S = 60
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/opsx_newsletter_bench"
DOMAIN = "newsletter-bench.example"


# --- the SMTP sink (its own process: `--sink PORT FILE`) -----------------------------------


def run_sink(port: int, count_file: str) -> None:
    """Accept every message on 127.0.0.1:port and write how many to `count_file`, 5 times a
    second. Nothing is parsed or kept."""
    from aiosmtpd.controller import Controller

    class Counter:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Counter.count += 1
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    path = Path(count_file)
    try:
        while True:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(str(Counter.count))
            tmp.replace(path)
            time.sleep(0.2)
    finally:
        controller.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _count(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


# --- the worker's memory -------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemoryWatch(threading.Thread):
    """Polls the worker's processes (the main one and its pool children) every 0.2 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.hwm: dict[int, int] = {}  # pid -> VmHWM kB, the last read
        self.stop = threading.Event()

    def pids(self) -> list[int]:
        return [self.pid, *_children(self.pid)]

    def rss_mb(self) -> dict[int, float]:
        return {pid: _status_kb(pid, "VmRSS") / 1024 for pid in self.pids()}

    def run(self):
        while not self.stop.is_set():
            for pid in self.pids():
                self.hwm[pid] = max(self.hwm.get(pid, 0), _status_kb(pid, "VmHWM"))
            time.sleep(0.2)


# --- the run -------------------------------------------------------------------------------


def configure(database_url: str, redis_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "opsx.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    os.environ["CELERY_BROKER_URL"] = redis_url
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ["EMAIL_URL"] = "consolemail://"
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="opsx-newsletter-bench-")
    os.environ.setdefault("LOG_LEVEL", "WARNING")


def ensure_database(database_url: str) -> None:
    import psycopg

    server, _, name = database_url.rpartition("/")
    if name in {"opsx", "test_opsx", "opsx_bench"} or name.startswith("test_"):
        raise SystemExit(f"refusing to write benchmark data into {name!r}")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def cleanup() -> None:
    from opsx.models import MailBatch
    from privacy.models import NewsletterIssue, NewsletterSubscriber

    issues = NewsletterIssue.objects.filter(subject__startswith="Bench issue")
    batches = list(issues.exclude(batch=None).values_list("batch_id", flat=True))
    issues.delete()
    MailBatch.objects.filter(pk__in=batches).delete()  # cascades its messages
    NewsletterSubscriber.objects.filter(email__endswith="@" + DOMAIN).delete()


def add_subscribers(n: int) -> None:
    from django.db import connection

    from privacy import newsletter

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO privacy_newslettersubscriber
                (public_id, email, name, status, source, created_at, consented_at, consent_text)
            SELECT gen_random_uuid(), 'reader-' || i || '@' || %s, 'Reader ' || i, 'confirmed',
                'public_form', now(), now(), %s
            FROM generate_series(1, %s) AS i
            """,
            [DOMAIN, newsletter.CONSENT_TEXT, n],
        )
        cursor.execute("ANALYZE privacy_newslettersubscriber")


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    out = log.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "opsx", "worker", "--pool=prefork",
         "--concurrency=2", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return process


def wait_ready(process: subprocess.Popen, log: Path) -> None:
    """Wait until both pool processes run (the worker logs at WARNING: no "ready." line)."""
    deadline = time.monotonic() + 60
    while len(_children(process.pid)) < 2:
        if process.poll() is not None:
            raise SystemExit(f"the worker stopped:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise SystemExit(f"the worker is not ready:\n{log.read_text()}")
        time.sleep(0.2)
    time.sleep(2)  # the pool processes import Django and connect to the broker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sink", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--database-url", default=os.environ.get("NEWSLETTER_BENCH_DATABASE_URL", DEFAULT_DB)
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--subscribers", type=int, default=100_000)
    args = parser.parse_args()
    if args.sink:
        run_sink(int(args.sink[0]), args.sink[1])
        return

    configure(args.database_url, args.redis_url)
    ensure_database(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    from opsx import mail
    from opsx.celery import app as celery_app
    from opsx.models import OutboundMessage
    from privacy import newsletter
    from privacy.models import NewsletterIssue

    call_command("migrate", interactive=False, verbosity=0)
    cleanup()
    started = time.perf_counter()
    add_subscribers(args.subscribers)
    print(f"{args.subscribers:,} confirmed subscribers in {time.perf_counter() - started:.1f} s")

    tmp = Path(tempfile.mkdtemp(prefix="opsx-newsletter-bench-"))
    port, count_file = _free_port(), tmp / "count"
    sink = subprocess.Popen(
        [sys.executable, __file__, "--sink", str(port), str(count_file)], cwd=ROOT
    )
    env = {
        **os.environ,
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    celery_app.control.purge()
    worker = start_worker(env, tmp / "worker.log")
    watch = None
    try:
        wait_ready(worker, tmp / "worker.log")
        while not count_file.exists():
            time.sleep(0.1)
        watch = MemoryWatch(worker.pid)
        watch.start()
        celery_app.conf.task_always_eager = False
        issue = NewsletterIssue.objects.create(
            subject="Bench issue",
            body="# News\n\nHello **readers**, this is [the news](https://opsx.example/).\n\n"
            + "A paragraph of text that makes the body look like a real issue. " * 20,
        )
        started = time.perf_counter()
        newsletter.send_issue(issue, None)
        recorded = time.perf_counter() - started
        issue.refresh_from_db()
        print(f"send_issue recorded {issue.recipients:,} recipients in {recorded:.1f} s")
        early_rss = None
        deadline = started + 3 * TARGET_S
        received, last_at, beat_at, stalled = 0, started, started, False
        while received < args.subscribers:
            now = time.perf_counter()
            count = _count(count_file)
            if count != received:
                received, last_at = count, now
            if early_rss is None and received >= args.subscribers // 10:
                early_rss = watch.rss_mb()
            if worker.poll() is not None:
                raise SystemExit(f"the worker stopped:\n{(tmp / 'worker.log').read_text()}")
            if now - beat_at >= 60:  # what beat's mail_send_pending does every minute
                mail.resume_batches()
                beat_at = now
            if now > deadline or now - last_at > STALL_S:
                stalled = True
                break
            time.sleep(0.2)
        pending = OutboundMessage.objects.filter(batch=issue.batch_id, status="pending")
        while not stalled and pending.exists() and time.perf_counter() < deadline:
            time.sleep(0.2)
        total = (last_at if stalled else time.perf_counter()) - started
        end_rss = watch.rss_mb()
        watch.stop.set()
        progress = mail.batch_progress(issue.batch_id)
        if stalled:
            print(
                f"INCOMPLETE: the sink had {received:,} when nothing more arrived for "
                f"{STALL_S} s (or the deadline passed); the last one {total:.1f} s after the "
                f"start: {received / total:,.0f} messages/s"
            )
        else:
            print(
                f"sink received {received:,}; all recorded sent in {total:.1f} s: "
                f"{args.subscribers / total:,.0f} messages/s "
                f"(target < {TARGET_S:.0f} s: {'OK' if total < TARGET_S else 'MISSED'})"
            )
        print(f"batch progress: {progress}")
        print("worker processes (main first): peak RSS (VmHWM), RSS after 10% -> at the end")
        for pid in watch.pids():
            early = (early_rss or {}).get(pid, 0.0)
            end = end_rss.get(pid, 0.0)
            print(
                f"  pid {pid}: peak {watch.hwm.get(pid, 0) / 1024:6.1f} MB, "
                f"{early:6.1f} -> {end:6.1f} MB ({end - early:+.1f})"
            )
        grew = max((end_rss.get(p, 0) - (early_rss or {}).get(p, 0)) for p in end_rss)
        print(f"memory flat (grows < {FLAT_MB} MB): {'OK' if grew < FLAT_MB else 'MISSED'}")
    finally:
        if watch is not None:
            watch.stop.set()
        for process in (worker, sink):
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        celery_app.control.purge()
        cleanup()


if __name__ == "__main__":
    main()
