"""HexCM staff open a read-only view of a user's restricted area only under that user's active
grant: GET and HEAD only, no download of Client Data unless allowed, admin and the security
pages closed, every page logged, and the view ends when the grant does."""

import uuid

import pytest
from allauth.usersessions.models import UserSession
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import User
from clients.models import AuditEvent
from privacy import support
from privacy.models import SupportAccessLog
from prospects import files
from prospects.models import Prospect
from tests.factories import ProspectFactory
from tests.privacy.support_steps import expire, grant, start_view

STARTED = AuditEvent.Action.SUPPORT_VIEW_STARTED


@pytest.fixture
def in_view(client, personas, sam):
    """Sam in a support view of Bob's account (a grant without downloads)."""
    grant_obj = grant(personas.bob, note="My prospects list looks wrong")
    client.force_login(sam)
    response = start_view(client, grant_obj)
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    return grant_obj


def _changelist():
    return reverse("admin:privacy_supportgrant_changelist")


@pytest.mark.django_db
def test_without_a_grant_staff_cannot_start_a_view_even_with_a_forged_url(client, personas, sam):
    client.force_login(sam)
    forged = reverse("admin:privacy_supportgrant_view_as", args=[uuid.uuid4()])
    assert client.get(forged).status_code == 403
    assert client.post(forged).status_code == 403
    for ended in ("expired", "revoked"):
        grant_obj = grant(personas.bob)
        if ended == "expired":
            expire(grant_obj)
        else:
            support.support_revoke(grant=grant_obj, actor=personas.bob)
        assert start_view(client, grant_obj).status_code == 403
    assert support.SESSION_KEY not in client.session
    # still themselves: the restricted area is not theirs
    assert client.get(reverse("dashboard")).status_code == 403
    assert not SupportAccessLog.objects.exists()
    assert not AuditEvent.objects.filter(action=STARTED).exists()


@pytest.mark.django_db
def test_client_users_cannot_start_a_support_view(client, personas):
    grant_obj = grant(personas.bob)
    for someone in (personas.alice, personas.bob, personas.carol):
        client.force_login(someone)
        response = start_view(client, grant_obj)
        assert response.status_code in (302, 403)
        assert response.get("Location") != reverse("dashboard")
        assert support.SESSION_KEY not in client.session
    with pytest.raises(support.PermissionDenied):
        support.support_view_start(grant_id=grant_obj.public_id, staff=personas.alice)
    assert not AuditEvent.objects.filter(action=STARTED).exists()
    assert not SupportAccessLog.objects.exists()


@pytest.mark.django_db
def test_staff_see_the_grants_with_a_view_button_on_active_ones_only(client, personas, sam):
    active = grant(personas.bob)
    ended = grant(personas.dan)
    expire(ended)
    client.force_login(sam)
    page = client.get(_changelist()).content.decode()
    assert reverse("admin:privacy_supportgrant_view_as", args=[active.public_id]) in page
    assert reverse("admin:privacy_supportgrant_view_as", args=[ended.public_id]) not in page
    confirm = client.get(reverse("admin:privacy_supportgrant_view_as", args=[active.public_id]))
    assert confirm.status_code == 200 and "bob@acme.example" in confirm.content.decode()
    assert client.get(reverse("admin:privacy_supportaccesslog_changelist")).status_code == 200


@pytest.mark.django_db
def test_under_a_grant_staff_see_the_users_pages_as_that_user(client, personas, sam, in_view):
    ProspectFactory(client=personas.client_a, name="Acme's customer")
    ProspectFactory(client=personas.client_b, name="Bravo's customer")
    assert AuditEvent.objects.filter(action=STARTED, actor=sam).count() == 1

    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert response.wsgi_request.user == personas.bob
    page = response.content.decode()
    assert "Support view of <strong>Bob Member</strong>" in page and "read-only" in page
    assert reverse("privacy:support_view_stop") in page

    page = client.get(reverse("prospects:list")).content.decode()
    assert "Acme&#x27;s customer" in page and "Bravo&#x27;s customer" not in page


@pytest.mark.django_db
def test_no_post_gets_through_and_nothing_changes(client, personas, in_view):
    before = Prospect.objects.count()
    response = client.post(reverse("prospects:create"), {"name": "Planted", "status": "new"})
    assert response.status_code == 403
    assert "Read-only support view" in response.content.decode()
    assert Prospect.objects.count() == before
    response = client.post(reverse("account_settings"), {"full_name": "Changed by support"})
    assert response.status_code == 403
    assert User.objects.get(pk=personas.bob.pk).full_name == "Bob Member"
    # nor can support extend their own access
    assert client.post(reverse("privacy:support_access"), {"days": "7"}).status_code == 403
    assert client.post(reverse("privacy:support_access_revoke")).status_code == 403
    assert support.active_grant(personas.bob) == in_view
    assert client.put(reverse("dashboard")).status_code == 403
    assert client.head(reverse("dashboard")).status_code == 200


@pytest.mark.django_db
def test_admin_and_the_security_pages_are_closed(client, in_view):
    for url in (
        reverse("admin:index"),
        reverse("account_change_password"),
        reverse("account_email"),
        reverse("mfa_index"),
        reverse("usersessions_list"),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Read-only support view" in response.content.decode()


def _bobs_file(personas, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return files.file_store(
        client=personas.client_a,
        actor=personas.bob,
        upload=SimpleUploadedFile("plan.txt", b"the secret plan"),
    )


@pytest.mark.django_db
def test_downloads_of_client_data_are_refused_without_permission(
    client, personas, sam, settings, tmp_path
):
    stored = _bobs_file(personas, settings, tmp_path)
    prospect = ProspectFactory(client=personas.client_a)
    client.force_login(sam)
    start_view(client, grant(personas.alice))  # an admin: the prospect's data ZIP is theirs
    for url in (
        reverse("prospects:file", args=[stored.public_id]),
        reverse("prospects:export"),
        reverse("prospects:data_export", args=[prospect.public_id]),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"the secret plan" not in response.content
        assert "not allowed downloads" in response.content.decode()


@pytest.mark.django_db
def test_downloads_go_through_when_the_grant_allows_them(client, personas, sam, settings, tmp_path):
    stored = _bobs_file(personas, settings, tmp_path)
    client.force_login(sam)
    start_view(client, grant(personas.bob, allow_downloads=True))
    response = client.get(reverse("prospects:file", args=[stored.public_id]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"the secret plan"


@pytest.mark.django_db
def test_every_page_is_logged_and_listed_to_the_user(client, personas, sam, in_view):
    client.get(reverse("dashboard"))
    client.get(reverse("prospects:list") + "?q=private+words")
    client.post(reverse("prospects:create"), {"name": "Planted"})
    logged = list(SupportAccessLog.objects.order_by("at", "pk"))
    assert [(e.method, e.path, e.status_code) for e in logged] == [
        ("GET", "/app/", 200),
        ("GET", "/app/prospects/", 200),  # without its query string
        ("POST", "/app/prospects/new/", 403),
    ]
    assert all(e.staff == sam and e.grant == in_view for e in logged)

    bob = Client()
    bob.force_login(personas.bob)
    page = bob.get(reverse("privacy:support_access")).content.decode()
    assert "GET /app/prospects/" in page and "POST /app/prospects/new/" in page
    assert "private+words" not in page and "Sam Support" in page


@pytest.mark.django_db
def test_an_expired_grant_ends_the_view_at_the_next_request(client, in_view):
    client.get(reverse("dashboard"))
    expire(in_view)
    response = client.get(reverse("prospects:list"))
    assert response.status_code == 302 and response["Location"] == _changelist()
    assert support.SESSION_KEY not in client.session
    page = client.get(response["Location"]).content.decode()
    assert "The support view has ended" in page
    assert client.get(reverse("prospects:list")).status_code == 403  # staff are themselves again
    assert SupportAccessLog.objects.count() == 1


@pytest.mark.django_db
def test_a_revoked_grant_ends_the_view_at_once(client, personas, in_view):
    assert client.get(reverse("dashboard")).status_code == 200
    bob = Client()
    bob.force_login(personas.bob)
    assert bob.post(reverse("privacy:support_access_revoke")).status_code == 302
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"] == _changelist()
    assert support.SESSION_KEY not in client.session


@pytest.mark.django_db
def test_a_deactivated_user_ends_the_view(client, personas, in_view):
    User.objects.filter(pk=personas.bob.pk).update(is_active=False)
    assert client.get(reverse("dashboard")).status_code == 302
    assert support.SESSION_KEY not in client.session


@pytest.mark.django_db
def test_stopping_gives_staff_their_own_session_back_and_leaves_the_users_alone(
    client, personas, sam, in_view
):
    last_login = User.objects.get(pk=personas.bob.pk).last_login
    session_key = client.session.session_key
    client.get(reverse("dashboard"))
    client.get(reverse("prospects:list"))

    response = client.post(reverse("privacy:support_view_stop"))
    assert response.status_code == 302 and response["Location"] == _changelist()
    page = client.get(_changelist())
    assert page.status_code == 200 and page.wsgi_request.user == sam
    assert "Support view ended" in page.content.decode()
    assert client.session.session_key == session_key
    assert client.session["_auth_user_id"] == str(sam.pk)
    assert support.SESSION_KEY not in client.session
    assert client.get(reverse("dashboard")).status_code == 403  # the restricted area is closed
    assert "Support view of" not in client.get(_changelist()).content.decode()
    # the user's own sign-in records are untouched
    assert User.objects.get(pk=personas.bob.pk).last_login == last_login
    assert not UserSession.objects.filter(user=personas.bob).exists()
    # the stop itself is logged, as the last page of the view
    assert SupportAccessLog.objects.order_by("-at", "-pk").first().path == "/app/support-view/stop/"


@pytest.mark.django_db
def test_sign_out_always_works_in_a_view(client, sam, in_view):
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert support.SESSION_KEY not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize("layer", ["by its address", "by its attachment header"])
def test_each_download_guard_refuses_on_its_own(
    client, personas, sam, settings, tmp_path, monkeypatch, layer
):
    stored = _bobs_file(personas, settings, tmp_path)
    if layer == "by its address":
        monkeypatch.setattr(support, "_is_download", lambda response: False)
    else:  # a download the list does not name yet
        monkeypatch.setattr(support, "DOWNLOADS", frozenset())
    client.force_login(sam)
    start_view(client, grant(personas.bob))
    response = client.get(reverse("prospects:file", args=[stored.public_id]))
    assert response.status_code == 403 and b"the secret plan" not in response.content
    assert "not allowed downloads" in response.content.decode()


@pytest.mark.django_db
def test_whatever_a_page_writes_in_a_view_is_rolled_back(client, personas, monkeypatch, in_view):
    # the second line behind the method check: were a writing request let through, its
    # writes would still not stay
    monkeypatch.setattr(support, "READ_METHODS", frozenset({"GET", "HEAD", "POST"}))
    before = Prospect.objects.count()
    response = client.post(reverse("prospects:create"), {"name": "Planted", "status": "new"})
    assert response.status_code in (200, 302, 400)
    assert Prospect.objects.count() == before
    assert SupportAccessLog.objects.filter(method="POST").count() == 1
