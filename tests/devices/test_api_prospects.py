"""The mobile API's prospects: list (the web's search and filters, cursor pages, constant
queries), detail, create with the app's id, update based on a version, and bad input."""

import threading
import uuid

import pytest
from django.db import connections, transaction
from django.test import Client

from clients.models import AuditEvent
from devices.api.schemas import ErrorOut
from prospects.models import CustomField, Prospect, ProspectEvent
from tests.factories import ProspectFactory, UserFactory

from .helpers import api, signed_in_device

pytestmark = pytest.mark.django_db

LIST = "/api/v1/prospects"


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    # Argon2 costs a second per sign-in and per persona; these tests are not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def token(client, personas):
    return signed_in_device(client, personas.bob)


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["name"] for p in response.json()["items"]]


# --- list ---------------------------------------------------------------------------------


def test_the_list_is_the_clients_prospects_by_name(client, personas, token):
    ProspectFactory(client=personas.client_a, name="Zara Traders", phones=["+919876543210"])
    ProspectFactory(client=personas.client_a, name="arun Stores")
    ProspectFactory(client=personas.client_b, name="Bravo's own")
    response = api(client, "get", LIST, token)
    assert names(response) == ["arun Stores", "Zara Traders"]
    zara = response.json()["items"][1]
    assert zara["phones"] == ["+919876543210"]
    assert zara["version"] == str(Prospect.objects.get(name="Zara Traders").sync_txid)
    assert response.json()["next_cursor"] is None


def test_the_list_searches_and_filters_as_the_web_list_does(client, personas, token):
    bob, alice = personas.bob, personas.alice
    ProspectFactory(client=personas.client_a, name="Priya Sharma", phones=["+919876543210"])
    ProspectFactory(
        client=personas.client_a, name="Kumar Bakery", owner=bob, status="customer", tags=["vip"]
    )
    ProspectFactory(client=personas.client_a, name="Lakshmi Foods", owner=alice, tags=["north"])
    assert names(api(client, "get", f"{LIST}?q=sharma", token)) == ["Priya Sharma"]
    assert names(api(client, "get", f"{LIST}?q=98765 432", token)) == ["Priya Sharma"]
    assert names(api(client, "get", f"{LIST}?status=customer", token)) == ["Kumar Bakery"]
    assert names(api(client, "get", f"{LIST}?owner=me", token)) == ["Kumar Bakery"]
    assert names(api(client, "get", f"{LIST}?owner=none", token)) == ["Priya Sharma"]
    owner = f"{LIST}?owner={alice.public_id}"
    assert names(api(client, "get", owner, token)) == ["Lakshmi Foods"]
    assert names(api(client, "get", f"{LIST}?tag=VIP", token)) == ["Kumar Bakery"]


def test_the_list_pages_with_a_cursor_until_the_last_page(client, personas, token):
    for name in ["e", "a", "d", "b", "c"]:
        ProspectFactory(client=personas.client_a, name=name)
    ProspectFactory(client=personas.client_a, name="c")  # the same name: the id decides
    seen, cursor = [], ""
    for _ in range(4):
        response = api(client, "get", f"{LIST}?limit=2&cursor={cursor}", token)
        seen += names(response)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ["a", "b", "c", "c", "d", "e"]
    assert cursor is None


@pytest.mark.parametrize("rows", [1, 50])
def test_the_list_costs_the_same_queries_for_1_or_50_prospects(
    client, personas, token, rows, django_assert_max_num_queries
):
    for n in range(rows):
        ProspectFactory(client=personas.client_a, owner=personas.bob, phones=[f"+9198765432{n:02}"])
    # the request's savepoint, the token's user (the session is in the cache), the device,
    # the tenant scope, the page of prospects with their owners, their phones, the scope's
    # reset, the savepoint's release
    with django_assert_max_num_queries(8):
        response = api(client, "get", f"{LIST}?limit=50&owner=me", token)
    assert len(response.json()["items"]) == rows


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=1e308", "limit"),
        (f"limit={10**40}", "limit"),
        ("status=bribed", "status"),
        ("owner=someone", "owner"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=W1tbW1tbW1tbW1tbW1tbW1tbW1tbW1td", "cursor"),
        ("q=a%00b", "q"),
        ("stauts=new", "stauts"),  # a misspelt filter does not list everything
        (f"q={'x' * 100_000}", "q"),
    ],
)
def test_bad_list_parameters_are_refused_naming_them(client, token, query, field):
    response = api(client, "get", f"{LIST}?{query}", token)
    assert response.status_code == 422, response.content
    error = ErrorOut.model_validate(response.json()).error
    assert field in error.fields and error.message


def test_signed_out_the_list_is_a_401_in_the_one_error_shape(client):
    response = api(client, "get", LIST, None)
    assert response.status_code == 401
    assert ErrorOut.model_validate(response.json()).error.code == "not_signed_in"


# --- detail -------------------------------------------------------------------------------


def test_the_detail_of_a_prospect(client, personas, token):
    prospect = ProspectFactory(client=personas.client_a, name="Priya", owner=personas.alice)
    response = api(client, "get", f"{LIST}/{prospect.public_id}", token)
    assert response.status_code == 200
    assert response.json()["owner_id"] == str(personas.alice.public_id)


def test_another_clients_prospect_is_a_404(client, personas, token):
    theirs = ProspectFactory(client=personas.client_b)
    for method, body in (("get", None), ("patch", {"version": "1", "name": "Mine now"})):
        response = api(client, method, f"{LIST}/{theirs.public_id}", token, body)
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "not_found"
    assert Prospect.objects.get(pk=theirs.pk).name == theirs.name


def test_a_malformed_id_is_a_422_saying_so(client, token):
    response = api(client, "get", f"{LIST}/not-a-uuid", token)
    assert response.status_code == 422
    assert "valid UUID" in response.json()["error"]["fields"]["prospect_id"][0]


# --- create -------------------------------------------------------------------------------


def test_creating_a_prospect_keeps_the_apps_id(client, personas, token):
    CustomField.objects.create(client=personas.client_a, key="tier", label="Tier", kind="number")
    app_id = new_id()
    body = {
        "id": app_id,
        "name": "  Priya   Sharma ",
        "email": "Priya@Example.COM",
        "phones": ["98765 43210"],
        "latitude": 12.97159912,
        "longitude": "77.594566",
        "owner_id": str(personas.bob.public_id),
        "tags": ["VIP", "north"],
        "custom": {"tier": "2"},
    }
    response = api(client, "post", LIST, token, body)
    assert response.status_code == 201, response.content
    prospect = Prospect.objects.get(public_id=app_id)
    shown = response.json()
    assert shown["id"] == app_id and shown["version"] == str(prospect.sync_txid)
    # the web's validation: normalised as the web form would store it
    assert prospect.name == "Priya Sharma" and prospect.email == "priya@example.com"
    assert shown["phones"] == ["+919876543210"] and shown["latitude"] == "12.971599"
    assert prospect.owner == personas.bob and prospect.tags == ["vip", "north"]
    assert prospect.custom == {"tier": 2} and prospect.created_by == personas.bob
    event = AuditEvent.objects.get(action=AuditEvent.Action.PROSPECT_CREATED)
    assert event.actor == personas.bob


def test_the_same_id_again_without_a_key_creates_once(client, personas, token):
    body = {"id": new_id(), "name": "Priya"}
    first = api(client, "post", LIST, token, body)
    again = api(client, "post", LIST, token, {**body, "name": "Changed on the retry"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["name"] == "Priya" and again.json()["id"] == body["id"]
    assert Prospect.objects.count() == 1


def test_an_id_another_client_uses_is_a_409_not_a_500(client, personas, token):
    theirs = ProspectFactory(client=personas.client_b, name="Bravo's")
    response = api(client, "post", LIST, token, {"id": str(theirs.public_id), "name": "Mine"})
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "id_taken" and "Generate a new UUID" in error["message"]
    assert "Bravo" not in response.content.decode()
    assert Prospect.objects.count() == 1


def test_an_id_a_colleague_used_is_a_409(client, personas, token):
    colleagues = ProspectFactory(client=personas.client_a, created_by=personas.alice)
    response = api(client, "post", LIST, token, {"id": str(colleagues.public_id), "name": "B"})
    assert response.status_code == 409
    assert Prospect.objects.get().name == colleagues.name


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({"nickname": "P"}, 422, "nickname", "not part of the request"),
        ({"name": 123}, 422, "name", "valid string"),
        ({"name": ["P"]}, 422, "name", "valid string"),
        ({"phones": "98765 43210"}, 422, "phones", "valid list"),
        ({"latitude": 1e308}, 422, "latitude", "at most 20 digits"),
        ({"latitude": 10**40}, 422, "latitude", "at most 20 digits"),
        ({"latitude": 91}, 422, "latitude", "between -90 and 90"),
        ({"longitude": "NaN"}, 422, "longitude", "must be a number"),
        ({"longitude": True}, 422, "longitude", "not yes/no"),
        ({"name": "Pri\x00ya"}, 422, "name", "NUL"),
        ({"custom": {"tier\x00": 1}}, 422, "custom", "NUL"),
        ({"id": "not-a-uuid"}, 422, "id", "valid UUID"),
        ({"status": "bribed"}, 422, "status", "'new'"),
        ({"custom": {"nope": 1}}, 422, "custom.nope", "No prospect field"),
        ({"custom": {"tier": [1]}}, 422, "custom.tier", "a text, a number"),
        ({"custom": {"tier": 1e308}}, 400, "custom.tier", "at most 15 digits"),
        ({"custom": {"tier": 10**40}}, 400, "custom.tier", "at most 15 digits"),
        ({"name": "x" * 100_000}, 400, "name", "At most 200 characters"),
        ({"notes": "x" * 100_000}, 400, "notes", "At most 10000 characters"),
        ({"name": "   "}, 400, "name", "needs a name"),
        ({"email": "not an email"}, 400, "email", "not a valid email address"),
        ({"phones": ["12"]}, 400, "phones", "not a valid phone number"),
        ({"notes": "card 4111 1111 1111 1111"}, 400, "notes", "payment card number"),
        ({"notes": "<script>alert(1)</script>" * 2}, 201, None, None),
    ],
)
def test_bad_prospect_input_is_refused_with_the_webs_messages(
    client, personas, token, body, status, field, message
):
    CustomField.objects.create(client=personas.client_a, key="tier", label="Tier", kind="number")
    response = api(client, "post", LIST, token, {"id": new_id(), "name": "Priya", **body})
    assert response.status_code == status, response.content
    if status == 201:  # hostile text is kept as text, shown escaped by whoever shows it
        assert Prospect.objects.get().notes.startswith("<script>")
        return
    error = ErrorOut.model_validate(response.json()).error
    assert message in " ".join(error.fields[field])
    assert not Prospect.objects.exists()


def test_an_owner_of_another_client_is_refused(client, personas, token):
    body = {"id": new_id(), "name": "P", "owner_id": str(personas.dan.public_id)}
    response = api(client, "post", LIST, token, body)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "owner_id": ["The owner must be an active user of your company."]
    }


def test_a_body_that_is_not_json_is_refused_saying_what_to_send(client, token):
    response = client.post(
        LIST, "name=Priya", content_type="application/x-www-form-urlencoded",
        HTTP_X_SESSION_TOKEN=token,
    )  # fmt: skip
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]["message"]
    response = client.post(LIST, "{", content_type="application/json", HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 400 and not Prospect.objects.exists()


def test_a_body_over_the_limit_is_a_413(client, token):
    body = {"id": new_id(), "name": "P", "notes": "x" * 6_000_000}
    response = api(client, "post", LIST, token, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


# --- update -------------------------------------------------------------------------------


def test_an_update_changes_only_the_fields_sent(client, personas, token):
    prospect = ProspectFactory(
        client=personas.client_a, name="Priya", city="Pune", phones=["+919876543210"]
    )
    prospect.refresh_from_db()  # its version, set by the database
    body = {"version": str(prospect.sync_txid), "status": "interested", "phones": []}
    response = api(client, "patch", f"{LIST}/{prospect.public_id}", token, body)
    assert response.status_code == 200, response.content
    prospect.refresh_from_db()
    assert prospect.status == "interested" and prospect.city == "Pune"
    assert not prospect.phones.exists() and response.json()["phones"] == []
    assert response.json()["version"] == str(prospect.sync_txid)
    event = ProspectEvent.objects.get(prospect=prospect)
    assert event.kind == ProspectEvent.Kind.STATUS and event.actor == personas.bob


def test_a_stale_version_conflicts_naming_fields_and_server_values(client, personas, token):
    prospect = ProspectFactory(client=personas.client_a, name="Priya", city="Pune")
    prospect.refresh_from_db()
    stale = "1"  # every write in a test shares one transaction id: any other is older
    body = {"version": stale, "name": "Priya S", "city": "Pune", "tags": ["vip"]}
    response = api(client, "patch", f"{LIST}/{prospect.public_id}", token, body)
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "conflict" and set(error["fields"]) == {"name", "tags"}
    assert error["server"] == {"name": "Priya", "tags": []}
    assert error["version"] == str(prospect.sync_txid)
    assert ErrorOut.model_validate(response.json())
    prospect.refresh_from_db()
    assert prospect.name == "Priya" and prospect.tags == []
    assert not ProspectEvent.objects.exists()


def test_a_stale_version_that_changes_nothing_changed_since_is_saved(client, personas, token):
    prospect = ProspectFactory(client=personas.client_a, name="Priya", status="new")
    body = {"version": "1", "name": " Priya ", "status": "new"}  # the server's values
    response = api(client, "patch", f"{LIST}/{prospect.public_id}", token, body)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "P"}, "version"),
        ({"version": "v1", "name": "P"}, "version"),
        ({"version": "1" * 100_000, "name": "P"}, "version"),
        ({"version": "1", "name": None}, "name"),
        ({"version": "1", "status": None}, "status"),
        ({"version": "1", "colour": "red"}, "colour"),
    ],
)
def test_bad_updates_are_refused_naming_the_field(client, personas, token, body, field):
    prospect = ProspectFactory(client=personas.client_a, name="Priya")
    response = api(client, "patch", f"{LIST}/{prospect.public_id}", token, body)
    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert Prospect.objects.get().name == "Priya"


def test_an_update_with_only_a_version_is_refused(client, personas, token):
    prospect = ProspectFactory(client=personas.client_a)
    body = {"version": "1"}
    response = api(client, "patch", f"{LIST}/{prospect.public_id}", token, body)
    assert response.status_code == 422
    assert "at least one field" in response.json()["error"]["message"]


@pytest.mark.django_db(transaction=True)
def test_an_edit_made_offline_on_an_old_copy_conflicts_with_a_newer_edit(client, personas):
    """Real transactions: each request's writes get their own transaction id (version)."""
    bob = signed_in_device(client, personas.bob)
    created = api(client, "post", LIST, bob, {"id": new_id(), "name": "Priya", "city": "Pune"})
    path, copy = f"{LIST}/{created.json()['id']}", created.json()  # bob's phone keeps this
    other = Client()
    alice = signed_in_device(other, personas.alice, installation_id="install-alice")
    edited = api(other, "patch", path, alice, {"version": copy["version"], "name": "Priya Sharma"})
    assert edited.status_code == 200 and edited.json()["version"] != copy["version"]
    # bob, offline, renamed it too and moved it, from his old copy
    response = api(client, "patch", path, bob, {"version": copy["version"], "name": "Priya S"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["server"] == {"name": "Priya Sharma"}
    assert error["version"] == edited.json()["version"]
    # a field nobody else changed, sent with the old version, is saved
    response = api(client, "patch", path, bob, {"version": copy["version"], "city": "Pune"})
    assert response.status_code == 200
    # and with the version he now holds, his rename goes through
    latest = response.json()["version"]
    response = api(client, "patch", path, bob, {"version": latest, "name": "Priya S"})
    assert response.status_code == 200 and response.json()["name"] == "Priya S"


@pytest.mark.django_db(transaction=True)
def test_an_update_waits_for_another_holding_the_row_so_both_cannot_pass_the_check(
    client, personas
):
    """The version is checked under the prospect's row lock: an update arriving while another
    transaction holds the row waits for it, then checks against what that one wrote."""
    token = signed_in_device(client, personas.bob)
    prospect = ProspectFactory(client=personas.client_a, name="Priya")
    version = str(Prospect.objects.get(pk=prospect.pk).sync_txid)
    answers = []

    def update():
        try:
            body = {"version": version, "name": "Priya S"}
            answers.append(api(Client(), "patch", f"{LIST}/{prospect.public_id}", token, body))
        finally:
            connections.close_all()

    with transaction.atomic():
        Prospect.objects.select_for_update().get(pk=prospect.pk)
        Prospect.objects.filter(pk=prospect.pk).update(name="Priya Sharma")
        thread = threading.Thread(target=update)
        thread.start()
        thread.join(timeout=1)
        assert thread.is_alive() and not answers  # waiting on the row
    thread.join(timeout=10)
    assert answers[0].status_code == 409, answers[0].content
    assert answers[0].json()["error"]["server"] == {"name": "Priya Sharma"}


def test_a_deactivated_owner_is_refused_by_the_service(client, personas, token):
    gone = UserFactory(client=personas.client_a, is_active=False)
    body = {"id": new_id(), "name": "P", "owner_id": str(gone.public_id)}
    response = api(client, "post", LIST, token, body)
    assert response.status_code == 400
    assert "active user" in response.json()["error"]["fields"]["owner_id"][0]
