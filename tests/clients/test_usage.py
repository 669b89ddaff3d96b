"""Usage statistics: requests counted per client and area, flushed into one row per client per
day without losing or repeating a count, and the daily figures measured from the data."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings
from django.urls import reverse

from clients import usage
from clients.models import UsageDay, UsageFlush
from opsx.models import OutboundMessage
from prospects.models import ImportJob, StoredFile, Visit
from tests.factories import ClientFactory, ProspectFactory, UserFactory


@pytest.fixture
def counter():
    """A fresh counter on the test Redis, with no batch left by another test."""
    usage._counter = None
    source = usage.counter()
    assert isinstance(source, usage.RedisCounter), "the suite runs on Redis"
    for key in source._redis.scan_iter(match=f"{usage.PREFIX}*"):
        source._redis.delete(key)
    yield source
    for key in source._redis.scan_iter(match=f"{usage.PREFIX}*"):
        source._redis.delete(key)
    usage._counter = None


@pytest.mark.parametrize(
    "path, area",
    [
        ("/app/prospects/", "prospects"),
        ("/app/prospects/0b6f4a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b/edit/", "prospects"),
        ("/app/prospects/visits/0b6f4a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b/", "visits"),
        ("/app/prospects/0b6f4a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b/visits/", "visits"),
        ("/app/prospects/visits/0b6f4a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b/files/", "files"),
        ("/app/prospects/library/", "files"),
        ("/app/prospects/files/0b6f4a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b/", "files"),
        ("/app/prospects/imports/", "imports"),
        ("/app/admin-tasks/users/", "admin_tasks"),
        ("/api/v1/prospects", "api"),
        ("/_allauth/app/v1/auth/login", "api"),
        ("/app/account/", "other"),
        ("/", "other"),
    ],
)
def test_each_path_counts_in_its_product_area(path, area):
    assert usage.area_of(path) == area


@pytest.mark.django_db
def test_a_signed_in_users_requests_are_counted_in_their_clients_row(client, counter):
    member = UserFactory()
    client.force_login(member)
    assert client.get(reverse("prospects:list")).status_code == 200
    assert client.get(reverse("prospects:list")).status_code == 200
    assert client.get(reverse("prospects:library")).status_code == 200
    client.logout()
    assert client.get(reverse("home")).status_code == 200  # a visitor: nobody's usage

    assert usage.usage_flush() == 1
    row = UsageDay.objects.get(client=member.client)
    assert row.day == datetime.now(UTC).date()
    assert (row.requests_prospects, row.requests_files, row.requests_other) == (2, 1, 0)
    assert row.server_us_prospects > 0 and row.server_us_files > 0
    assert UsageDay.objects.count() == 1
    # Flushed: a second flush adds nothing.
    assert usage.usage_flush() == 0
    row.refresh_from_db()
    assert row.requests_prospects == 2


@pytest.mark.django_db
def test_the_mobile_apps_requests_count_under_the_api(client, counter):
    from tests.devices.helpers import api, signed_in_device

    member = UserFactory()
    token = signed_in_device(client, member)
    counter._redis.delete(*counter._redis.keys(f"{usage.PREFIX}*") or ["-"])  # the sign-in
    assert api(client, "get", "/api/v1/me", token).status_code == 200
    assert api(client, "get", "/api/v1/prospects", token).status_code == 200
    usage.usage_flush()
    row = UsageDay.objects.get(client=member.client)
    assert (row.requests_api, row.requests_prospects) == (2, 0)


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_and_flushes_lose_no_increment(counter):
    clients = [ClientFactory(), ClientFactory()]
    today = datetime.now(UTC).date()
    threads, per_thread = 6, 400

    def count(client_id):
        for _ in range(per_thread):
            counter.add(today, client_id, "visits", 10)

    stop = threading.Event()

    def flush_repeatedly():
        from django.db import connection

        while not stop.is_set():
            usage.usage_flush()
        connection.close()

    flusher = threading.Thread(target=flush_repeatedly)
    flusher.start()
    workers = [threading.Thread(target=count, args=(clients[i % 2].pk,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    flusher.join()
    usage.usage_flush()

    rows = {r.client_id: r for r in UsageDay.objects.filter(day=today)}
    expected = threads // 2 * per_thread
    assert [rows[c.pk].requests_visits for c in clients] == [expected, expected]
    assert [rows[c.pk].server_us_visits for c in clients] == [expected * 10, expected * 10]


@pytest.mark.django_db
def test_a_flush_that_dies_after_its_commit_does_not_add_the_batch_twice(counter, monkeypatch):
    tenant = ClientFactory()
    today = datetime.now(UTC).date()
    for _ in range(5):
        counter.add(today, tenant.pk, "api", 100)

    def die(key):
        raise ConnectionError("the worker died before deleting the batch")

    monkeypatch.setattr(counter, "done", die)
    with pytest.raises(ConnectionError):
        usage.usage_flush()
    monkeypatch.undo()
    assert UsageDay.objects.get(client=tenant).requests_api == 5
    # The batch is still in Redis under its draining name: the next flush takes it again,
    # sees it was added, and only deletes it.
    assert list(counter._redis.scan_iter(match=f"{usage.PREFIX}*:draining:*"))
    assert usage.usage_flush() == 0
    assert UsageDay.objects.get(client=tenant).requests_api == 5
    assert not list(counter._redis.scan_iter(match=f"{usage.PREFIX}*"))
    assert UsageFlush.objects.count() == 1


@pytest.mark.django_db
def test_a_deleted_clients_counts_are_dropped_not_an_error(counter):
    kept, gone = ClientFactory(), ClientFactory()
    today = datetime.now(UTC).date()
    counter.add(today, kept.pk, "prospects", 1)
    counter.add(today, gone.pk, "prospects", 1)
    gone.delete()
    assert usage.usage_flush() == 1
    assert list(UsageDay.objects.values_list("client_id", flat=True)) == [kept.pk]


def test_redis_down_pauses_counting_without_failing_the_request(caplog):
    down = usage.RedisCounter("redis://127.0.0.1:1/0")
    down.add(date.today(), 1, "prospects", 5)  # logged, not raised
    assert "usage counting paused" in caplog.text
    caplog.clear()
    down.add(date.today(), 1, "prospects", 5)  # paused: not even tried
    assert caplog.text == ""


def test_without_redis_each_process_counts_in_memory_and_adds_its_counts(db, settings):
    tenant = ClientFactory()
    settings.USAGE_FLUSH_SECONDS = 3600
    memory = usage.MemoryCounter()
    usage._counter = memory
    try:
        today = datetime.now(UTC).date()
        for _ in range(3):
            memory.add(today, tenant.pk, "imports", 7)
        assert not UsageDay.objects.exists()  # not due yet
        settings.USAGE_FLUSH_SECONDS = 0
        memory.add(today, tenant.pk, "imports", 7)  # due: this request adds them
        row = UsageDay.objects.get(client=tenant)
        assert (row.requests_imports, row.server_us_imports) == (4, 28)
    finally:
        usage._counter = None


@pytest.mark.django_db
def test_the_daily_job_measures_each_clients_figures(counter):
    day = date(2026, 11, 30)
    noon = datetime(2026, 11, 30, 12, tzinfo=UTC)
    a, b = ClientFactory(storage_bytes=5000), ClientFactory()
    ann = UserFactory(client=a, email="ann@a.example")
    UserFactory(client=a, last_login=noon - timedelta(days=40))  # not active
    UserFactory(client=a, is_active=False, last_login=noon)  # deactivated: not counted
    ann.last_login = noon - timedelta(days=2)
    ann.save(update_fields=["last_login"])
    UserFactory(client=b, last_login=noon)
    prospect = ProspectFactory(client=a, owner=ann)
    ProspectFactory(client=a)
    Visit.objects.create(client=a, prospect=prospect, user=ann, created_by=ann)
    StoredFile.objects.create(
        client=a, name="x.txt", content_type="text/plain", size=10, blob="b/x", uploaded_by=ann
    )
    ImportJob.objects.create(
        client=a,
        created_by=ann,
        headers=["Name"],
        status=ImportJob.Status.DONE,
        finished_at=noon,
        created_count=7,
        updated_count=2,
        merged_count=1,
    )
    ImportJob.objects.create(  # finished the day before: another day's figure
        client=a,
        created_by=ann,
        headers=["Name"],
        status=ImportJob.Status.DONE,
        finished_at=noon - timedelta(days=1),
        created_count=50,
    )
    for when, to in [(noon, ann.email), (noon, ann.email), (noon - timedelta(days=1), ann.email)]:
        OutboundMessage.objects.create(
            category="account",
            to_email=to,
            from_email="opsx@example.com",
            subject="Hi",
            status=OutboundMessage.Status.SENT,
            sent_at=when,
            next_attempt_at=when,
        )
    counter.add(day, a.pk, "prospects", 100)
    usage.usage_flush()

    assert usage.usage_record_day(day) == 2
    row_a = UsageDay.objects.get(client=a, day=day)
    figures = {f: getattr(row_a, f) for f in usage.STOCK_FIELDS}
    assert figures == {
        "users": 2,
        "active_users": 1,
        "prospects": 2,
        "visits": 1,
        "files": 1,
        "bytes_stored": 5000,
        "imports": 1,
        "rows_imported": 10,
        "mail_sent": 2,
    }
    assert row_a.requests_prospects == 1  # the counts stay
    row_b = UsageDay.objects.get(client=b, day=day)
    assert (row_b.users, row_b.active_users, row_b.prospects) == (1, 1, 0)

    # Run again after a change: the figures are overwritten, the counts kept.
    ProspectFactory(client=a)
    usage.usage_record_day(day)
    row_a.refresh_from_db()
    assert (row_a.prospects, row_a.requests_prospects) == (3, 1)


def test_the_jobs_are_on_the_beat_schedule():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"clients.tasks.usage_flush", "clients.tasks.usage_record_day"} <= tasks


@pytest.mark.django_db
def test_the_record_day_task_defaults_to_yesterday(counter):
    from clients.tasks import usage_record_day

    tenant = ClientFactory()
    assert usage_record_day.delay().get() >= 1
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert UsageDay.objects.filter(client=tenant, day=yesterday).exists()
    assert usage_record_day.delay("2026-01-05").get() >= 1
    assert UsageDay.objects.filter(client=tenant, day=date(2026, 1, 5)).exists()
