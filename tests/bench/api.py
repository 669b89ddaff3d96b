"""OpsX benchmark: the mobile API under gunicorn (2 workers) on the bench database. A script,
not a test.

    .venv/bin/python tests/bench/api.py
    .venv/bin/python tests/bench/api.py --database opsx_h5_bench --redis-url redis://127.0.0.1:6379/5
    .venv/bin/python tests/bench/api.py --prospects 100000   # a smaller data set (its own database!)

Measures, as the app calls them, with the session token of the first client's first member
and their active device:

- device registration, the same installation again (an update: POST /api/v1/devices);
- device registration of a new installation (a fresh session each time; the client's
  "replace" policy revokes the previous device);
- the prospects list, GET /api/v1/prospects?limit=50, when the API has it (else a note);
- a sync pull of 500 changes (GET /api/v1/sync?since=...&limit=500): 200 of the member's
  prospects and 200 of their visits changed, and 100 of their prospects given to the admin
  (100 tombstones), all after the cursor's floor; given back afterwards.

Time per request is measured by a client on loopback (new connection per request, as
gunicorn's sync workers close it), median and p95 of --requests requests after a warm-up;
the SQL statements per request are counted once, in this process, with Django's
CaptureQueriesContext (same code, same database). Target: median < 15 ms, and a constant
number of queries (the sync pull is also counted at 50 changes: the same statements).

The database (default `opsx_bench`, as tests/bench/run.py) is created, migrated and filled by
generate.py when missing; --prospects N builds N prospects and N visits instead of
1,000,000 (use another --database for it: generate.py rebuilds a data set of another size).
What the bench writes (devices, sessions, 500 changed rows) stays small. Redis: the bench's
db 14 unless --redis-url says otherwise.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # this folder, next to this file

ROOT = generate.ROOT
TARGET_MS = 15.0
SYNC_CHANGES = {"prospects": 200, "visits": 200, "tombstones": 100}
# The gunicorn workers and this process sign the cursors and read the sessions alike.
SECRET_KEY = "opsx-api-bench-" + "k3y" * 20
SERVER_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": SECRET_KEY,
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
    "CONN_MAX_AGE": "60",
    "LOG_LEVEL": "WARNING",
    "PYTHONWARNINGS": "ignore:No directory at",  # whitenoise: no collectstatic for an API bench
}


@dataclass
class Result:
    label: str
    times_ms: list[float]
    queries: int | None
    cpu_ms: float | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.times_ms, n=20, method="inclusive")[-1]


# --- set-up -------------------------------------------------------------------------------


def _configure(database: str, redis_url: str | None) -> None:
    generate.use_database(database, redis_url)
    generate.configure_environment()
    os.environ.update(SERVER_ENV)
    if generate.ensure_database():
        print(f"created database {database}")
    generate.setup_django()


def _member_and_admin():
    from accounts.models import User
    from clients.models import Client

    client = Client.objects.order_by("id").first()
    users = User.objects.for_client(client).order_by("id")
    member = users.filter(role=User.Role.MEMBER).first()
    admin = users.filter(role=User.Role.ADMIN).first()
    return client, member, admin


def _session_for(user) -> str:
    """A headless session token, as allauth's app login leaves one (its session key)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cached_db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "accounts.backends.AllauthBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def _signed_in_device(user, installation_id: str) -> str:
    from devices import services

    token = _session_for(user)
    details = services.DeviceDetails(installation_id=installation_id, platform="android")
    device = services.device_sign_in(user=user, session_key=token, details=details)
    assert device.status == "active", device.status
    return token


# --- the server ---------------------------------------------------------------------------


class Server:
    """gunicorn with 2 sync workers on loopback, started and stopped by this script."""

    def __init__(self, port: int, workers: int = 2):
        self.port = port
        self.workers = workers
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        command = [
            sys.executable, "-m", "gunicorn", "opsx.wsgi:application",
            "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
            "--log-level", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, _ = self.call("GET", "/api/v1/openapi.json")
                if status == 200:
                    return self
            except OSError:
                pass
            if self.process.poll() is not None:
                raise SystemExit("gunicorn exited; see its output above")
            time.sleep(0.2)
        raise SystemExit("gunicorn did not answer within 60 s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the workers finish and stop
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def call(self, method: str, path: str, *, token: str = "", body=None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"X-Session-Token": token} if token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def measure(self, n: int, method, path, *, token="", body=None, expect=200) -> list[float]:
        """Milliseconds per request, n of them."""
        times = []
        for _ in range(n):
            started = time.perf_counter()
            status, content = self.call(method, path, token=token, body=body)
            times.append((time.perf_counter() - started) * 1000)
            assert status == expect, (path, status, content[:300])
        return times


def _queries(method: str, path: str, *, token: str, body=None, expect=200) -> int:
    """SQL statements of one request, run in this process through the same stack."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        _in_process(method, path, token=token, body=body, expect=expect)
    return len([q for q in captured if q["sql"] not in {"BEGIN", "COMMIT", "ROLLBACK"}])


def _cpu_ms(method: str, path: str, *, token: str, body=None, expect=200, n=20) -> float:
    """Median CPU time of this process per request, in-process: a figure a busy machine
    (other processes on the cores) changes much less than the wall time of the requests."""
    times = []
    for _ in range(n):
        started = time.process_time()
        _in_process(method, path, token=token, body=body, expect=expect)
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def _in_process(method, path, *, token, body=None, expect=200):
    from django.test import Client as HttpClient

    http = HttpClient(HTTP_X_SESSION_TOKEN=token)
    call = getattr(http, method.lower())
    if body is None:
        response = call(path)
    else:
        response = call(path, json.dumps(body), content_type="application/json")
    assert response.status_code == expect, (path, response.status_code, response.content[:300])
    return response


# --- the sync pull's 500 changes ----------------------------------------------------------


def _sync_changes(client, member, admin, counts: dict[str, int]):
    """counts["prospects"] of the member's prospects and counts["visits"] of their visits
    changed, counts["tombstones"] prospects given to the admin, in one transaction, and a cursor
    whose floor is that transaction's id (as if the last pull's snapshot had been taken just
    before it; the server-wide xmin could be older, with another process's transaction open,
    and the pull would then hand out more). Fewer on a small data set. Returns the cursor, the
    counts the pull must hand out, and the ids to give back."""
    from django.db import connection, transaction
    from django.db.models.functions import Now

    from devices import sync
    from prospects.models import Prospect, Visit

    mine = Prospect.objects.for_client(client).filter(owner=member).order_by("id")
    ids = list(mine.values_list("id", flat=True)[: counts["prospects"] + counts["tombstones"]])
    changed, given = ids[: counts["prospects"]], ids[counts["prospects"] :]
    visits = list(
        Visit.objects.for_client(client)
        .filter(user=member)
        .order_by("id")
        .values_list("id", flat=True)[: counts["visits"]]
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            (txid,) = cursor.fetchone()
        Prospect.objects.filter(pk__in=changed).update(updated_at=Now())
        Visit.objects.filter(pk__in=visits).update(updated_at=Now())
        Prospect.objects.filter(pk__in=given).update(owner=admin)
    # As the server encodes the cursor at the end of a pull.
    since = sync.Cursor(user_id=member.pk, floor=txid, floor_at=time.time()).encode()
    expected = {"prospects": len(changed), "visits": len(visits), "tombstones": len(given)}
    return since, expected, given


def _give_back(given, member) -> None:
    from prospects.models import Prospect

    Prospect.objects.filter(pk__in=given).update(owner=member)


# --- the run -------------------------------------------------------------------------------


def run(args) -> list[Result]:
    import warnings

    from django.conf import settings

    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise, no collectstatic
    settings.DEBUG = False
    client, member, admin = _member_and_admin()
    token = _signed_in_device(member, f"bench-{uuid.uuid4().hex[:12]}")
    installation = {"installation_id": "", "platform": "android", "app_version": "2.4.1"}
    results = []
    n = args.requests
    with Server(args.port) as server:
        status, document = server.call("GET", "/api/v1/openapi.json")
        paths = json.loads(document)["paths"]
        # Warm-up: both workers load their code, caches and connections.
        for _ in range(10):
            server.call("GET", "/api/v1/me", token=token)

        # 1. the same installation again: an update
        from devices.models import Device

        device = Device.objects.get(session_key=token)
        again = {**installation, "installation_id": device.installation_id}
        server.measure(5, "POST", "/api/v1/devices", token=token, body=again)
        times = server.measure(n, "POST", "/api/v1/devices", token=token, body=again)
        results.append(
            Result(
                "device registration, same installation (update)",
                times,
                _queries("POST", "/api/v1/devices", token=token, body=again),
                _cpu_ms("POST", "/api/v1/devices", token=token, body=again),
            )
        )

        # 2. a new installation each time, signed in with a fresh session (untimed)
        times = []
        for _ in range(n):
            body = {**installation, "installation_id": f"bench-new-{uuid.uuid4().hex[:16]}"}
            times += server.measure(1, "POST", "/api/v1/devices", token=_session_for(member),
                                    body=body, expect=201)  # fmt: skip
        last_token = _session_for(member)
        new_body = {**installation, "installation_id": f"bench-new-{uuid.uuid4().hex[:16]}"}
        results.append(
            Result(
                "device registration, new installation",
                times,
                _queries("POST", "/api/v1/devices", token=last_token, body=new_body, expect=201),
                note="replaces the active device",
            )
        )
        token = last_token  # the member's active device now

        # 3. the prospects list, if the API has it
        if "/api/v1/prospects" in paths and "get" in paths["/api/v1/prospects"]:
            path = "/api/v1/prospects?limit=50"
            server.measure(5, "GET", path, token=token)
            times = server.measure(n, "GET", path, token=token)
            results.append(
                Result(
                    "prospects list, limit=50",
                    times,
                    _queries("GET", path, token=token),
                    _cpu_ms("GET", path, token=token),
                )
            )
        else:
            print("note: GET /api/v1/prospects is not in this branch's API: not measured")

        # 4. a sync pull of 500 changes
        since, expected, given = _sync_changes(client, member, admin, SYNC_CHANGES)
        try:
            path = f"/api/v1/sync?since={since}&limit=500"
            status, content = server.call("GET", path, token=token)
            assert status == 200, (status, content[:300])
            page = json.loads(content)
            got = {k: len(page[k]) for k in ("prospects", "visits", "tombstones")}
            assert got == expected and not page["has_more"], (got, expected)
            server.measure(5, "GET", path, token=token)
            times = server.measure(n, "GET", path, token=token)
            queries = _queries("GET", path, token=token)
            cpu = _cpu_ms("GET", path, token=token)
        finally:
            _give_back(given, member)
        # The same statements for a tenth of the rows, from each table too.
        small = {key: count // 10 for key, count in SYNC_CHANGES.items()}
        small_since, _, small_given = _sync_changes(client, member, admin, small)
        try:
            fewer = _queries("GET", f"/api/v1/sync?since={small_since}&limit=500", token=token)
        finally:
            _give_back(small_given, member)
        note = "the same at 50 changes" if fewer == queries else f"{fewer} at 50 changes"
        label = f"sync pull, {sum(expected.values())} changes"
        results.append(Result(label, times, queries, cpu, note=note))
    return results


def print_results(results: list[Result], *, prospects: int, requests: int) -> None:
    print(
        f"\nMobile API under gunicorn (2 workers), {prospects:,} prospects, "
        f"{requests} requests each, client on loopback; target median < {TARGET_MS:.0f} ms\n"
    )
    header = f"{'':50} {'median':>9} {'p95':>9} {'queries':>8} {'CPU':>8}  {'':4} note"
    print(header)
    print("-" * len(header))
    for r in results:
        ok = "ok" if r.median < TARGET_MS else "SLOW"
        cpu = f"{r.cpu_ms:6.2f}ms" if r.cpu_ms is not None else "-"
        print(
            f"{r.label:50} {r.median:7.2f}ms {r.p95:7.2f}ms {r.queries!s:>8} {cpu:>8}  {ok:4}"
            f" {r.note}"
        )
    print(
        "\nmedian, p95: wall time per request seen by the client; queries: SQL statements of"
        " one request;\nCPU: median CPU time of one request run in this process (same code and"
        " database), which other\nprocesses on the machine change much less than the wall time."
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=generate.BENCH_DB)
    parser.add_argument("--redis-url", default=None, help="default: the bench's Redis db 14")
    parser.add_argument("--prospects", type=int, default=generate.PROSPECTS)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    _configure(args.database, args.redis_url)
    started = time.perf_counter()
    meta = generate.ensure(prospects=args.prospects, visits=args.prospects)
    print(f"data ready in {time.perf_counter() - started:.1f} s", flush=True)
    results = run(args)
    print_results(results, prospects=meta["prospects"], requests=args.requests)


if __name__ == "__main__":
    main()
