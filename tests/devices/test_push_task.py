"""The sending task re-checks the device when it runs, and nothing about a push can break the
action that caused it: not the broker, not the push service."""

import logging

import pytest
from django.db import transaction

from devices import notify, services
from devices.models import Device
from devices.tasks import push_send
from opsx.celery import app as celery_app
from prospects import services as prospect_services
from tests.conftest import free_port
from tests.factories import ProspectFactory

from .push_server import UNREGISTERED, Meanwhile, device_of, fcm_fixture  # noqa: F401 (the fixture `fcm`)


@pytest.mark.django_db
def test_a_device_revoked_before_the_task_runs_gets_nothing(
    fcm, personas, django_capture_on_commit_callbacks
):
    device = device_of(personas.bob)
    with django_capture_on_commit_callbacks() as callbacks:
        assert notify.notify_user(personas.bob, title="Hi", body="There")
    services.device_revoke(device=device, actor=personas.alice)
    for callback in callbacks:
        callback()
    assert fcm.sends == []


@pytest.mark.django_db
def test_a_token_replaced_before_the_task_runs_gets_nothing_and_the_new_one_stays(
    fcm, personas, django_capture_on_commit_callbacks
):
    device = device_of(personas.bob, token="old-token")
    with django_capture_on_commit_callbacks() as callbacks:
        notify.notify_user(personas.bob, title="Hi", body="There")
    Device.objects.filter(pk=device.pk).update(push_token="new-token")  # the app re-registered
    fcm.script(UNREGISTERED)
    for callback in callbacks:
        callback()
    assert fcm.sends == []
    device.refresh_from_db()
    assert device.push_token == "new-token"


@pytest.mark.django_db(transaction=True)
def test_a_dead_token_answer_does_not_clear_a_token_registered_meanwhile(fcm, personas):
    device = device_of(personas.bob, token="old-token")

    def app_registers_a_new_token():
        Device.objects.filter(pk=device.pk).update(push_token="fresh-token")

    fcm.script(Meanwhile(app_registers_a_new_token, UNREGISTERED))
    assert push_send.apply(args=[device.pk, "old-token", "Hi", "There", {}]).get() == "dead_token"
    device.refresh_from_db()
    assert device.push_token == "fresh-token" and device.is_active


@pytest.mark.django_db
def test_a_pending_or_revoked_device_is_not_a_recipient(personas):
    device_of(personas.bob, status=Device.Status.PENDING)
    device_of(personas.alice, status=Device.Status.REVOKED)
    assert not notify.notify_user(personas.bob, title="Hi", body="There")
    assert not notify.notify_user(personas.alice, title="Hi", body="There")


@pytest.mark.django_db
def test_the_console_backend_logs_the_message(
    personas, settings, caplog, django_capture_on_commit_callbacks
):
    settings.PUSH_BACKEND = "console"
    device_of(personas.bob, token="abcdefghijkl-secret-end")
    with (
        caplog.at_level(logging.INFO, logger="opsx.push"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notify.notify_user(personas.bob, title="Visit", body="Tomorrow 10:00", data={"k": 1})
    assert "Push to …et-end: Visit | Tomorrow 10:00 | {'k': '1'}" in caplog.text
    assert "abcdefghijkl" not in caplog.text


@pytest.mark.django_db
def test_texts_too_long_for_a_phone_are_cut(fcm, personas, django_capture_on_commit_callbacks):
    device_of(personas.bob)
    with django_capture_on_commit_callbacks(execute=True):
        notify.notify_user(personas.bob, title="T" * 200, body="word " * 300)
    (message,) = fcm.messages
    assert len(message["notification"]["title"]) == notify.TITLE_MAX
    assert len(message["notification"]["body"]) == notify.BODY_MAX
    assert message["notification"]["body"].endswith("…")


@pytest.mark.django_db(transaction=True)
def test_the_broker_down_does_not_break_an_assignment(personas, caplog):
    """With Redis unreachable the assignment commits and the lost push is logged (as
    tests/opsx/test_mail_outbox.py does for mail)."""
    device = device_of(personas.bob)
    prospect = ProspectFactory(client=personas.client_a)
    celery_app.conf.task_always_eager = False
    real_broker = celery_app.conf.broker_url
    celery_app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.task_publish_retry = False
    try:
        with caplog.at_level(logging.WARNING, logger="opsx.push"), transaction.atomic():
            prospect_services.prospect_update(
                prospect=prospect, actor=personas.alice, raw={"owner": personas.bob}
            )
    finally:
        dead_pool = celery_app.pool
        celery_app.conf.broker_url = real_broker
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        dead_pool.force_close_all()
        celery_app.conf.task_publish_retry = True
        celery_app.conf.task_always_eager = True
    prospect.refresh_from_db()
    assert prospect.owner == personas.bob
    assert f"Could not queue a push to device {device.pk}" in caplog.text
