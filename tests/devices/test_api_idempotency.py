"""Idempotency-Key on the mobile API's writes: a retry gets the first answer and changes
nothing; the same key for another request is refused; two retries at once run once."""

import datetime
import io
import threading
import uuid

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from devices.api import api as ninja_api
from devices.models import IdempotencyRecord
from prospects import services
from prospects.models import Prospect, ProspectEvent, StoredFile
from tests.factories import ProspectFactory

from .helpers import api, signed_in_device

pytestmark = pytest.mark.django_db

LIST = "/api/v1/prospects"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    # Argon2 costs a second per sign-in and per persona; these tests are not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def token(client, personas):
    return signed_in_device(client, personas.bob)


def create(client, token, key, **fields):
    body = {"id": fields.pop("id", None) or str(uuid.uuid4()), "name": "Priya", **fields}
    return api(client, "post", LIST, token, body, **{"Idempotency-Key": key})


def test_a_retried_create_makes_one_prospect_and_gets_the_same_answer(client, token):
    body = {"id": str(uuid.uuid4()), "name": "Priya", "phones": ["98765 43210"]}
    first = api(client, "post", LIST, token, body, **{"Idempotency-Key": "create-1"})
    again = api(client, "post", LIST, token, body, **{"Idempotency-Key": "create-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Prospect.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.key, record.status_code) == ("create-1", 201)


def test_a_retried_update_runs_once(client, personas, token):
    prospect = ProspectFactory(client=personas.client_a, name="Priya")
    prospect.refresh_from_db()
    body = {"version": str(prospect.sync_txid), "status": "contacted"}
    path = f"{LIST}/{prospect.public_id}"
    for _ in range(3):
        response = api(client, "patch", path, token, body, **{"Idempotency-Key": "edit-1"})
        assert response.status_code == 200
    assert ProspectEvent.objects.filter(prospect=prospect).count() == 1  # one status change


def test_a_key_past_its_days_is_free_again(client, token, settings):
    assert create(client, token, "old-key").status_code == 201
    IdempotencyRecord.objects.update(
        created_at=timezone.now() - datetime.timedelta(days=settings.API_IDEMPOTENCY_DAYS, hours=1)
    )
    response = create(client, token, "old-key", name="A new prospect")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Prospect.objects.count() == 2
    assert IdempotencyRecord.objects.get().created_at > timezone.now() - datetime.timedelta(1)


def test_the_same_key_for_another_request_is_refused(client, personas, token):
    assert create(client, token, "k-1").status_code == 201
    other_body = create(client, token, "k-1", name="Someone else")
    assert other_body.status_code == 422
    error = other_body.json()["error"]
    assert error["code"] == "idempotency_key_reused" and "new key" in error["message"]
    prospect = Prospect.objects.get()
    other_path = api(
        client, "patch", f"{LIST}/{prospect.public_id}", token,
        {"version": "1", "name": "Priya"}, **{"Idempotency-Key": "k-1"},
    )  # fmt: skip
    assert other_path.status_code == 422
    assert Prospect.objects.count() == 1


def test_keys_are_each_users_own(client, personas, token):
    assert create(client, token, "shared-key").status_code == 201
    other = Client()
    dan = signed_in_device(other, personas.dan, installation_id="install-dan")
    response = create(other, dan, "shared-key", name="Dan's")
    assert response.status_code == 201 and response.json()["name"] == "Dan's"
    assert Prospect.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 201, "tab\there", "snow☃", "nul\x00"])
def test_a_malformed_key_is_a_400(client, token, key):
    response = create(client, token, key)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "idempotency_key_invalid"
    assert not Prospect.objects.exists()


def test_refusals_by_the_operation_are_kept_and_answered_again(client, personas, token):
    app_id = str(uuid.uuid4())
    first = create(client, token, "bad-1", id=app_id, email="not an email")
    assert first.status_code == 400
    again = create(client, token, "bad-1", id=app_id, email="not an email")
    assert again.status_code == 400 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    theirs = ProspectFactory(client=personas.client_b)
    path = f"{LIST}/{theirs.public_id}"
    body = {"version": "1", "name": "X"}
    assert api(client, "patch", path, token, body, **{"Idempotency-Key": "nf"}).status_code == 404
    assert IdempotencyRecord.objects.get(key="nf").status_code == 404
    assert not Prospect.objects.filter(client=personas.client_a).exists()


def test_a_refusal_rolls_back_what_the_operation_wrote_but_keeps_the_answer(
    client, personas, token, monkeypatch
):
    """The prospect is written, then something after it refuses: the prospect goes, the
    answer stays."""
    real = services.prospect_create

    def create_then_refuse(**kwargs):
        real(**kwargs)
        raise services.ValidationError({"name": ["Refused after writing."]})

    monkeypatch.setattr(services, "prospect_create", create_then_refuse)
    response = create(client, token, "late-refusal")
    assert response.status_code == 400
    assert not Prospect.objects.exists()
    assert IdempotencyRecord.objects.get(key="late-refusal").status_code == 400


def test_conflicts_and_requests_refused_before_running_are_not_kept(client, personas, token):
    prospect = ProspectFactory(client=personas.client_a, name="Priya")
    path = f"{LIST}/{prospect.public_id}"
    body = {"version": "1", "name": "Priya S"}
    assert api(client, "patch", path, token, body, **{"Idempotency-Key": "c"}).status_code == 409
    assert create(client, token, "v", name=123).status_code == 422  # its body did not validate
    assert not IdempotencyRecord.objects.exists()
    # the same keys then work for the corrected requests
    prospect.refresh_from_db()
    body["version"] = str(prospect.sync_txid)
    assert api(client, "patch", path, token, body, **{"Idempotency-Key": "c"}).status_code == 200
    assert create(client, token, "v").status_code == 201


def test_a_retried_photo_upload_keeps_one_photo(client, personas, token):
    prospect = ProspectFactory(client=personas.client_a)
    visit = services.visit_plan(
        prospect=prospect, actor=personas.bob, user=personas.bob, scheduled_at=None
    )
    answers = []
    for _ in range(2):
        photo = io.BytesIO(PNG)
        photo.name = "shelf.png"
        answers.append(
            client.post(
                f"/api/v1/visits/{visit.public_id}/photos",
                {"file": photo},
                HTTP_X_SESSION_TOKEN=token,
                HTTP_IDEMPOTENCY_KEY="photo-1",
            )
        )
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert StoredFile.objects.count() == 1


def test_every_write_documents_the_header():
    schema = ninja_api.get_openapi_schema()
    writes = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        if path.startswith(("/api/v1/prospects", "/api/v1/visits"))
        for method, operation in methods.items()
        if method in ("post", "patch", "put", "delete")
    ]
    assert len(writes) == 6
    for path, method, operation in writes:
        headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert headers == ["Idempotency-Key"], (path, method)
        error = operation["responses"][422]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/ErrorOut"}


@pytest.mark.django_db(transaction=True)
def test_two_identical_retries_at_the_same_moment_run_once(personas):
    """The phone sends again before the first answer came: both arrive together. One runs,
    the other waits on the (user, key) lock and answers what the first one kept."""
    token = signed_in_device(Client(), personas.bob)
    body = {"id": str(uuid.uuid4()), "name": "Priya"}
    start = threading.Barrier(2)
    answers = []

    def send():
        try:
            start.wait(timeout=10)
            answers.append(api(Client(), "post", LIST, token, body, **{"Idempotency-Key": "race"}))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(a.status_code for a in answers) == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert sorted(a.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert Prospect.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_erasing_a_prospect_forgets_the_stored_answers_that_hold_it(client, personas, token):
    kept = create(client, token, "keep-1", name="Other Person").json()["id"]
    erased = create(client, token, "erase-1", name="Priya Erased").json()["id"]
    assert IdempotencyRecord.objects.count() == 2
    prospect = Prospect.objects.get(public_id=erased)
    services.prospect_erase(prospect=prospect, actor=personas.alice)
    remaining = list(IdempotencyRecord.objects.values_list("key", flat=True))
    assert remaining == ["keep-1"]
    assert Prospect.objects.filter(public_id=kept).exists()
