"""Django admin: HexCM staff see every client's devices, read-only, and revoke them through
the same service as the client admins (signed out at once, audited as staff)."""

import pytest
from django.contrib.admin import helpers
from django.db import connection
from django.test import Client as WebClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clients.models import AuditEvent
from devices.models import Device

from .helpers import api, signed_in_device
from .rows import make_device, many_devices

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:devices_device_changelist")


@pytest.fixture
def staff_web(client, sam):
    client.force_login(sam)
    return client


@pytest.fixture
def app():
    return WebClient()


def _revoke(web, devices, **data):
    body = {"action": "revoke_devices", helpers.ACTION_CHECKBOX_NAME: [d.pk for d in devices]}
    return web.post(CHANGELIST, {**body, **data})


def test_the_changelist_shows_every_clients_devices(staff_web, personas):
    make_device(personas.bob, device_model="Acme phone", app_version="2.0.1")
    make_device(personas.dan, device_model="Bravo phone")
    response = staff_web.get(CHANGELIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Acme phone" in page and "Bravo phone" in page and "2.0.1" in page
    assert "Bob Member" in page and "Acme" in page and "Bravo" in page
    assert "Revoke selected devices" in page


@pytest.mark.parametrize(
    "query",
    ["?status__exact=active", "?platform__exact=ios", "?client__device_policy__exact=approve"],
)
def test_the_filters_narrow_the_list(staff_web, personas, query):
    make_device(personas.bob, device_model="Kept out")
    personas.client_b.device_policy = "approve"
    personas.client_b.save(update_fields=["device_policy"])
    make_device(personas.dan, device_model="Listed", platform=Device.Platform.IOS)
    Device.objects.filter(user=personas.bob).update(status=Device.Status.REVOKED)
    response = staff_web.get(CHANGELIST + query)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Listed" in page and "Kept out" not in page


@pytest.mark.parametrize("term", ["dan@bravo", "install-%s-1"])
def test_staff_search_by_user_email_or_installation_id(staff_web, personas, term):
    make_device(personas.bob, device_model="Bob phone")
    make_device(personas.dan, device_model="Dan phone")
    term = term % personas.dan.pk if "%s" in term else term
    page = staff_web.get(CHANGELIST, {"q": term}).content.decode()
    assert "Dan phone" in page and "Bob phone" not in page


def test_the_changelist_takes_the_same_queries_for_1_and_20_devices(
    staff_web, personas, django_assert_max_num_queries
):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert staff_web.get(CHANGELIST).status_code == 200
        return len(ctx.captured_queries)

    many_devices(personas.client_a, 1)
    staff_web.get(CHANGELIST)  # the session's first read is not the page's
    one = count()
    many_devices(personas.client_b, 19)
    # the user; SAVEPOINT; MFA; the client filter's clients; the count; the page with its
    # users and clients; RELEASE SAVEPOINT
    with django_assert_max_num_queries(7):
        twenty = count()
    assert twenty == one


def test_the_change_page_is_read_only_and_hides_the_credentials(staff_web, personas):
    device = make_device(personas.bob, push_token="secret-push-token", session_key="secretsession1")
    url = reverse("admin:devices_device_change", args=[device.pk])
    response = staff_web.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "install-" in page and "Bob Member" in page
    assert "secret-push-token" not in page and "secretsession1" not in page
    assert 'name="_save"' not in page
    staff_web.post(url, {"status": "revoked", "device_model": "changed"})
    device.refresh_from_db()
    assert device.status == Device.Status.ACTIVE and device.device_model == "Pixel 1"


def test_staff_cannot_add_or_delete_devices(staff_web, personas):
    device = make_device(personas.bob)
    assert staff_web.get(reverse("admin:devices_device_add")).status_code == 403
    assert (
        staff_web.post(reverse("admin:devices_device_delete", args=[device.pk])).status_code == 403
    )
    assert Device.objects.filter(pk=device.pk).exists()


def test_the_revoke_action_asks_for_the_reason_first(staff_web, personas):
    device = make_device(personas.bob)
    response = _revoke(staff_web, [device])
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="reason"' in page and "Bob Member (Acme)" in page
    device.refresh_from_db()
    assert device.status == Device.Status.ACTIVE


@pytest.mark.parametrize(
    "reason, message",
    [
        ("", "Give a reason for revoking this device."),
        ("x" * 10_000, "Keep the reason to 500 characters (it has 10000)."),
        ("a\x00b", "The reason contains a NUL character"),
    ],
)
def test_a_bad_reason_revokes_nothing(staff_web, personas, reason, message):
    device = make_device(personas.bob)
    response = _revoke(staff_web, [device], apply="1", reason=reason)
    assert response.status_code == 400 and message in response.content.decode()
    device.refresh_from_db()
    assert device.status == Device.Status.ACTIVE


def test_the_revoke_action_signs_the_devices_out_through_the_service(staff_web, sam, personas, app):
    bob_token = signed_in_device(app, personas.bob, installation_id="install-bob-phone")
    dan_token = signed_in_device(app, personas.dan, installation_id="install-dan-phone")
    devices = list(Device.objects.order_by("pk"))
    already = make_device(personas.alice, status=Device.Status.REVOKED)
    response = _revoke(staff_web, [*devices, already], apply="1", reason="<b>Reported stolen</b>")
    assert response.status_code == 302
    page = staff_web.get(response["Location"]).content.decode()
    assert "2 device(s) revoked and signed out." in page
    assert "1 device(s) were already revoked: skipped." in page

    for token in (bob_token, dan_token):
        assert api(app, "get", "/api/v1/me", token).status_code == 401
    for device in devices:
        device.refresh_from_db()
        assert device.status == Device.Status.REVOKED
        assert device.revoke_reason == Device.RevokeReason.STAFF
        assert device.revoked_by == sam and device.revoke_note == "<b>Reported stolen</b>"
    events = AuditEvent.objects.filter(action=AuditEvent.Action.DEVICE_REVOKED)
    assert {e.client_id for e in events} == {personas.client_a.pk, personas.client_b.pk}
    assert all(e.actor == sam and e.actor_kind == AuditEvent.ActorKind.STAFF for e in events)
    assert events.count() == 2


def test_the_client_admin_shows_the_device_policy_read_only(staff_web, personas):
    url = reverse("admin:clients_client_change", args=[personas.client_a.pk])
    page = staff_web.get(url).content.decode()
    assert "Device policy" in page and "Replace the old device" in page
    assert 'name="device_policy"' not in page


def test_client_users_cannot_open_the_device_admin(client, personas):
    client.force_login(personas.alice)
    assert client.get(CHANGELIST, follow=True).status_code == 403
