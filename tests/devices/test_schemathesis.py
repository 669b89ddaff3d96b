"""Schemathesis against the mobile API's own OpenAPI document (/api/v1/openapi.json), through
the WSGI application in-process: every operation of the document, whoever wrote it, called
with generated requests (valid and invalid) by a signed-out caller and by a signed-in caller
with an active device. No answer is a 5xx, and every answer's status, content type and body
are the ones the document declares.

The examples are few (MAX_EXAMPLES per operation and caller) so the run stays short; what a
longer run finds is fixed in the API, not allowed here. Each test runs in its own transaction,
rolled back at the end, as with Django's test client (which, like `_keep_connection` here,
stops the WSGI handler from closing the connection between requests)."""

import pytest
import schemathesis
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings

from devices import services
from devices.models import Device
from opsx.wsgi import application
from prospects.models import Visit
from tests.factories import ClientFactory, ProspectFactory, UserFactory

MAX_EXAMPLES = 15
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests on every run: a failure is reproducible
    suppress_health_check=list(HealthCheck),
    database=None,
)

# Loaded as the tests are collected, through the whole WSGI stack (the document's view reads no
# data and runs outside ATOMIC_REQUESTS, so no database is needed yet).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


def _session_for(user) -> str:
    """A headless session token for `user`, as allauth's app login leaves it (a server-side
    session: the token is its key), without a password hash per example."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "accounts.backends.AllauthBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


@pytest.fixture(autouse=True)
def _keep_connection():
    """The WSGI handler closes the database connection around each request (the signals'
    close_old_connections), which would end the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def field_user(db):
    client = ClientFactory(name="Schemathesis Ltd")
    user = UserFactory(client=client, email="fuzz@schemathesis.example")
    # Something in every field the answers can carry, so their schema is checked with values.
    for i in range(3):
        prospect = ProspectFactory(
            client=client, owner=user, name=f"Prospect {i}", phones=["+919876543210"],
            latitude="18.520430", longitude="-73.856700", tags=["vip"], custom={"n": i},
        )  # fmt: skip
        Visit.objects.create(
            client=client, prospect=prospect, user=user, scheduled_at=timezone.now(),
            checked_in_at=timezone.now(), check_in_latitude="18.5", check_in_longitude="73.8",
            answers={"done": True},
        )  # fmt: skip
    return user


def _active_device_token(user) -> str:
    """A fresh session and active device for each example: an example that unregisters the
    device or registers another one must not leave the next example signed out."""
    token = _session_for(user)
    details = services.DeviceDetails(
        installation_id=f"fuzz-{token[:12]}",
        platform="android",
        push_token="",
        app_version="1.0",
        device_model="Pixel",
    )
    device = services.device_sign_in(user=user, session_key=token, details=details)
    assert device.status == Device.Status.ACTIVE
    return token


@pytest.mark.django_db
@schema.parametrize()
@settings(HYPOTHESIS)
def test_signed_out_callers_get_declared_answers(case):
    # A generated X-Session-Token (when the case has one) is a stranger's guess.
    response = case.call_and_validate(checks=CHECKS)
    if case.operation.definition.raw.get("security"):
        assert response.status_code in (401, 405), response.text[:300]


@pytest.mark.django_db
@schema.parametrize()
@settings(HYPOTHESIS)
def test_signed_in_callers_get_declared_answers(case, field_user):
    token = _active_device_token(field_user)
    case.headers = {**(case.headers or {}), "X-Session-Token": token}
    response = case.call_and_validate(checks=CHECKS)
    # The token is fresh and the device active: never taken for a signed-out call.
    assert response.status_code != 401, response.text[:300]
