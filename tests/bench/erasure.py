"""OpsX benchmark: erasing a heavy user (privacy.erasure.user_erase). A script, not a test.

    .venv/bin/python tests/bench/erasure.py
    .venv/bin/python tests/bench/erasure.py --database-url postgres://postgres@127.0.0.1:5432/opsx_h2_bench

Builds, in a fresh client of its own database (created and migrated when missing; default
`opsx_erasure_bench`, never the test or bench databases), one user with 10,000 prospect
timeline events, 1,000 visits, 500 files (tiny, on a throw-away MEDIA_ROOT), 100 prospects,
2,000 audit events, 200 sent mails, 50 profile revisions, 20 sessions and 20 privacy
requests, all with bulk_create; a bystander in the same client with a little of each. Then
times user_erase and prints the wall time, the SQL statements and the counts, against the
target (TARGET_S). The client's Client Data is deleted afterwards (its audit events cannot
be: the trail refuses deletes), so runs repeat.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TARGET_S = 10.0
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/opsx_erasure_bench"


def configure(database_url: str, redis_url: str, media_root: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "opsx.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    os.environ["CELERY_BROKER_URL"] = redis_url
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ["EMAIL_URL"] = "consolemail://"
    os.environ["MEDIA_ROOT"] = media_root
    os.environ.setdefault("LOG_LEVEL", "WARNING")


def ensure_database(database_url: str) -> None:
    import psycopg

    server, _, name = database_url.rpartition("/")
    if name in {"opsx", "test_opsx", "opsx_bench"} or name.startswith("test_"):
        raise SystemExit(f"refusing to write benchmark data into {name!r}")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def build(*, events: int, visits: int, files: int):
    """The heavy user and a bystander, in a new client. Returns (client, user, bystander)."""
    from allauth.account.models import EmailAddress
    from allauth.usersessions.models import UserSession
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from accounts.models import ProfileRevision, User
    from clients.models import AuditEvent, Client
    from opsx.models import OutboundMessage
    from privacy.models import PrivacyRequest
    from prospects.models import Folder, Prospect, ProspectEvent, StoredFile, Visit

    now = timezone.now()
    tag = uuid.uuid4().hex[:8]
    client = Client.objects.create(
        name=f"Erasure bench {tag}", slug=f"erasure-bench-{tag}", contact_email=f"c-{tag}@x.test"
    )
    user = User.objects.create_user(
        f"heavy-{tag}@erase.test", "pw", full_name="Heavy User", client=client, role="admin"
    )
    bystander = User.objects.create_user(
        f"bystander-{tag}@erase.test", "pw", full_name="Bystander", client=client
    )
    for person in (user, bystander):
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)

    def prospect(i, owner):
        p = Prospect(client=client, name=f"Prospect {i}", owner=owner, created_by=owner)
        p.refresh_derived()
        return p

    prospects = Prospect.objects.bulk_create(
        [prospect(i, user) for i in range(100)] + [prospect(i, bystander) for i in range(10)]
    )
    mine = prospects[:100]
    ProspectEvent.objects.bulk_create(
        [
            ProspectEvent(
                client=client, prospect=mine[i % 100], kind="note", actor=user, at=now, text="n"
            )
            for i in range(events)
        ]
        + [
            ProspectEvent(
                client=client, prospect=prospects[-1], kind="note", actor=bystander, at=now
            )
            for _ in range(10)
        ],
        batch_size=2000,
    )
    Visit.objects.bulk_create(
        [
            Visit(client=client, prospect=mine[i % 100], user=user, created_by=user)
            for i in range(visits)
        ],
        batch_size=1000,
    )
    folder = Folder.objects.create(client=client, name=f"Files {tag}", created_by=user)
    blobs = [default_storage.save(f"bench/{tag}/{i}.txt", _tiny()) for i in range(files)]
    StoredFile.objects.bulk_create(
        [
            StoredFile(
                client=client,
                name=f"file-{i}.txt",
                content_type="text/plain",
                size=2,
                blob=blob,
                folder=folder,
                uploaded_by=user,
            )
            for i, blob in enumerate(blobs)
        ],
        batch_size=500,
    )
    # The trail is written by clients.audit.record alone; a bench may insert its rows directly.
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                client=client,
                actor=user,
                actor_kind="user",
                action="prospect.updated",
                target_type="prospects.prospect",
                target_id=mine[i % 100].public_id,
                ip_address="203.0.113.7",
            )
            for i in range(2000)
        ],
        batch_size=1000,
    )
    OutboundMessage.objects.bulk_create(
        [
            OutboundMessage(
                to_email=user.email,
                from_email="opsx@x.test",
                subject="Hello",
                category="service",
                status="sent",
                next_attempt_at=now,
                sent_at=now,
            )
            for _ in range(200)
        ]
    )
    ProfileRevision.objects.bulk_create(
        [
            ProfileRevision(
                user=user,
                field="email",
                old_value=f"old{i}-{tag}@erase.test",
                new_value=user.email,
                changed_by=user,
            )
            for i in range(50)
        ]
    )
    UserSession.objects.bulk_create(
        [
            UserSession(user=user, session_key=uuid.uuid4().hex, ip="203.0.113.7", user_agent="b")
            for _ in range(20)
        ]
    )
    PrivacyRequest.objects.bulk_create(
        [
            PrivacyRequest(
                kind="access",
                channel="account",
                requester=user,
                requester_email=user.email,
                requester_name=user.full_name,
                details="details",
                received_at=now,
                due_at=now + timedelta(days=30),
            )
            for _ in range(20)
        ]
    )
    return client, user, bystander


def _tiny():
    from django.core.files.base import ContentFile

    return ContentFile(b"x\n")


def cleanup(client) -> None:
    from prospects.models import Folder, Prospect, StoredFile

    StoredFile.objects.filter(client=client).delete()
    Folder.objects.filter(client=client).delete()
    Prospect.objects.filter(client=client).delete()  # cascades visits and timeline events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("ERASURE_BENCH_DATABASE_URL", DEFAULT_DB)
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--visits", type=int, default=1_000)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="leave the client's data in place")
    args = parser.parse_args()

    media_root = tempfile.mkdtemp(prefix="opsx-erasure-bench-")
    configure(args.database_url, args.redis_url, media_root)
    ensure_database(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from privacy.erasure import user_erase
    from prospects.models import ProspectEvent

    call_command("migrate", interactive=False, verbosity=0)
    started = time.perf_counter()
    client, user, bystander = build(events=args.events, visits=args.visits, files=args.files)
    print(f"built the heavy user in {time.perf_counter() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        counts = user_erase(user=user, actor=None, reason="deletion_request")
        elapsed = time.perf_counter() - started

    assert not User.objects.filter(pk=user.pk).exists()
    assert ProspectEvent.objects.filter(client=client, actor=bystander).count() == 10
    assert ProspectEvent.objects.filter(client=client, actor=None).count() == args.events
    print(
        f"user_erase: {elapsed:.2f} s, {len(queries.captured_queries)} SQL statements "
        f"(target < {TARGET_S:.0f} s: {'OK' if elapsed < TARGET_S else 'MISSED'})"
    )
    for label, n in sorted(counts.items()):
        if n:
            print(f"  {label:32} {n:>7,}")
    slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:5]
    print("slowest statements:")
    for q in slowest:
        print(f"  {float(q['time']) * 1000:8.1f} ms  {q['sql'][:110]}")
    if not args.keep:
        cleanup(client)


if __name__ == "__main__":
    main()
