"""After the grace period a task deletes every row of the client in every table with a client
key, in chunks with their progress committed (a run that dies is resumed), erases every user,
and leaves a nameless tombstone; another client loses nothing."""

import os

import pytest
from django.utils import timezone

from clients.models import AuditEvent, Client
from opsx.models import OutboundMessage
from privacy import closure as services
from privacy import erasure, tasks
from privacy.models import ClientClosure, PrivacyRequest
from prospects.models import Prospect, SyncTombstone
from tests.privacy.closure_objects import FakeErasure, counts, due_closure, fill

# Rows that stay by design (privacy/closure.py says why): the trail and the closure itself.
KEPT = {"clients.auditevent", "privacy.clientclosure", "clients.invoice"}


@pytest.fixture
def fake_erase(monkeypatch):
    fake = FakeErasure()
    monkeypatch.setattr(erasure, "user_erase", fake)
    return fake


@pytest.fixture
def full(personas, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    a = fill(personas.client_a, personas.alice, label="A")
    b = fill(personas.client_b, personas.carol, label="B")
    return personas, a, b


@pytest.mark.django_db
def test_deletion_removes_every_row_of_the_client_and_nothing_of_another(
    full, fake_erase, django_capture_on_commit_callbacks
):
    personas, a, b = full
    a_before, b_before = counts(personas.client_a), counts(personas.client_b)
    # every table with a client key has something of A, so the test proves each one goes
    missing = [label for label, n in a_before.items() if n == 0 and label not in KEPT]
    assert missing == [], f"fill() leaves these empty: {missing}"
    blob = a["file"].blob.path
    closure = due_closure(personas.client_a, personas.alice)
    b_before = counts(personas.client_b)

    with django_capture_on_commit_callbacks(execute=True):
        services.closure_delete(closure=closure)

    after = counts(personas.client_a)
    assert {label: n for label, n in after.items() if n and label not in KEPT} == {}
    assert after["clients.invoice"] == a_before["clients.invoice"] == 1  # accounting records
    assert counts(personas.client_b) == b_before
    assert not os.path.exists(blob)  # the bytes went with the rows
    assert os.path.exists(b["file"].blob.path)
    assert sorted(call[0] for call in fake_erase.calls) == [
        "alice@acme.example",
        "bob@acme.example",
    ]
    assert {(call[1], call[2]) for call in fake_erase.calls} == {(None, "client_closure")}


@pytest.mark.django_db
def test_the_client_becomes_a_nameless_closed_tombstone_with_an_audit_event(full, fake_erase):
    personas, _, _ = full
    closure = due_closure(personas.client_a, personas.alice)
    services.closure_delete(closure=closure)
    client = Client.objects.get(pk=personas.client_a.pk)
    assert client.status == Client.Status.CLOSED
    assert client.name == "Closed client" and client.contact_email == ""
    assert client.slug == f"closed-{client.pk}"
    closure.refresh_from_db()
    assert closure.status == ClientClosure.Status.DONE and closure.deleted_at is not None
    event = AuditEvent.objects.get(action="client.deleted", client=client)
    assert event.actor is None
    assert event.counts["prospects.prospect"] == 4
    assert event.counts["accounts.user"] == 2


@pytest.mark.django_db
def test_progress_is_recorded_per_kind(full, fake_erase):
    personas, _, _ = full
    closure = due_closure(personas.client_a, personas.alice)
    services.closure_delete(closure=closure)
    closure.refresh_from_db()
    progress = services.deleted_counts(closure)
    assert progress["prospects.prospect"] == 4
    assert progress["prospects.storedfile"] == 2
    assert progress["prospects.prospectphone"] == 3
    assert progress["prospects.customfield"] == 5
    assert progress["accounts.invitation"] == 1
    assert "4 prospects" in services.progress_summary(closure)


@pytest.mark.django_db
def test_a_run_that_dies_after_one_chunk_is_resumed_and_finishes(full, fake_erase, monkeypatch):
    personas, _, _ = full
    monkeypatch.setattr(services, "DELETE_CHUNK", 2)
    closure = due_closure(personas.client_a, personas.alice)

    class Crash(Exception):
        pass

    def crash(closure, label):
        raise Crash

    monkeypatch.setattr(services, "_after_chunk", crash)
    with pytest.raises(Crash):
        services.closure_delete(closure=closure)
    closure.refresh_from_db()
    assert closure.status == ClientClosure.Status.DELETING
    assert sum(services.deleted_counts(closure).values()) > 0  # one chunk committed
    assert Client.objects.get(pk=personas.client_a.pk).status == Client.Status.CLOSED

    monkeypatch.setattr(services, "_after_chunk", lambda closure, label: None)
    ClientClosure.objects.filter(pk=closure.pk).update(
        deletion_started_at=timezone.now() - services.DELETING_STALE * 2
    )
    assert tasks.privacy_closures_due() == {"started": [], "resumed": [closure.pk]}
    # the task enqueued on commit; run it as the worker would
    tasks.privacy_closure_delete(closure.pk)
    closure.refresh_from_db()
    assert closure.status == ClientClosure.Status.DONE
    assert closure.progress["prospects.prospect"] == 4  # counted once, across both runs
    assert not Prospect.objects.filter(client=personas.client_a).exists()


@pytest.mark.django_db
def test_nothing_happens_before_the_grace_period_ends_or_after_a_cancel(full, fake_erase):
    personas, _, _ = full
    closure = services.closure_request(client=personas.client_a, actor=personas.alice)
    assert tasks.privacy_closures_due() == {"started": [], "resumed": []}
    services.closure_delete(closure=closure)
    assert Prospect.objects.filter(client=personas.client_a).count() == 4
    services.closure_cancel(closure=closure, actor=personas.alice)
    ClientClosure.objects.filter(pk=closure.pk).update(delete_after=timezone.now())
    services.closure_delete(closure=closure)
    assert Prospect.objects.filter(client=personas.client_a).count() == 4
    assert fake_erase.calls == []


@pytest.mark.django_db
def test_the_daily_task_starts_due_closures(full, fake_erase, django_capture_on_commit_callbacks):
    personas, _, _ = full
    closure = due_closure(personas.client_a, personas.alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.privacy_closures_due()["started"] == [closure.pk]
    closure.refresh_from_db()
    assert closure.status == ClientClosure.Status.DONE  # eager: the deletion ran
    assert AuditEvent.objects.filter(action="retention.applied").exists()


@pytest.mark.django_db
def test_prospect_requests_are_kept_as_proof_closed_and_detached(full, fake_erase):
    personas, a, b = full
    closure = due_closure(personas.client_a, personas.alice)
    services.closure_delete(closure=closure)
    request = PrivacyRequest.objects.get(pk=a["request"].pk)
    assert request.client is None
    assert request.status == PrivacyRequest.Status.DONE
    assert request.events.filter(to_status="done").exists()
    assert PrivacyRequest.objects.get(pk=b["request"].pk).client == personas.client_b
    # the requester's address was never confirmed: nothing was mailed to it
    assert not OutboundMessage.objects.filter(to_email="customer@a.example").exists()


@pytest.mark.django_db
def test_a_confirmed_prospect_requester_is_told_the_data_is_deleted(full, fake_erase):
    personas, a, _ = full
    PrivacyRequest.objects.filter(pk=a["request"].pk).update(verified_at=timezone.now())
    services.closure_delete(closure=due_closure(personas.client_a, personas.alice))
    [told] = OutboundMessage.objects.filter(to_email="customer@a.example")
    assert "has been deleted" in told.body_text


def test_tables_are_deleted_children_first():
    order = [m._meta.label_lower for m in services.deletion_order()]
    assert order.index("prospects.importrowerror") < order.index("prospects.importjob")
    assert order.index("prospects.prospectevent") < order.index("prospects.storedfile")
    assert order.index("prospects.storedfile") < order.index("prospects.visit")
    assert order.index("prospects.visit") < order.index("prospects.prospect")
    assert order.index("prospects.prospect") < order.index("prospects.importjob")
    # written by triggers as prospects and visits are deleted
    assert order.index("prospects.synctombstone") > order.index("prospects.prospect")
    assert order.index("prospects.synctombstone") > order.index("prospects.visit")
    assert "accounts.user" not in order and "clients.auditevent" not in order


@pytest.mark.django_db
def test_users_are_erased_once_each_even_across_a_crash_and_if_erasure_keeps_rows(
    full, monkeypatch
):
    personas, _, _ = full
    fake = FakeErasure(keep_row=True)
    monkeypatch.setattr(erasure, "user_erase", fake)
    closure = due_closure(personas.client_a, personas.alice)

    def crash_after_first_user(closure, label):
        if label == "accounts.user":
            raise RuntimeError("worker killed")

    monkeypatch.setattr(services, "_after_chunk", crash_after_first_user)
    with pytest.raises(RuntimeError):
        services.closure_delete(closure=closure)
    assert [c[0] for c in fake.calls] == ["alice@acme.example"]
    monkeypatch.setattr(services, "_after_chunk", lambda closure, label: None)
    services.closure_delete(closure=closure)
    assert [c[0] for c in fake.calls] == ["alice@acme.example", "bob@acme.example"]
    closure.refresh_from_db()
    assert closure.status == ClientClosure.Status.DONE
    assert closure.progress["accounts.user"] == 2


@pytest.mark.django_db
def test_the_sync_tombstones_written_while_deleting_go_too(full, monkeypatch):
    """Deleting the client's prospects and visits makes the triggers write tombstones for
    their users; with an erasure that keeps the user rows, no cascade would take them."""
    personas, _, _ = full
    monkeypatch.setattr(erasure, "user_erase", FakeErasure(keep_row=True))
    assert SyncTombstone.objects.filter(client=personas.client_a).exists()
    services.closure_delete(closure=due_closure(personas.client_a, personas.alice))
    assert not SyncTombstone.objects.filter(client=personas.client_a).exists()
    assert SyncTombstone.objects.filter(client=personas.client_b).exists()


def test_the_daily_task_is_on_the_beat_schedule_at_two():
    from django.conf import settings

    from opsx.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["privacy-closures-due"]
    assert entry["task"] == "privacy.tasks.privacy_closures_due" in app.tasks
    assert entry["schedule"].hour == {2}


@pytest.mark.django_db
def test_with_the_real_erasure_the_clients_people_are_gone_and_another_clients_stay(
    full, django_capture_on_commit_callbacks
):
    """No fake here: the closure erases its users through privacy.erasure.user_erase, inside
    the closure's own transaction and lock, and the people of client B are untouched."""
    from accounts.models import User

    personas, _a, _b = full
    closure = due_closure(personas.client_a, personas.alice)

    with django_capture_on_commit_callbacks(execute=True):
        services.closure_delete(closure=closure)

    assert not User.objects.filter(client=personas.client_a).exists()
    assert not User.objects.filter(email__in=["alice@acme.example", "bob@acme.example"]).exists()
    assert set(User.objects.filter(client=personas.client_b).values_list("email", flat=True)) == {
        "carol@bravo.example",
        "dan@bravo.example",
    }
    assert not OutboundMessage.objects.filter(to_email="alice@acme.example").exists()
    closure.refresh_from_db()
    assert closure.status == ClientClosure.Status.DONE
    # their events stay, nameless and without an address
    events = AuditEvent.objects.filter(client=personas.client_a)
    assert events.exists()
    assert not events.filter(actor__isnull=False).exists()
    assert not events.filter(ip_address__isnull=False).exists()
