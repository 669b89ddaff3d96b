"""The Admin tasks page for closing the account: admins only (members 403), another client's
closure never visible; the confirm form asks for the company's name (400 otherwise); while
scheduled: the date, the export with its progress and download, a cancel button. A closed
client's users cannot sign in. Staff follow closures in Django admin."""

import io
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from clients.models import Client
from privacy import closure as services
from privacy.models import ClientClosure
from tests.conftest import sign_in
from tests.factories import PASSWORD, ProspectFactory
from tests.prospects.test_garbage_input import GARBAGE

PAGE = "/app/admin-tasks/close-account/"


@pytest.fixture
def alice(client, personas):
    sign_in(client, personas.alice)
    return client


@pytest.mark.django_db
def test_the_admin_sees_what_happens_and_the_confirm_form(alice, django_assert_max_num_queries):
    assert reverse("privacy:closure") == PAGE
    # session, user with client, the open closure, the messages' savepoints
    with django_assert_max_num_queries(8):
        response = alice.get(PAGE)
    assert response.status_code == 200
    text = response.content.decode()
    assert "30 days" in text and "Type the company" in text
    assert (
        response["Cache-Control"].startswith("private") or "no-store" in response["Cache-Control"]
    )


@pytest.mark.django_db
def test_members_get_403_and_visitors_sign_in(client, personas):
    assert client.get(PAGE).status_code == 302
    sign_in(client, personas.bob)
    for name in ("privacy:closure", "privacy:closure_export"):
        assert client.get(reverse(name)).status_code == 403
    for name in ("privacy:closure", "privacy:closure_cancel", "privacy:closure_export_build"):
        assert client.post(reverse(name), {"company_name": "Acme"}).status_code == 403
    assert not ClientClosure.objects.exists()


@pytest.mark.django_db
def test_a_wrong_or_missing_name_is_a_400_with_a_message(alice):
    for data in ({"company_name": "Acme Ltd"}, {}, {"company_name": "x" * 500}):
        response = alice.post(PAGE, data)
        assert response.status_code == 400
    assert "type “Acme” to confirm" in alice.post(PAGE, {"company_name": "nope"}).content.decode()
    for value in GARBAGE:
        for url in (
            PAGE,
            reverse("privacy:closure_cancel"),
            reverse("privacy:closure_export_build"),
        ):
            assert alice.post(url, {"company_name": value}).status_code == 400, (url, value)
        assert alice.get(reverse("privacy:closure_export"), {"x": value}).status_code == 404
    assert not ClientClosure.objects.exists()


@pytest.mark.django_db
def test_confirming_schedules_the_closure_and_shows_the_date_and_cancel(alice, personas):
    response = alice.post(PAGE, {"company_name": " acme "}, follow=True)
    assert response.status_code == 200
    closure = ClientClosure.objects.get(client=personas.client_a)
    text = response.content.decode()
    assert f"{timezone.localtime(closure.delete_after):%-d %B %Y}" in text
    assert reverse("privacy:closure_cancel") in text
    assert alice.post(PAGE, {"company_name": "Acme"}).status_code == 400  # already open
    response = alice.post(reverse("privacy:closure_cancel"), follow=True)
    assert "nothing will be deleted" in response.content.decode()
    closure.refresh_from_db()
    assert closure.status == ClientClosure.Status.CANCELLED
    assert alice.post(reverse("privacy:closure_cancel")).status_code == 400  # nothing open


@pytest.mark.django_db
def test_export_builds_shows_progress_and_downloads(
    alice, personas, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path)
    ProspectFactory(client=personas.client_a, name="Zed")
    closure = services.closure_request(client=personas.client_a, actor=personas.alice)
    assert alice.get(reverse("privacy:closure_export")).status_code == 404  # nothing built
    ClientClosure.objects.filter(pk=closure.pk).update(
        export_status="building", export_done=3, export_total=9
    )
    page = alice.get(PAGE).content.decode()
    assert "3 of 9" in page and 'http-equiv="refresh"' in page
    assert alice.post(reverse("privacy:closure_export_build")).status_code == 400  # running
    ClientClosure.objects.filter(pk=closure.pk).update(export_status="none")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(reverse("privacy:closure_export_build"))
    assert response.status_code == 302
    assert reverse("privacy:closure_export") in alice.get(PAGE).content.decode()
    response = alice.get(reverse("privacy:closure_export"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert "no-store" in response["Cache-Control"]
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as zf:
        assert "Zed" in zf.read("prospects.csv").decode("utf-8-sig")


@pytest.mark.django_db
def test_another_clients_closure_is_never_visible(client, personas):
    services.closure_request(client=personas.client_a, actor=personas.alice)
    ClientClosure.objects.filter(client=personas.client_a).update(export_status="ready")
    sign_in(client, personas.carol)
    page = client.get(PAGE)
    assert page.status_code == 200 and "being closed" not in page.content.decode()
    assert client.get(reverse("privacy:closure_export")).status_code == 404
    assert client.post(reverse("privacy:closure_cancel")).status_code == 400
    assert ClientClosure.objects.get(client=personas.client_a).status == "scheduled"


@pytest.mark.django_db
def test_a_closed_clients_users_cannot_sign_in_and_open_sessions_are_refused(client, personas):
    other = type(client)()
    other.force_login(personas.bob)
    Client.objects.filter(pk=personas.client_a.pk).update(status=Client.Status.CLOSED)
    response = client.post(
        reverse("account_login"), {"login": "alice@acme.example", "password": PASSWORD}
    )
    assert response.status_code == 403 and "account is closed" in response.content.decode()
    assert "_auth_user_id" not in client.session
    page = other.get(reverse("dashboard"))
    assert page.status_code == 403 and "account is closed" in page.content.decode()
    sign_in(client, personas.carol)  # other clients are not affected


@pytest.mark.django_db
def test_staff_see_closures_with_progress_and_cancel_one(client, personas, sam):
    closure = services.closure_request(client=personas.client_a, actor=personas.alice)
    ClientClosure.objects.filter(pk=closure.pk).update(progress={"prospects.prospect": 1200})
    client.force_login(sam)
    url = reverse("admin:privacy_clientclosure_changelist")
    page = client.get(url)
    assert page.status_code == 200 and "1,200 prospects" in page.content.decode()
    assert (
        client.get(reverse("admin:privacy_clientclosure_change", args=[closure.pk])).status_code
        == 200
    )
    response = client.post(
        url, {"action": "cancel_closures", "_selected_action": [closure.pk]}, follow=True
    )
    assert "1 closure(s) cancelled" in response.content.decode()
    closure.refresh_from_db()
    assert closure.status == "cancelled" and closure.cancelled_by == sam


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 50])
def test_the_staff_list_costs_the_same_queries_for_1_or_50_closures(
    client, sam, rows, django_assert_max_num_queries
):
    from django.utils import timezone

    from tests.factories import ClientFactory

    now = timezone.now()
    ClientClosure.objects.bulk_create(
        ClientClosure(
            client=ClientFactory(), requested_at=now, delete_after=now, progress={"a.b": 1}
        )
        for _ in range(rows)
    )
    client.force_login(sam)
    # session, staff user, MFA authenticators, savepoints, two counts, the page of closures
    # with their clients (one join), the date hierarchy, the policy banner's cache fill: 10
    # whatever the number of rows
    with django_assert_max_num_queries(10):
        assert client.get(reverse("admin:privacy_clientclosure_changelist")).status_code == 200


@pytest.mark.django_db
def test_the_page_of_a_scheduled_closure_costs_a_few_queries(
    alice, personas, django_assert_max_num_queries
):
    services.closure_request(client=personas.client_a, actor=personas.alice)
    # session, user with client, savepoint, scope, the open closure, who requested it, reset
    with django_assert_max_num_queries(7):
        assert alice.get(PAGE).status_code == 200
