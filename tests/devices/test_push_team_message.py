"""Admin tasks, "message your team": a client admin's push to their company's phones."""

import pytest
from django.urls import reverse

from clients.models import AuditEvent
from devices.models import Device

from .push_server import device_of, fcm_fixture  # noqa: F401 (the fixture `fcm`)

pytestmark = pytest.mark.django_db

URL = "/app/admin-tasks/devices/message/"


@pytest.fixture
def phones(personas):
    """Alice's and Bob's phones at Acme; Dan's at Bravo; and at Acme a phone without a token,
    a revoked one and a deactivated user's, which get nothing."""
    from tests.factories import UserFactory

    gone = UserFactory(client=personas.client_a, is_active=False)
    no_token = UserFactory(client=personas.client_a)
    return {
        "alice": device_of(personas.alice, token="alice-token"),
        "bob": device_of(personas.bob, token="bob-token"),
        "dan": device_of(personas.dan, token="dan-token"),
        "gone": device_of(gone, token="gone-token"),
        "no_token": Device.objects.filter(pk=device_of(no_token).pk).update(push_token=""),
        "revoked": device_of(no_token, status=Device.Status.REVOKED, token="revoked-token"),
    }


def test_the_url_is_in_admin_tasks():
    assert reverse("devices:message") == URL


def test_an_admin_sees_how_many_devices_will_get_it(client, personas, phones):
    client.force_login(personas.alice)
    response = client.get(URL)
    assert response.status_code == 200
    assert "It will go to <strong>2 devices</strong>" in response.content.decode()


def test_a_member_is_refused(client, personas, phones):
    client.force_login(personas.bob)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"title": "Hi", "body": "All"}).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.TEAM_MESSAGE_SENT).exists()


def test_signed_out_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_it_goes_to_the_clients_phones_only_and_is_audited(
    client, personas, phones, fcm, django_capture_on_commit_callbacks
):
    client.force_login(personas.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            URL, {"title": "Team meeting", "body": "Monday 9:00 at the Pune office."}
        )
    assert response.status_code == 302 and response["Location"] == URL
    assert sorted(m["token"] for m in fcm.messages) == ["alice-token", "bob-token"]
    assert fcm.messages[0]["notification"] == {
        "title": "Team meeting",
        "body": "Monday 9:00 at the Pune office.",
    }
    assert fcm.messages[0]["data"] == {"kind": "team_message"}
    event = AuditEvent.objects.get(action=AuditEvent.Action.TEAM_MESSAGE_SENT)
    assert event.client == personas.client_a and event.actor == personas.alice
    assert event.counts == {"recipients": 2}
    assert "Monday" not in str(event.changes)  # what it said is not kept
    page = client.get(URL).content.decode()
    assert "Your message is on its way to 2 devices." in page


def test_a_large_team_is_fanned_out_in_batches(
    client, personas, fcm, monkeypatch, django_capture_on_commit_callbacks
):
    from devices import notify
    from tests.factories import UserFactory

    monkeypatch.setattr(notify, "FAN_OUT_BATCH", 2)  # five phones: batches of 2, 2 and 1
    tokens = {f"token-{i}" for i in range(5)}
    for token in sorted(tokens):
        device_of(UserFactory(client=personas.client_a), token=token)
    client.force_login(personas.alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, {"title": "Hello", "body": "Everyone"})
    assert sorted(m["token"] for m in fcm.messages) == sorted(tokens)


def test_it_is_limited_per_client_and_says_when_to_try_again(
    client, personas, phones, settings, django_capture_on_commit_callbacks
):
    settings.TEAM_MESSAGES_PER_CLIENT_PER_HOUR = 2
    client.force_login(personas.alice)
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(2):
            assert client.post(URL, {"title": f"No. {i}", "body": "x"}).status_code == 302
        response = client.post(URL, {"title": "Third", "body": "x"})
    assert response.status_code == 429
    text = response.content.decode()
    assert "Acme has sent 2 team messages in the last hour" in text
    assert "Nothing was sent. Try again after " in text
    assert AuditEvent.objects.filter(action=AuditEvent.Action.TEAM_MESSAGE_SENT).count() == 2
    # another client has its own limit
    client.force_login(personas.carol)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(URL, {"title": "Bravo", "body": "x"}).status_code == 302


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"title": "", "body": "x"}, "This field is required."),
        ({"title": "x", "body": "   "}, "This field is required."),
        ({"title": "T" * 81, "body": "x"}, "at most 80 characters"),
        ({"title": "x", "body": "B" * 501}, "at most 500 characters"),
        ({"title": "x\x00y", "body": "x"}, "Null characters are not allowed."),
        ({"title": "Card", "body": "Pay with 4111 1111 1111 1111"}, "card number"),
        ({"title": "x", "body": "y", "unknown": "field"}, None),  # an unknown field is ignored
    ],
)
def test_bad_input_is_refused_with_a_message(
    client, personas, phones, fcm, data, error, django_capture_on_commit_callbacks
):
    client.force_login(personas.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, data)
    if error is None:
        assert response.status_code == 302
        return
    assert response.status_code == 400
    assert error in response.content.decode()
    assert fcm.sends == []
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.TEAM_MESSAGE_SENT).exists()


def test_hostile_text_is_shown_escaped_and_sent_as_plain_text(
    client, personas, phones, fcm, django_capture_on_commit_callbacks
):
    client.force_login(personas.alice)
    hostile = "<script>alert(1)</script>"
    response = client.post(URL, {"title": hostile, "body": "T" * 501})
    assert response.status_code == 400
    assert hostile not in response.content.decode()
    assert "&lt;script&gt;" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, {"title": hostile, "body": "x"})
    assert fcm.messages[0]["notification"]["title"] == hostile  # phones show text, not HTML


def test_nobody_to_send_to_says_so(client, personas, django_capture_on_commit_callbacks):
    client.force_login(personas.alice)
    assert "Nobody has the app signed in" in client.get(URL).content.decode()
    response = client.post(URL, {"title": "Hi", "body": "x"})
    assert response.status_code == 400
    assert "nothing was sent" in response.content.decode()
