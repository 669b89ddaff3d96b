"""Admin tasks → Devices: a client admin sees their company's devices, revokes one with a
reason, approves or refuses new ones and chooses the device policy; nobody else can."""

import pytest
from django.db import connection
from django.test import Client as WebClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clients.models import AuditEvent, Client
from devices import queries
from devices.models import Device

from .helpers import api, app_sign_in, register, signed_in_device
from .rows import make_device, many_devices

pytestmark = pytest.mark.django_db

Status = Device.Status
LIST_PAGES = ["devices:list", "devices:pending", "devices:refused"]
POST_ACTIONS = ["devices:revoke", "devices:approve", "devices:refuse"]


@pytest.fixture
def app():
    """The mobile app's HTTP client: no cookies shared with the admin's browser."""
    return WebClient()


@pytest.fixture
def alice_web(client, personas):
    client.force_login(personas.alice)
    return client


# --- who may open what ------------------------------------------------------------------


@pytest.mark.parametrize("name", LIST_PAGES)
def test_every_list_page_opens_for_the_admin_and_shows_their_devices(alice_web, personas, name):
    make_device(personas.bob, status=Status.PENDING, refused_attempts=1)
    make_device(personas.dan, status=Status.PENDING, refused_attempts=1)
    query = "?status=pending" if name == "devices:list" else ""
    response = alice_web.get(reverse(name) + query)
    assert response.status_code == 200
    page = response.content.decode()
    assert "bob@acme.example" in page and "Pixel 1" in page
    assert "dan@bravo.example" not in page


def test_the_revoke_page_opens_for_the_admin(alice_web, personas):
    device = make_device(personas.bob, app_version="3.1.4")
    response = alice_web.get(reverse("devices:revoke", args=[device.public_id]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Bob Member" in page and "3.1.4" in page and 'name="reason"' in page


@pytest.mark.parametrize("name", LIST_PAGES)
def test_a_member_gets_the_refusal_page(client, personas, name):
    client.force_login(personas.bob)
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert "Admin tasks are for your company's admins" in response.content.decode()


@pytest.mark.parametrize("name", POST_ACTIONS)
def test_a_member_cannot_act_on_devices(client, personas, name):
    device = make_device(personas.alice, status=Status.PENDING)
    client.force_login(personas.bob)
    assert client.get(reverse("devices:revoke", args=[device.public_id])).status_code == 403
    response = client.post(reverse(name, args=[device.public_id]), {"reason": "gone"})
    assert response.status_code == 403
    device.refresh_from_db()
    assert device.status == Status.PENDING


@pytest.mark.parametrize("name", POST_ACTIONS)
def test_another_clients_device_is_a_404(client, personas, name):
    device = make_device(personas.bob, status=Status.PENDING)
    client.force_login(personas.carol)
    assert client.get(reverse("devices:revoke", args=[device.public_id])).status_code == 404
    response = client.post(reverse(name, args=[device.public_id]), {"reason": "gone"})
    assert response.status_code == 404
    device.refresh_from_db()
    assert device.status == Status.PENDING


def test_another_admin_lists_only_their_own_clients_devices(client, personas):
    make_device(personas.bob)
    client.force_login(personas.carol)
    for name in LIST_PAGES:
        response = client.get(reverse(name) + "?status=any")
        assert response.status_code == 200
        assert "bob@acme.example" not in response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client, personas):
    response = client.get(reverse("devices:list"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_actions_are_post_only_and_need_the_csrf_token(personas):
    device = make_device(personas.bob, status=Status.PENDING)
    browser = WebClient(enforce_csrf_checks=True)
    browser.force_login(personas.alice)
    url = reverse("devices:approve", args=[device.public_id])
    assert browser.get(url).status_code == 405
    assert browser.post(url).status_code == 403
    revoke = reverse("devices:revoke", args=[device.public_id])
    assert browser.post(revoke, {"reason": "lost"}).status_code == 403
    device.refresh_from_db()
    assert device.status == Status.PENDING


def test_the_admin_tasks_pages_link_to_devices(alice_web):
    page = alice_web.get(reverse("admin_tasks:users")).content.decode()
    assert f'href="{reverse("devices:list")}"' in page


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_each_devices_details_and_filters_by_status(alice_web, personas):
    make_device(personas.bob, device_model="Galaxy S24", app_version="2.9.1")
    make_device(
        personas.alice, 2, status=Status.REVOKED, revoked_at=timezone.now(), revoke_note="Stolen"
    )
    page = alice_web.get(reverse("devices:list")).content.decode()
    assert "Bob Member" in page and "bob@acme.example" in page
    assert "Android" in page and "Galaxy S24" in page and "2.9.1" in page
    assert "Stolen" not in page  # active ones by default
    page = alice_web.get(reverse("devices:list") + "?status=revoked").content.decode()
    assert "Stolen" in page and "Galaxy S24" not in page
    page = alice_web.get(reverse("devices:list") + "?status=any").content.decode()
    assert "Stolen" in page and "Galaxy S24" in page


def test_the_list_searches_by_the_persons_name_or_email(alice_web, personas):
    make_device(personas.bob, device_model="Bobs phone")
    make_device(personas.alice, device_model="Alices phone")
    page = alice_web.get(reverse("devices:list") + "?q=ROBERT").content.decode()
    assert "Bobs phone" not in page and "No devices match" in page
    page = alice_web.get(reverse("devices:list") + "?q=bob@acme").content.decode()
    assert "Bobs phone" in page and "Alices phone" not in page
    page = alice_web.get(reverse("devices:list") + "?q=alice+admin").content.decode()
    assert "Alices phone" in page and "Bobs phone" not in page


def test_the_list_tells_the_admin_how_many_wait_for_approval(alice_web, personas):
    make_device(personas.bob, status=Status.PENDING)
    page = alice_web.get(reverse("devices:list")).content.decode()
    assert "1 device waiting for your approval" in page


@pytest.mark.parametrize(
    "query, message",
    [
        ("?q=a%00b", "The search contains a NUL character"),
        ("?q=" + "x" * 500, "Search with at most 100 characters"),
        ("?status=%3Cscript%3E", "Choose a status from the list"),
        ("?after=not-a-cursor", "That page link is broken"),
        ("?after=WzEsMl0", "That page link is broken"),  # [1,2]: not a date
    ],
)
def test_bad_filters_are_a_warning_and_the_default_list(alice_web, personas, query, message):
    make_device(personas.bob, device_model="Still listed")
    response = alice_web.get(reverse("devices:list") + query)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page and "Still listed" in page
    assert "<script>" not in page


def test_pages_follow_each_other_by_keyset_without_gaps_or_repeats(personas):
    many_devices(personas.client_a, 7)
    make_device(personas.bob, 50, last_seen_at=None)  # never seen: listed first
    qs = queries.device_list(personas.client_a, status="any")
    seen, after = [], ""
    while True:
        page = queries.device_page(qs, after=after, size=3)
        seen += [d.pk for d in page.rows]
        if not page.next_cursor:
            break
        after = page.next_cursor
    expected = list(qs.order_by("-last_seen_at", "-id").values_list("pk", flat=True))
    assert seen == expected and len(seen) == 10


@pytest.mark.parametrize(
    "name, status",
    [
        ("devices:list", Status.ACTIVE),
        ("devices:pending", Status.PENDING),
        ("devices:refused", Status.REJECTED),
    ],
)
def test_list_pages_take_the_same_queries_for_1_and_20_devices(
    alice_web, personas, django_assert_max_num_queries, name, status
):
    url = reverse(name)

    def count(expected_rows):
        with CaptureQueriesContext(connection) as ctx:
            response = alice_web.get(url)
        assert response.status_code == 200
        assert len(response.context["page"].rows) == expected_rows
        return len(ctx.captured_queries)

    many_devices(personas.client_a, 1, statuses=[status])
    many_devices(personas.client_b, 3, statuses=[status])  # another client's: never read
    alice_web.get(url)  # the session's first read of the test is not the page's
    one = count(1)
    many_devices(personas.client_a, 19, statuses=[status])
    # the user with their client; SAVEPOINT (the request's atomic block inside the test's);
    # the tenant scope; the page's devices with their users; the list's pending count or the
    # pending page's replaced devices; the scope's reset; RELEASE SAVEPOINT
    with django_assert_max_num_queries(7):
        twenty = count(20)
    assert twenty == one


# --- revoking ------------------------------------------------------------------------------


def test_revoking_on_the_page_signs_the_device_out_at_once(alice_web, personas, app):
    token = signed_in_device(app, personas.bob)
    assert api(app, "get", "/api/v1/me", token).status_code == 200
    device = Device.objects.get(user=personas.bob)
    response = alice_web.post(
        reverse("devices:revoke", args=[device.public_id]), {"reason": "Phone lost on site"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("devices:list")
    page = alice_web.get(response["Location"] + "?status=revoked").content.decode()
    assert "is revoked: it was signed out" in page and "Phone lost on site" in page
    assert api(app, "get", "/api/v1/me", token).status_code == 401
    device.refresh_from_db()
    assert device.status == Status.REVOKED and device.revoke_note == "Phone lost on site"
    assert device.revoked_by == personas.alice
    assert device.revoke_reason == Device.RevokeReason.ADMIN and device.push_token == ""
    event = AuditEvent.objects.get(action=AuditEvent.Action.DEVICE_REVOKED)
    assert event.actor == personas.alice and event.client == personas.client_a


def test_revoking_a_revoked_device_says_so(alice_web, personas):
    device = make_device(personas.bob, status=Status.REVOKED, revoked_at=timezone.now())
    response = alice_web.post(
        reverse("devices:revoke", args=[device.public_id]), {"reason": "again"}, follow=True
    )
    assert "This device is already revoked." in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.DEVICE_REVOKED).exists()


@pytest.mark.parametrize(
    "reason, message",
    [
        ("", "Give a reason for revoking this device."),
        ("   ", "Give a reason for revoking this device."),
        ("lost\x00phone", "The reason contains a NUL character; type it again."),
        ("x" * 10_000, "Keep the reason to 500 characters (it has 10000)."),
    ],
)
def test_a_bad_reason_is_refused_with_a_clear_message(alice_web, personas, reason, message):
    device = make_device(personas.bob)
    response = alice_web.post(
        reverse("devices:revoke", args=[device.public_id]), {"reason": reason}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    device.refresh_from_db()
    assert device.status == Status.ACTIVE


def test_a_reason_with_markup_is_kept_as_text_and_shown_escaped(alice_web, personas):
    device = make_device(personas.bob)
    hostile = '<script>alert("x")</script><b>gone</b>'
    alice_web.post(reverse("devices:revoke", args=[device.public_id]), {"reason": hostile})
    device.refresh_from_db()
    assert device.status == Status.REVOKED and device.revoke_note == hostile
    page = alice_web.get(reverse("devices:list") + "?status=revoked").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;gone&lt;/b&gt;" in page
    assert "<script>alert" not in page and "<b>gone" not in page


# --- approving and refusing ------------------------------------------------------------------


def _set_policy(web, policy):
    return web.post(reverse("devices:policy"), {"policy": policy})


def test_approving_a_new_device_signs_the_old_one_out(alice_web, personas, app):
    assert _set_policy(alice_web, "approve").status_code == 302
    old_token = signed_in_device(app, personas.bob, installation_id="install-old-phone")
    new_token = app_sign_in(app, personas.bob)
    response = register(app, new_token, installation_id="install-new-phone", device_model="Pixel 9")
    assert response.json()["status"] == "pending"
    new = Device.objects.get(installation_id="install-new-phone")

    page = alice_web.get(reverse("devices:pending")).content.decode()
    assert "Pixel 9" in page and "Bob Member" in page and "no other device" not in page
    response = alice_web.post(
        reverse("devices:approve", args=[new.public_id]), {"back": "pending"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("devices:pending")
    assert "is approved; any other device of theirs was signed out." in response.content.decode()

    old = Device.objects.get(installation_id="install-old-phone")
    new.refresh_from_db()
    assert old.status == Status.REVOKED and old.revoke_reason == Device.RevokeReason.REPLACED
    assert new.status == Status.ACTIVE
    assert api(app, "get", "/api/v1/me", old_token).status_code == 401
    current = api(app, "get", "/api/v1/devices/current", new_token)
    assert current.status_code == 200 and current.json()["status"] == "active"
    event = AuditEvent.objects.get(action=AuditEvent.Action.DEVICE_APPROVED)
    assert event.actor == personas.alice


def test_refusing_a_device_signs_it_out_and_it_stays_refused_until_approved(
    alice_web, personas, app
):
    _set_policy(alice_web, "approve")
    old_token = signed_in_device(app, personas.bob, installation_id="install-old-phone")
    new_token = app_sign_in(app, personas.bob)
    register(app, new_token, installation_id="install-new-phone")
    new = Device.objects.get(installation_id="install-new-phone")

    response = alice_web.post(reverse("devices:refuse", args=[new.public_id]), {"back": "list"})
    assert response["Location"] == reverse("devices:list")
    new.refresh_from_db()
    assert new.status == Status.REJECTED
    assert api(app, "get", "/api/v1/me", new_token).status_code == 401
    assert api(app, "get", "/api/v1/me", old_token).status_code == 200

    # Bob tries again on the refused phone: refused, counted, shown to the admin
    retry = app_sign_in(app, personas.bob)
    assert register(app, retry, installation_id="install-new-phone").status_code == 403
    page = alice_web.get(reverse("devices:refused")).content.decode()
    assert "Refused" in page and "<td>1</td>" in page

    # the admin changes her mind: approved from the refused page; Bob signs in on it again
    response = alice_web.post(
        reverse("devices:approve", args=[new.public_id]), {"back": "refused"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("devices:refused")
    assert "They sign in on it again to use it." in response.content.decode()
    assert api(app, "get", "/api/v1/me", old_token).status_code == 401
    again = app_sign_in(app, personas.bob)
    response = register(app, again, installation_id="install-new-phone")
    assert response.status_code == 200 and response.json()["status"] == "active"


def test_a_pending_device_that_tried_again_is_listed_with_the_refused_attempts(
    alice_web, personas, app
):
    _set_policy(alice_web, "approve")
    signed_in_device(app, personas.bob, installation_id="install-old-phone")
    for _ in range(3):
        register(app, app_sign_in(app, personas.bob), installation_id="install-new-phone")
    new = Device.objects.get(installation_id="install-new-phone")
    assert new.status == Status.PENDING and new.refused_attempts == 2
    page = alice_web.get(reverse("devices:refused")).content.decode()
    assert "Waiting for approval" in page and "<td>2</td>" in page
    assert reverse("devices:refuse", args=[new.public_id]) in page


def test_approving_a_signed_out_pending_device_says_what_to_do(alice_web, personas):
    make_device(personas.bob)
    pending = make_device(personas.bob, 2, status=Status.PENDING, session_key="")
    response = alice_web.post(reverse("devices:approve", args=[pending.public_id]), follow=True)
    assert "the user signs in on it again, then you approve it" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == Status.PENDING


def test_an_active_device_cannot_be_approved_or_refused(alice_web, personas):
    device = make_device(personas.bob)
    for name in ("devices:approve", "devices:refuse"):
        response = alice_web.post(reverse(name, args=[device.public_id]), follow=True)
        assert "Only a device waiting for approval" in response.content.decode()
    device.refresh_from_db()
    assert device.status == Status.ACTIVE


# --- the device policy --------------------------------------------------------------------


def test_the_policy_is_explained_and_its_change_audited(alice_web, personas):
    page = alice_web.get(reverse("devices:list")).content.decode()
    assert "their old phone is signed out at once" in page
    assert "waits until an admin approves it here" in page
    assert 'value="replace" checked' in page

    response = _set_policy(alice_web, "approve")
    assert response["Location"] == reverse("devices:list")
    personas.client_a.refresh_from_db()
    assert personas.client_a.device_policy == Client.DevicePolicy.APPROVE
    event = AuditEvent.objects.get(action=AuditEvent.Action.DEVICE_POLICY_CHANGED)
    assert event.actor == personas.alice and event.client == personas.client_a
    assert event.changes == {"device_policy": {"old": "replace", "new": "approve"}}
    page = alice_web.get(reverse("devices:list")).content.decode()
    assert "Device policy saved: an admin approves each new device." in page
    assert 'value="approve" checked' in page
    personas.client_b.refresh_from_db()
    assert personas.client_b.device_policy == Client.DevicePolicy.REPLACE


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "Choose what happens when someone signs in on a new phone."),
        ({"policy": "<script>"}, "Choose one of the two device policies."),
        ({"policy": "approve\x00"}, "Choose one of the two device policies."),
    ],
)
def test_a_bad_policy_is_refused_with_a_message(alice_web, personas, data, message):
    response = alice_web.post(reverse("devices:policy"), data, follow=True)
    assert response.status_code == 200 and message in response.content.decode()
    personas.client_a.refresh_from_db()
    assert personas.client_a.device_policy == Client.DevicePolicy.REPLACE
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.DEVICE_POLICY_CHANGED).exists()


def test_a_member_cannot_change_the_policy(client, personas):
    client.force_login(personas.bob)
    assert _set_policy(client, "approve").status_code == 403
    personas.client_a.refresh_from_db()
    assert personas.client_a.device_policy == Client.DevicePolicy.REPLACE


def test_a_status_page_of_the_list_is_a_range_of_the_client_status_index(personas):
    many_devices(personas.client_a, 8)
    qs = queries.device_list(personas.client_a, status=Status.ACTIVE)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a handful of rows: force the choice
        plan = qs.order_by("-last_seen_at", "-id")[:51].explain()
    assert "device_client_idx" in plan


def test_a_phone_taken_over_from_another_clients_user_can_be_approved(alice_web, personas, app):
    """Dan (client B) used the phone before Bob: Bob's pending sign-in ends Dan's registration
    there (the sign-in sees every client's rows; Alice's approval sees only hers)."""
    _set_policy(alice_web, "approve")
    dan_token = signed_in_device(app, personas.dan, installation_id="install-shared-phone")
    signed_in_device(app, personas.bob, installation_id="install-bob-phone")
    bob_token = app_sign_in(app, personas.bob)
    register(app, bob_token, installation_id="install-shared-phone")
    dans = Device.objects.get(user=personas.dan)
    assert dans.status == Status.REVOKED and dans.revoke_reason == Device.RevokeReason.OTHER_USER
    assert api(app, "get", "/api/v1/me", dan_token).status_code == 401

    bobs = Device.objects.get(user=personas.bob, installation_id="install-shared-phone")
    response = alice_web.post(reverse("devices:approve", args=[bobs.public_id]), follow=True)
    assert "is approved" in response.content.decode()
    bobs.refresh_from_db()
    assert bobs.status == Status.ACTIVE


def test_approving_a_phone_another_clients_user_took_back_is_a_clear_refusal(
    alice_web, personas, app
):
    _set_policy(alice_web, "approve")
    signed_in_device(app, personas.bob, installation_id="install-bob-phone")
    register(app, app_sign_in(app, personas.bob), installation_id="install-shared-phone")
    # meanwhile Dan signs in on the phone again: active there, invisible to Alice
    signed_in_device(app, personas.dan, installation_id="install-shared-phone")
    bobs = Device.objects.get(user=personas.bob, installation_id="install-shared-phone")
    response = alice_web.post(reverse("devices:approve", args=[bobs.public_id]), follow=True)
    assert response.status_code == 200
    assert "This phone is still registered to someone else" in response.content.decode()
    bobs.refresh_from_db()
    assert bobs.status == Status.PENDING
    old = Device.objects.get(user=personas.bob, installation_id="install-bob-phone")
    assert old.status == Status.ACTIVE  # nothing of the refused approval stayed
