"""The FCM backend and the sending task against a real HTTP server on loopback that speaks
FCM's HTTP v1 and OAuth formats (push_server.py): what each answer does to the device."""

import datetime
import email.utils
import logging

import pytest
from celery.signals import task_retry

from devices import push
from devices.models import Device
from devices.push.fcm import classify, retry_after_seconds
from devices.tasks import push_send
from opsx.celery import app as celery_app
from tests.conftest import free_port

from .helpers import api, signed_in_device
from .push_server import (
    BAD_PAYLOAD,
    BAD_TOKEN,
    PROJECT,
    SCOPE,
    SENDER_ID_MISMATCH,
    UNAVAILABLE,
    UNREGISTERED,
    device_of,
    fcm_error,
    fcm_fixture,  # noqa: F401 (the fixture `fcm`)
    quota_exceeded,
)

pytestmark = pytest.mark.django_db


def _send(device, title="Hello", body="A message", data=None):
    return push_send.apply(
        args=[device.pk, device.push_token, title, body, data or {"kind": "test"}]
    ).get()


@pytest.fixture
def retries():
    """The countdown of every retry the task asks Celery for (Celery's own task_retry
    signal). Tasks run eagerly here: a retry runs at once, and the countdown is what a worker
    would have waited. Eager errors stop propagating for the test, as Celery's eager apply()
    runs a retry only then (a failure still raises from .get())."""
    seen = []

    def record(sender, request, reason, **kwargs):
        seen.append(reason.when)

    task_retry.connect(record, weak=False)
    celery_app.conf.task_eager_propagates = False
    try:
        yield seen
    finally:
        celery_app.conf.task_eager_propagates = True
        task_retry.disconnect(record)


def test_a_message_is_sent_with_an_access_token_for_the_service_account(fcm, personas):
    device = device_of(personas.bob, token="bob-phone-token")
    assert _send(device, "New prospect", "Ravi was assigned to you.", {"n": 3}) == "sent"
    assert fcm.messages == [
        {
            "token": "bob-phone-token",
            "notification": {"title": "New prospect", "body": "Ravi was assigned to you."},
            "data": {"n": "3"},  # FCM takes strings only
        }
    ]
    (claims,) = fcm.token_requests
    assert claims["scope"] == SCOPE and claims["iss"] == f"push@{PROJECT}.iam.gserviceaccount.com"


def test_the_access_token_is_reused_until_it_expires(fcm, personas):
    device = device_of(personas.bob)
    for _ in range(3):
        assert _send(device) == "sent"
    assert len(fcm.sends) == 3 and len(fcm.token_requests) == 1


def test_a_401_renews_the_access_token_once(fcm, personas):
    device = device_of(personas.bob)
    assert _send(device) == "sent"
    fcm.revoke_access_tokens()
    assert _send(device) == "sent"
    assert len(fcm.token_requests) == 2
    assert [bearer for _, bearer in fcm.sends] == ["access-1", "access-2"]


def test_an_unregistered_token_is_cleared_and_the_device_stays_signed_in(client, fcm, personas):
    session = signed_in_device(client, personas.bob, push_token="dead-token")
    device = Device.objects.get(user=personas.bob)
    fcm.script(UNREGISTERED)
    assert _send(device) == "dead_token"
    device.refresh_from_db()
    assert device.push_token == "" and device.status == Device.Status.ACTIVE
    assert device.session_key == session
    assert api(client, "get", "/api/v1/me", session).status_code == 200  # still signed in
    assert len(fcm.sends) == 1  # not retried


@pytest.mark.parametrize("reply", [BAD_TOKEN, SENDER_ID_MISMATCH], ids=["bad-token", "sender"])
def test_an_invalid_token_or_another_senders_token_is_cleared(fcm, personas, reply):
    device = device_of(personas.bob)
    fcm.script(reply)
    assert _send(device) == "dead_token"
    device.refresh_from_db()
    assert device.push_token == "" and device.is_active
    assert len(fcm.sends) == 1


def test_a_payload_error_keeps_the_token_and_is_not_retried(fcm, personas, retries, caplog):
    device = device_of(personas.bob, token="healthy-token")
    fcm.script(BAD_PAYLOAD)
    with caplog.at_level(logging.ERROR, logger="opsx.push"):
        assert _send(device) == "refused"
    device.refresh_from_db()
    assert device.push_token == "healthy-token"
    assert len(fcm.sends) == 1 and retries == []
    assert "refused, not retried: HTTP 400 INVALID_ARGUMENT" in caplog.text
    assert "healthy-token" not in caplog.text


def test_a_404_that_is_not_unregistered_keeps_the_token(fcm, personas):
    """A wrong project id answers 404 too: that says nothing about the token."""
    device = device_of(personas.bob, token="healthy-token")
    fcm.script(fcm_error(404, "NOT_FOUND", "Requested entity was not found."))
    assert _send(device) == "refused"
    device.refresh_from_db()
    assert device.push_token == "healthy-token"


def test_a_429_waits_as_long_as_retry_after_says_then_sends(fcm, personas, retries):
    device = device_of(personas.bob, token="busy-token")
    fcm.script(quota_exceeded("37"))
    assert _send(device) == "sent"
    assert retries == [37.0]
    assert len(fcm.sends) == 2
    device.refresh_from_db()
    assert device.push_token == "busy-token"


def test_a_503_is_retried_with_backoff(fcm, personas, retries):
    device = device_of(personas.bob)
    fcm.script(UNAVAILABLE, UNAVAILABLE)
    assert _send(device) == "sent"
    assert len(fcm.sends) == 3
    # exponential with jitter: about 10 s, then about 20 s
    assert 5 <= retries[0] <= 10 and 10 <= retries[1] <= 20


def test_after_the_last_retry_it_gives_up_and_logs(fcm, personas, retries, settings, caplog):
    settings.PUSH_MAX_RETRIES = 2
    device = device_of(personas.bob, token="kept-token")
    fcm.script(UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, UNAVAILABLE)
    with caplog.at_level(logging.ERROR, logger="opsx.push"):
        assert _send(device) == "given_up"
    assert len(fcm.sends) == 3 and len(retries) == 2
    assert f"Push to device {device.pk} given up after 3 tries: HTTP 503 UNAVAILABLE" in caplog.text
    device.refresh_from_db()
    assert device.push_token == "kept-token"


def test_a_retry_after_beyond_an_hour_gives_up_at_once(fcm, personas, retries):
    device = device_of(personas.bob)
    fcm.script(quota_exceeded("86400"))
    assert _send(device) == "given_up"
    assert retries == [] and len(fcm.sends) == 1


def test_a_push_service_that_cannot_be_reached_is_a_temporary_failure(fcm, personas, settings):
    settings.FCM_URL = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    result = push.get_backend().send(push.Message(token="t", title="a", body="b"))
    assert result.outcome == push.Outcome.TEMPORARY
    assert "ConnectionError" in result.detail


def test_a_refused_service_account_key_is_not_retried(fcm, personas, settings, tmp_path):
    """A key the token endpoint does not accept (here: signed by another key) is our set-up,
    not the message: the push is refused, and no send is made."""
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info = json.loads((tmp_path / "service-account.json").read_text())
    info["private_key"] = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(info))
    settings.FCM_CREDENTIALS_FILE = str(wrong)
    device = device_of(personas.bob, token="kept-token")
    assert _send(device) == "refused"
    assert fcm.sends == []
    device.refresh_from_db()
    assert device.push_token == "kept-token"


# --- the classification and Retry-After, without a server ------------------------------


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ((200, {"name": "projects/p/messages/1"}, {}), push.Outcome.SENT),
        (UNREGISTERED, push.Outcome.DEAD_TOKEN),
        (SENDER_ID_MISMATCH, push.Outcome.DEAD_TOKEN),
        (BAD_TOKEN, push.Outcome.DEAD_TOKEN),
        (BAD_PAYLOAD, push.Outcome.REFUSED),
        # INVALID_ARGUMENT with no field named: not taken for a dead token
        (fcm_error(400, "INVALID_ARGUMENT", "Bad", code="INVALID_ARGUMENT"), push.Outcome.REFUSED),
        (fcm_error(403, "PERMISSION_DENIED", "APNs", code="THIRD_PARTY_AUTH_ERROR"), "refused"),
        (fcm_error(401, "UNAUTHENTICATED", "Invalid credentials"), push.Outcome.REFUSED),
        (quota_exceeded("5"), push.Outcome.TEMPORARY),
        (fcm_error(500, "INTERNAL", "Internal error", code="INTERNAL"), push.Outcome.TEMPORARY),
        ((502, {}, {}), push.Outcome.TEMPORARY),  # a proxy's HTML page: no JSON at all
        (UNAVAILABLE, push.Outcome.TEMPORARY),
        ((504, {"error": "not an object"}, {}), push.Outcome.TEMPORARY),
    ],
)
def test_classify(reply, outcome):
    status, body, headers = reply
    assert classify(status, headers, body).outcome == outcome


def test_retry_after_in_seconds_or_as_an_http_date():
    assert retry_after_seconds({"Retry-After": "120"}) == 120.0
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=90)
    seconds = retry_after_seconds({"Retry-After": email.utils.format_datetime(later, usegmt=True)})
    assert 85 <= seconds <= 90
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    assert retry_after_seconds({"Retry-After": email.utils.format_datetime(past, usegmt=True)}) == 0
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({"Retry-After": "9" * 40}) == 10.0**9
