"""What pushes a notification: a prospect assigned to someone else, a visit planned or
cancelled for someone else. Each reaches the loopback FCM after the commit."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.models import Device
from prospects import services
from prospects.models import Prospect
from tests.factories import ProspectFactory

from .push_server import device_of, fcm_fixture  # noqa: F401 (the fixture `fcm`)

pytestmark = pytest.mark.django_db


@pytest.fixture
def phones(personas):
    """Bob and Alice have the app signed in; so does Dan, at the other client."""
    return {
        "bob": device_of(personas.bob, token="bob-token"),
        "alice": device_of(personas.alice, token="alice-token"),
        "dan": device_of(personas.dan, token="dan-token"),
    }


def test_a_prospect_created_for_bob_by_alice_pushes_to_bob(
    fcm, personas, phones, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        prospect = services.prospect_create(
            client=personas.client_a,
            actor=personas.alice,
            raw={"name": "Ravi Kumar", "owner": personas.bob},
        )
    (message,) = fcm.messages
    assert message["token"] == "bob-token"
    assert message["notification"] == {
        "title": "New prospect for you",
        "body": "Ravi Kumar was assigned to you.",
    }
    assert message["data"] == {"kind": "prospect_assigned", "prospect": str(prospect.public_id)}


def test_giving_a_prospect_to_bob_pushes_once_and_keeping_him_as_owner_does_not(
    fcm, personas, phones, django_capture_on_commit_callbacks
):
    prospect = ProspectFactory(client=personas.client_a, name="Meera")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.prospect_update(
            prospect=prospect, actor=personas.alice, raw={"owner": personas.bob}
        )
    assert len(callbacks) == 1
    assert [m["token"] for m in fcm.messages] == ["bob-token"]
    with django_capture_on_commit_callbacks(execute=True):
        services.prospect_update(prospect=prospect, actor=personas.alice, raw={"city": "Pune"})
        services.prospect_update(
            prospect=prospect, actor=personas.alice, raw={"owner": personas.bob}
        )
    assert len(fcm.messages) == 1  # the owner did not change


def test_assigning_a_prospect_to_yourself_pushes_nothing(
    fcm, personas, phones, django_capture_on_commit_callbacks
):
    prospect = ProspectFactory(client=personas.client_a)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.prospect_update(prospect=prospect, actor=personas.bob, raw={"owner": personas.bob})
        services.prospect_create(
            client=personas.client_a,
            actor=personas.alice,
            raw={"name": "Mine", "owner": personas.alice},
        )
    assert callbacks == [] and fcm.sends == []


def test_a_bulk_assignment_is_one_push_however_many_prospects(
    fcm, personas, phones, client, django_capture_on_commit_callbacks
):
    prospects = [ProspectFactory(client=personas.client_a) for _ in range(12)]
    ProspectFactory(client=personas.client_a, owner=personas.bob)  # already his: not counted
    client.force_login(personas.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("prospects:bulk"),
            {
                "action": "assign",
                "owner": str(personas.bob.public_id),
                "selected": [str(p.public_id) for p in prospects]
                + [str(Prospect.objects.get(owner=personas.bob).public_id)],
            },
        )
    assert response.status_code == 302
    assert Prospect.objects.filter(owner=personas.bob).count() == 13
    (message,) = fcm.messages
    assert message["token"] == "bob-token"
    assert message["notification"]["body"] == "12 prospects were assigned to you."
    assert message["data"] == {"kind": "prospects_assigned", "count": "12"}


def test_unassigning_pushes_nothing(fcm, personas, phones, django_capture_on_commit_callbacks):
    prospect = ProspectFactory(client=personas.client_a, owner=personas.bob)
    with django_capture_on_commit_callbacks(execute=True):
        services.prospects_bulk_assign(
            client=personas.client_a,
            actor=personas.alice,
            public_ids=[prospect.public_id],
            owner=None,
        )
    assert fcm.sends == []


def test_a_rolled_back_assignment_pushes_nothing(
    fcm, personas, phones, django_capture_on_commit_callbacks
):
    from django.db import transaction

    prospect = ProspectFactory(client=personas.client_a)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                services.prospect_update(
                    prospect=prospect, actor=personas.alice, raw={"owner": personas.bob}
                )
                raise RuntimeError("something later in the request failed")
        except RuntimeError:
            pass
    assert callbacks == [] and fcm.sends == []


def test_a_user_without_a_push_token_gets_nothing_and_the_assignment_works(
    fcm, personas, django_capture_on_commit_callbacks
):
    Device.objects.filter(pk=device_of(personas.bob).pk).update(push_token="")
    prospect = ProspectFactory(client=personas.client_a)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.prospect_update(
            prospect=prospect, actor=personas.alice, raw={"owner": personas.bob}
        )
    assert callbacks == [] and fcm.sends == []
    prospect.refresh_from_db()
    assert prospect.owner == personas.bob


def test_a_visit_planned_for_bob_by_alice_pushes_to_bob_and_its_cancellation_too(
    fcm, personas, phones, client, django_capture_on_commit_callbacks
):
    prospect = ProspectFactory(client=personas.client_a, name="Sharma Traders")
    when = timezone.make_aware(datetime.datetime(2031, 3, 4, 10, 30))
    client.force_login(personas.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("prospects:visit_plan", args=[prospect.public_id]),
            {"user": personas.bob.pk, "scheduled_at": "2031-03-04T10:30"},
        )
    assert response.status_code == 302
    visit = prospect.visits.get()
    assert visit.scheduled_at == when
    (planned,) = fcm.messages
    assert planned["token"] == "bob-token"
    assert planned["notification"] == {
        "title": "Visit planned for you",
        "body": "Sharma Traders: Tue 04 Mar, 10:30 UTC",
    }
    assert planned["data"] == {
        "kind": "visit_planned",
        "visit": str(visit.public_id),
        "prospect": str(prospect.public_id),
        "scheduled_at": when.isoformat(),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("prospects:visit_cancel", args=[visit.public_id]))
    assert response.status_code == 302
    cancelled = fcm.messages[1]
    assert cancelled["token"] == "bob-token"
    assert cancelled["notification"]["title"] == "Visit cancelled"
    assert cancelled["data"]["kind"] == "visit_cancelled"
    assert len(fcm.messages) == 2


def test_planning_your_own_visit_pushes_nothing(
    fcm, personas, phones, django_capture_on_commit_callbacks
):
    prospect = ProspectFactory(client=personas.client_a)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        visit = services.visit_plan(
            prospect=prospect, actor=personas.bob, user=personas.bob, scheduled_at=None
        )
        services.visit_cancel(visit=visit, actor=personas.bob)
    assert callbacks == [] and fcm.sends == []


def test_a_push_service_that_fails_does_not_break_the_assignment(
    fcm, personas, phones, client, django_capture_on_commit_callbacks, settings
):
    settings.FCM_CREDENTIALS_FILE = "/nonexistent/key.json"  # the backend cannot even start
    prospect = ProspectFactory(client=personas.client_a)
    client.force_login(personas.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("prospects:bulk"),
            {
                "action": "assign",
                "owner": str(personas.bob.public_id),
                "selected": [str(prospect.public_id)],
            },
        )
    assert response.status_code == 302
    prospect.refresh_from_db()
    assert prospect.owner == personas.bob and fcm.sends == []
