"""The offline sync pull, GET /api/v1/sync: a first sync, paged pulls of what changed since a
cursor (thousands of changes), tombstones for what left a user's set, rows committed late by
a long transaction, other clients' rows, bad cursors and limits, and a constant number of
queries per page.

Every test commits (transaction=True): the cursor rests on which transactions had ended, and
a test's wrapping transaction would never end. The snapshot's xmin is the whole PostgreSQL
server's, so another test run's open transaction may lower a floor: a row may then come again
in a later pull (which the design allows), so the tests never assert that an unchanged row
stays away, only that nothing is missing and nothing comes twice within one pull."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clients.tenancy import tenant_scope
from devices import sync
from prospects import services as prospect_services
from prospects.models import Prospect, SyncTombstone, Visit
from prospects.tasks import prospects_tombstones_expire
from tests.factories import ProspectFactory

from .helpers import api, signed_in_device

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/sync"


def pull(client, token, since=None, limit=None):
    params = []
    if since is not None:
        params.append(f"since={since}")
    if limit is not None:
        params.append(f"limit={limit}")
    return api(client, "get", URL + ("?" + "&".join(params) if params else ""), token)


def pull_all(client, token, since=None, limit=None) -> list[dict]:
    """Every page of one pull, until has_more is false."""
    pages = []
    while True:
        response = pull(client, token, since=since, limit=limit)
        assert response.status_code == 200, response.content
        page = response.json()
        pages.append(page)
        if not page["has_more"]:
            return pages
        since = page["cursor"]
        assert len(pages) < 1000, "the pull does not end"


def ids(pages, key) -> list[str]:
    return [row["id"] for page in pages for row in page[key]]


def tombstones(pages) -> list[tuple[str, str]]:
    return [(t["kind"], t["id"]) for page in pages for t in page["tombstones"]]


def make_prospects(client, owner, n, *, label="P") -> list[Prospect]:
    """n prospects in one transaction (one sync_txid), their derived fields as the services
    fill them."""
    rows = []
    for i in range(n):
        prospect = Prospect(client=client, owner=owner, name=f"{label} {i}")
        prospect.refresh_derived()
        rows.append(prospect)
    with transaction.atomic():
        return Prospect.objects.bulk_create(rows)


def make_visits(prospects, user) -> list[Visit]:
    with transaction.atomic():
        return Visit.objects.bulk_create(
            Visit(client_id=p.client_id, prospect=p, user=user, created_by=user) for p in prospects
        )


def public(rows) -> set[str]:
    return {str(row.public_id) for row in rows}


def test_a_first_sync_hands_out_my_prospects_and_visits_and_nothing_else(client, personas):
    bob, alice, dan = personas.bob, personas.alice, personas.dan
    mine = ProspectFactory(client=personas.client_a, owner=bob, phones=["+919876543210"])
    also_mine = ProspectFactory(client=personas.client_a, owner=bob)
    ProspectFactory(client=personas.client_a, owner=alice)
    ProspectFactory(client=personas.client_a, owner=None)
    ProspectFactory(client=personas.client_b, owner=dan)
    visit = prospect_services.visit_plan(
        prospect=also_mine, actor=alice, user=bob, scheduled_at=timezone.now()
    )
    prospect_services.visit_plan(prospect=mine, actor=alice, user=alice, scheduled_at=None)
    token = signed_in_device(client, bob)

    [page] = pull_all(client, token)

    assert {p["id"] for p in page["prospects"]} == public([mine, also_mine])
    row = next(p for p in page["prospects"] if p["id"] == str(mine.public_id))
    assert row["phones"] == ["+919876543210"]
    assert row["owner_id"] == str(bob.public_id)
    mine.refresh_from_db()
    assert row["version"] == str(mine.sync_txid) and mine.sync_txid > 0
    [visit_row] = page["visits"]
    assert visit_row["id"] == str(visit.public_id)
    assert visit_row["prospect_id"] == str(also_mine.public_id)
    assert visit_row["prospect_name"] == also_mine.name
    assert visit_row["user_id"] == str(bob.public_id)
    assert page["tombstones"] == [] and page["has_more"] is False
    assert page["cursor"]


def test_the_rows_are_the_apis_prospect_and_visit_shapes(client, personas):
    """The pull writes its rows itself (for speed); they are exactly what ProspectOut and
    VisitOut (schemas.prospect_out, visit_out) give through django-ninja."""
    import datetime
    import decimal
    import json

    from ninja.responses import NinjaJSONEncoder

    from devices.api.schemas import ProspectOut, VisitOut, prospect_out, visit_out
    from prospects.models import Checklist

    bob, client_a = personas.bob, personas.client_a
    full = ProspectFactory(
        client=client_a, owner=bob, phones=["+919876543210", "+919812345678"],
        address_line1="12 MG Road", city="Pune", state="MH", postal_code="411001",
        country="IN", latitude=decimal.Decimal("18.520430"), longitude=decimal.Decimal("-73.5"),
        status="customer", source="fair", tags=["vip", "north"], notes="<b>ok</b> ünïcode",
        custom={"region": "West", "outlets": 3},
    )  # fmt: skip
    bare = ProspectFactory(client=client_a, owner=bob)
    # a time without microseconds: DjangoJSONEncoder writes no fraction then
    round_time = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    Prospect.objects.filter(pk=bare.pk).update(created_at=round_time)
    checklist = Checklist.objects.create(client=client_a, name="Shelf", items=[])
    now = timezone.now()
    visit = Visit.objects.create(
        client=client_a, prospect=full, user=bob, status="done", scheduled_at=now,
        checked_in_at=now, check_in_latitude=decimal.Decimal("18.5"),
        check_in_longitude=decimal.Decimal("73.8"), checked_out_at=now,
        check_out_latitude=decimal.Decimal("18.500001"), check_out_longitude=None,
        outcome="order", report="Took an order", checklist=checklist, answers={"done": True},
    )  # fmt: skip
    plain = Visit.objects.create(client=client_a, prospect=bare, user=bob)
    token = signed_in_device(client, bob)

    [page] = pull_all(client, token)

    def through_ninja(schema, data):
        dumped = schema.model_validate(data).model_dump()
        return json.loads(json.dumps(dumped, cls=NinjaJSONEncoder))

    by_id = {row["id"]: row for row in page["prospects"] + page["visits"]}
    for prospect in Prospect.objects.filter(pk__in=[full.pk, bare.pk]).select_related("owner"):
        expected = through_ninja(ProspectOut, prospect_out(prospect))
        assert by_id[expected["id"]] == expected
    for v in Visit.objects.filter(pk__in=[visit.pk, plain.pk]).select_related(
        "prospect", "user", "checklist"
    ):
        expected = through_ninja(VisitOut, visit_out(v))
        assert by_id[expected["id"]] == expected
    assert by_id[str(bare.public_id)]["created_at"] == "2026-01-02T03:04:05Z"


def test_without_postgresql_the_orm_writes_the_same_rows(client, personas, monkeypatch):
    """The embedded default (SQLite) reads through the ORM: the same rows, written alike."""
    import json

    bob, client_a = personas.bob, personas.client_a
    prospects = make_prospects(client_a, bob, 3)
    ProspectFactory(
        client=client_a, owner=bob, phones=["+919876543210", "+919812345678"], tags=["a"],
        latitude="12.500000", longitude="-0.000001", custom={"n": 1}, notes="ü <b>",
    )  # fmt: skip
    make_visits(prospects, bob)
    token = signed_in_device(client, bob)
    [by_sql] = pull_all(client, token)
    monkeypatch.setattr(sync, "_postgres", lambda: False)
    [by_orm] = pull_all(client, token)

    def rows(page):
        dump = lambda row: json.dumps(row, sort_keys=True)  # noqa: E731
        return {key: sorted(map(dump, page[key])) for key in ("prospects", "visits")}

    assert rows(by_orm) == rows(by_sql)
    assert len(by_sql["prospects"]) == 4 and len(by_sql["visits"]) == 3


def test_5000_changes_come_in_pages_each_once(client, personas):
    bob, alice, client_a = personas.bob, personas.alice, personas.client_a
    start = make_prospects(client_a, bob, 1500, label="Old")
    old_visits = make_visits(start[:500], bob)
    token = signed_in_device(client, bob)
    first = pull_all(client, token, limit=500)
    assert len(ids(first, "prospects")) == 1500 and len(ids(first, "visits")) == 500
    cursor = first[-1]["cursor"]

    # 5,000 changes in 12 transactions: 2,000 new prospects, 1,000 old ones updated (low ids,
    # new transaction ids: the keyset is on (sync_txid, id)), 1,500 new visits, 300 deleted
    # and 200 given to Alice (500 tombstones).
    new = []
    for batch in range(4):
        new += make_prospects(client_a, bob, 500, label=f"New {batch}")
    updated = start[:1000]
    for half in (updated[:500], updated[500:]):
        Prospect.objects.filter(pk__in=[p.pk for p in half]).update(status="contacted")
    visits = []
    for batch in range(3):
        visits += make_visits(new[batch * 500 : (batch + 1) * 500], bob)
    deleted, reassigned = start[1000:1300], start[1300:]
    Prospect.objects.filter(pk__in=[p.pk for p in deleted]).delete()
    Prospect.objects.filter(pk__in=[p.pk for p in reassigned]).update(owner=alice)

    pages = pull_all(client, token, since=cursor, limit=500)

    got_prospects, got_visits = ids(pages, "prospects"), ids(pages, "visits")
    got_tombstones = tombstones(pages)
    assert len(got_prospects) == len(set(got_prospects)), "a prospect came twice in one pull"
    assert len(got_visits) == len(set(got_visits)), "a visit came twice in one pull"
    assert len(got_tombstones) == len(set(got_tombstones))
    assert set(got_prospects) >= public(new) | public(updated)
    # Nothing else but (at most) an unchanged prospect sent again; never a deleted one.
    assert set(got_prospects) - public(new) - public(updated) <= public(start[:1000])
    assert set(got_visits) >= public(visits)
    assert set(got_visits) - public(visits) <= public(old_visits)
    assert set(got_tombstones) == {("prospect", p) for p in public(deleted) | public(reassigned)}
    assert all(len(p["prospects"]) + len(p["visits"]) + len(p["tombstones"]) <= 500 for p in pages)
    assert sum(len(p["prospects"]) + len(p["visits"]) + len(p["tombstones"]) for p in pages) >= 5000
    assert [p["has_more"] for p in pages] == [True] * (len(pages) - 1) + [False]
    assert len(pages) >= 10


def test_a_row_written_after_the_cursor_comes_next_time(client, personas):
    bob = personas.bob
    [old] = make_prospects(personas.client_a, bob, 1, label="Old")
    token = signed_in_device(client, bob)
    cursor = pull_all(client, token)[-1]["cursor"]

    [new] = make_prospects(personas.client_a, bob, 1, label="New")
    Prospect.objects.filter(pk=old.pk).update(notes="Called on Monday.")
    pages = pull_all(client, token, since=cursor)

    assert set(ids(pages, "prospects")) == public([old, new])
    row = next(r for page in pages for r in page["prospects"] if r["id"] == str(old.public_id))
    assert row["notes"] == "Called on Monday."
    # and once more with the newest cursor: still there if changed again, no error
    Prospect.objects.filter(pk=new.pk).update(notes="Again.")
    again = pull_all(client, token, since=pages[-1]["cursor"])
    assert str(new.public_id) in ids(again, "prospects")


def test_a_row_changed_during_a_paged_pull_comes_once_then_in_the_next_pull(client, personas):
    bob = personas.bob
    rows = make_prospects(personas.client_a, bob, 6)
    token = signed_in_device(client, bob)
    page = pull(client, token, limit=2).json()
    assert page["has_more"] is True
    sent = page["prospects"][0]["id"]
    Prospect.objects.filter(public_id=sent).update(notes="Changed mid-pull.")
    # The rest of this pull: bounded by the first page's snapshot, so the changed row does not
    # come a second time in the same pull...
    rest = pull_all(client, token, since=page["cursor"], limit=2)
    pulled = [r["id"] for r in page["prospects"]] + ids(rest, "prospects")
    assert sorted(pulled) == sorted(public(rows))
    # ... but in the next one, with the change.
    following = pull_all(client, token, since=rest[-1]["cursor"])
    row = next(r for p in following for r in p["prospects"] if r["id"] == sent)
    assert row["notes"] == "Changed mid-pull."


def test_a_long_transaction_that_commits_after_a_pull_is_not_skipped(client, personas):
    bob, client_a = personas.bob, personas.client_a
    token = signed_in_device(client, bob)
    cursor = pull_all(client, token)[-1]["cursor"]
    written, release = threading.Event(), threading.Event()
    slow = {}

    def long_transaction():
        # Its own database connection (Django gives each thread one).
        try:
            with transaction.atomic():
                [prospect] = make_prospects(client_a, bob, 1, label="Slow")
                slow["id"] = str(prospect.public_id)
                written.set()
                assert release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=long_transaction)
    thread.start()
    try:
        assert written.wait(30)
        # Begun and committed after the slow one wrote: a higher transaction id. A cursor of
        # "the highest id seen" would now pass the slow one by.
        [quick] = make_prospects(client_a, bob, 1, label="Quick")
        during = pull_all(client, token, since=cursor)
        assert str(quick.public_id) in ids(during, "prospects")
        assert slow["id"] not in ids(during, "prospects")  # not committed yet
    finally:
        release.set()
        thread.join(30)
    after = pull_all(client, token, since=during[-1]["cursor"])
    assert slow["id"] in ids(after, "prospects")


def test_deleting_and_reassigning_give_tombstones_to_the_previous_owner_only(client, personas):
    bob, alice, client_a = personas.bob, personas.alice, personas.client_a
    erased, given, kept = make_prospects(client_a, bob, 3)
    [visit_on_erased] = make_visits([erased], bob)
    [moved_visit] = make_visits([kept], bob)
    bob_token = signed_in_device(client, bob, installation_id="install-bob")
    alice_token = signed_in_device(client, alice, installation_id="install-alice")
    bob_cursor = pull_all(client, bob_token)[-1]["cursor"]
    alice_cursor = pull_all(client, alice_token)[-1]["cursor"]

    with tenant_scope(client_a):
        prospect_services.prospect_erase(prospect=erased, actor=alice)
        prospect_services.prospects_bulk_assign(
            client=client_a, actor=alice, public_ids=[given.public_id], owner=alice
        )
    Visit.objects.filter(pk=moved_visit.pk).update(user=alice)

    bob_pages = pull_all(client, bob_token, since=bob_cursor)
    assert set(tombstones(bob_pages)) == {
        ("prospect", str(erased.public_id)),
        ("prospect", str(given.public_id)),
        ("visit", str(visit_on_erased.public_id)),
        ("visit", str(moved_visit.public_id)),
    }
    assert not {str(erased.public_id), str(given.public_id)} & set(ids(bob_pages, "prospects"))
    alice_pages = pull_all(client, alice_token, since=alice_cursor)
    assert tombstones(alice_pages) == []
    assert str(given.public_id) in ids(alice_pages, "prospects")
    assert str(moved_visit.public_id) in ids(alice_pages, "visits")
    assert not SyncTombstone.objects.filter(user=alice).exists()


def test_another_clients_rows_never_appear_even_without_the_filter(client, personas, monkeypatch):
    bob, client_a, client_b = personas.bob, personas.client_a, personas.client_b
    mine, mine_deleted = make_prospects(client_a, bob, 2)
    # Rows of client B that name Bob (no service makes them, the database would hold them):
    # the client filter drops them, and row-level security does even without it.
    foreign, foreign_deleted = make_prospects(client_b, bob, 2)
    make_visits([foreign], bob)
    token = signed_in_device(client, bob)
    [first] = pull_all(client, token)
    assert {p["id"] for p in first["prospects"]} == public([mine, mine_deleted])
    assert first["visits"] == []
    Prospect.objects.filter(pk__in=[mine_deleted.pk, foreign_deleted.pk]).delete()
    assert SyncTombstone.objects.filter(user=bob, client=client_b).count() == 1

    pages = pull_all(client, token, since=first["cursor"])
    assert tombstones(pages) == [("prospect", str(mine_deleted.public_id))]
    assert str(foreign.public_id) not in ids(pages, "prospects")
    assert ids(pages, "visits") == []

    monkeypatch.setattr(sync, "_client_condition", lambda: "")
    pages = pull_all(client, token) + pull_all(client, token, since=first["cursor"])
    assert set(ids(pages, "prospects")) == public([mine])
    assert ids(pages, "visits") == []
    assert set(tombstones(pages)) == {("prospect", str(mine_deleted.public_id))}


def test_bad_cursors_are_refused_with_a_clear_message(client, personas, settings):
    bob, alice = personas.bob, personas.alice
    make_prospects(personas.client_a, bob, 3)
    token = signed_in_device(client, bob, installation_id="install-bob")
    alice_token = signed_in_device(client, alice, installation_id="install-alice")
    good = pull(client, token, limit=1).json()["cursor"]
    payload, _, signature = good.partition(":")
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + ":" + signature
    alices = pull_all(client, alice_token)[-1]["cursor"]

    for since, words in [
        ("garbage", "not one OpsX gave out"),
        (tampered, "not one OpsX gave out"),
        ("<script>alert(1)</script>", "not one OpsX gave out"),
        (alices, "belongs to another account"),
    ]:
        response = pull(client, token, since=since)
        assert response.status_code == 400, (since, response.content)
        error = response.json()["error"]
        assert error["code"] == "bad_cursor" and words in error["message"], error
    assert pull(client, token, since=good).status_code == 200


def test_a_cursor_older_than_the_tombstone_retention_asks_for_a_full_resync(
    client, personas, settings
):
    settings.PROSPECTS_TOMBSTONE_DAYS = 30
    bob = personas.bob
    token = signed_in_device(client, bob)
    floor = pull_all(client, token)[-1]["cursor"]
    assert pull(client, token, since=floor).status_code == 200

    def taken(days_ago: float) -> str:
        # As the server encodes a cursor whose floor was taken that long ago.
        at = time.time() - days_ago * 86400
        return sync.Cursor(user_id=bob.pk, floor=1, floor_at=at).encode()

    assert pull(client, token, since=taken(29.9)).status_code == 200
    response = pull(client, token, since=taken(30.1))
    assert response.status_code == 410
    error = response.json()["error"]
    assert error["code"] == "resync"
    assert "pull everything again" in error["message"]
    assert pull(client, token).status_code == 200  # a first sync is always possible


def test_a_limit_out_of_range_is_a_validation_error(client, personas):
    token = signed_in_device(client, personas.bob)
    for limit in ["0", "-1", "501", "abc", "1e3", str(10**30), "%00", ""]:
        response = pull(client, token, limit=limit)
        assert response.status_code == 422, (limit, response.content)
        error = response.json()["error"]
        assert error["code"] == "validation" and "limit" in error["fields"], (limit, error)
    assert pull(client, token, limit=500).status_code == 200


def test_a_sync_needs_an_active_device(client, personas):
    assert pull(client, None).status_code == 401
    from .helpers import app_sign_in

    token = app_sign_in(client, personas.bob)  # signed in, no device registered
    response = pull(client, token)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "device_not_registered"


def _queries(client, token, **params) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as captured:
        response = pull(client, token, **params)
    assert response.status_code == 200
    return len(captured), response.json()


def test_a_page_takes_the_same_queries_whatever_its_size(
    client, personas, django_assert_max_num_queries
):
    bob = personas.bob
    prospects = make_prospects(personas.client_a, bob, 60)
    visits = make_visits(prospects[:60], bob)
    make_prospects(personas.client_a, bob, 60, label="More")
    token = signed_in_device(client, bob)
    pull(client, token, limit=1)  # the session cached, the device's last-seen time written

    small, small_page = _queries(client, token, limit=2)
    large, large_page = _queries(client, token, limit=100)  # prospects 100
    across, across_page = _queries(client, token, since=large_page["cursor"], limit=100)
    assert len(small_page["prospects"]) == 2 and len(large_page["prospects"]) == 100
    assert len(across_page["prospects"]) == 20 and len(across_page["visits"]) == 60
    assert visits
    assert small == large, "more rows, more queries"
    # A page across tables: one query more per table, none per row.
    assert across <= large + 1
    # The user, client and device, the tenant scope, the snapshot, then a query per table
    # (tombstones, prospects and their phones, visits), and the request's savepoint.
    with django_assert_max_num_queries(10):
        pull(client, token, limit=500)


def test_old_tombstones_are_deleted_by_the_beat_task_in_batches(personas, settings, monkeypatch):
    from prospects import tombstones as retention

    settings.PROSPECTS_TOMBSTONE_DAYS = 30
    monkeypatch.setattr(retention, "BATCH", 2)
    bob, client_a = personas.bob, personas.client_a
    prospects = make_prospects(client_a, bob, 6)
    Prospect.objects.filter(pk__in=[p.pk for p in prospects]).delete()
    assert SyncTombstone.objects.filter(user=bob).count() == 6
    old = SyncTombstone.objects.order_by("pk")[:5]
    SyncTombstone.objects.filter(pk__in=[t.pk for t in old]).update(
        created_at=timezone.now() - timedelta(days=31, hours=1)
    )
    young = SyncTombstone.objects.order_by("pk").last()
    SyncTombstone.objects.filter(pk=young.pk).update(
        created_at=timezone.now() - timedelta(days=30, hours=23)
    )

    assert prospects_tombstones_expire.delay().get() == 5
    assert list(SyncTombstone.objects.values_list("pk", flat=True)) == [young.pk]
    entry = settings.CELERY_BEAT_SCHEDULE["sync-tombstones-expire"]
    assert entry["task"] == "prospects.tasks.prospects_tombstones_expire"
