"""A real Celery worker, fed through Redis, sends a push to the loopback FCM: a 429 is retried
through the broker after the Retry-After it gave, and a dead token is cleared."""

import time

import pytest
from django.urls import reverse

from devices.models import Device
from tests.factories import ProspectFactory
from tests.workers import celery_worker

from .push_server import UNREGISTERED, device_of, fcm_fixture, quota_exceeded  # noqa: F401


@pytest.fixture
def worker(fcm, transactional_db, tmp_path, settings):
    with celery_worker(
        tmp_path,
        PUSH_BACKEND="fcm",
        FCM_URL=settings.FCM_URL,
        FCM_PROJECT_ID=settings.FCM_PROJECT_ID,
        FCM_CREDENTIALS_FILE=settings.FCM_CREDENTIALS_FILE,
    ) as worker:
        yield worker


def _wait_for(condition, worker, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert worker.process.poll() is None, worker.output()
        assert time.monotonic() < deadline, worker.output()
        time.sleep(0.1)


@pytest.mark.worker
def test_a_bulk_assignment_reaches_the_phone_through_a_worker_after_a_429(
    worker, fcm, client, personas
):
    device_of(personas.bob, token="bob-token")
    prospects = [ProspectFactory(client=personas.client_a) for _ in range(3)]
    fcm.script(quota_exceeded("2"))
    client.force_login(personas.alice)
    response = client.post(
        reverse("prospects:bulk"),
        {
            "action": "assign",
            "owner": str(personas.bob.public_id),
            "selected": [str(p.public_id) for p in prospects],
        },
    )
    assert response.status_code == 302
    _wait_for(lambda: len(fcm.sends) >= 2, worker)
    first, second = fcm.send_times[:2]
    assert second - first >= 2  # the broker held the retry as long as FCM asked
    assert [m["notification"]["body"] for m in fcm.messages] == [
        "3 prospects were assigned to you."
    ] * 2
    assert "retry 1 in 2 s" in worker.output()


@pytest.mark.worker
def test_a_dead_token_is_cleared_by_the_worker(worker, fcm, personas):
    from devices import notify

    device = device_of(personas.bob, token="dead-token")
    fcm.script(UNREGISTERED)
    notify.notify_user(personas.bob, title="Hi", body="There")  # autocommit: queued at once
    _wait_for(lambda: Device.objects.get(pk=device.pk).push_token == "", worker)
    assert Device.objects.get(pk=device.pk).is_active and len(fcm.sends) == 1
