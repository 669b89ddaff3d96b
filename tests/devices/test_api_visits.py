"""The mobile API's visits: mine (today, upcoming, all), plan with the app's id, check in with a
position, complete with the report and the checklist's answers, photos, and bad input."""

import datetime
import io
import uuid

import pytest
from django.utils import timezone

from clients.models import AuditEvent
from devices.api.schemas import ErrorOut
from prospects import services
from prospects.models import Checklist, StoredFile, Visit
from tests.factories import ProspectFactory

from .helpers import api, signed_in_device

pytestmark = pytest.mark.django_db

VISITS = "/api/v1/visits"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 100
ITEMS = [
    {"key": "shelf-photo", "label": "Shelf photo", "kind": "photo", "required": True},
    {"key": "boxes", "label": "Boxes", "kind": "number", "required": True},
    {"key": "samples", "label": "Samples given", "kind": "check", "required": False},
    {"key": "remark", "label": "Remark", "kind": "text", "required": False},
]


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    # Argon2 costs a second per sign-in and per persona; these tests are not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def token(client, personas):
    return signed_in_device(client, personas.bob)


@pytest.fixture
def prospect(personas):
    return ProspectFactory(client=personas.client_a, name="Priya Stores")


@pytest.fixture
def checklist(personas):
    return Checklist.objects.create(client=personas.client_a, name="Store audit", items=ITEMS)


@pytest.fixture
def visit(personas, prospect, checklist):
    """Bob's planned visit to Priya Stores, on the store audit checklist."""
    return services.visit_plan(
        prospect=prospect,
        actor=personas.alice,
        user=personas.bob,
        scheduled_at=timezone.now(),
        checklist=checklist,
    )


def plan(personas, prospect, user=None, *, at=None, status=Visit.Status.PLANNED):
    visit = services.visit_plan(
        prospect=prospect, actor=personas.alice, user=user or personas.bob, scheduled_at=at
    )
    if status != Visit.Status.PLANNED:
        Visit.objects.filter(pk=visit.pk).update(status=status)
    return visit


def upload(client, token, visit, content=PNG, name="shelf.png", **data):
    photo = io.BytesIO(content)
    photo.name = name
    return client.post(
        f"{VISITS}/{visit.public_id}/photos",
        {"file": photo, **data},
        HTTP_X_SESSION_TOKEN=token,
    )


def listed(client, token, query="") -> list[str]:
    response = api(client, "get", f"{VISITS}?{query}", token)
    assert response.status_code == 200, response.content
    return [v["id"] for v in response.json()["items"]]


# --- list ---------------------------------------------------------------------------------


def test_my_visits_today_upcoming_and_all(client, personas, prospect, token):
    now = timezone.now()
    day = datetime.timedelta(days=1)
    yesterday = plan(personas, prospect, at=now - day)
    today = plan(personas, prospect, at=now)
    done_today = plan(personas, prospect, at=now, status=Visit.Status.DONE)
    tomorrow = plan(personas, prospect, at=now + day)
    unscheduled = plan(personas, prospect)
    plan(personas, prospect, user=personas.alice, at=now)  # a colleague's
    theirs = ProspectFactory(client=personas.client_b)
    services.visit_plan(
        prospect=theirs, actor=personas.carol, user=personas.carol, scheduled_at=now
    )

    def ids(*visits):
        return [str(v.public_id) for v in visits]

    assert sorted(listed(client, token, "when=today")) == sorted(ids(today, done_today))
    assert listed(client, token, "when=upcoming") == ids(today, tomorrow)
    assert listed(client, token, "when=all") == ids(
        yesterday, today, done_today, tomorrow, unscheduled
    )
    assert listed(client, token) == ids(today, tomorrow)  # upcoming by default


def test_today_is_the_callers_time_zone_day(client, personas, prospect, token):
    # 23:30 in UTC is already tomorrow in India: not "today" there, whatever the clock says
    kolkata = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    local_today = timezone.now().astimezone(kolkata).date()
    start = datetime.datetime.combine(local_today, datetime.time(), tzinfo=kolkata)
    inside = plan(personas, prospect, at=start + datetime.timedelta(hours=1))
    plan(personas, prospect, at=start - datetime.timedelta(minutes=1))  # yesterday there
    plan(personas, prospect, at=start + datetime.timedelta(days=1))  # tomorrow there
    assert listed(client, token, "when=today&tz=Asia/Kolkata") == [str(inside.public_id)]


def test_my_visits_page_with_a_cursor_unscheduled_last(client, personas, prospect, token):
    now = timezone.now()
    visits = [plan(personas, prospect, at=now + datetime.timedelta(hours=h)) for h in (3, 1, 2)]
    visits += [plan(personas, prospect), plan(personas, prospect)]
    seen, cursor = [], ""
    for _ in range(5):
        response = api(client, "get", f"{VISITS}?when=all&limit=2&cursor={cursor}", token)
        seen += [v["id"] for v in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    expected = [visits[1], visits[2], visits[0], visits[3], visits[4]]
    assert seen == [str(v.public_id) for v in expected]


@pytest.mark.parametrize("rows", [1, 50])
def test_my_visits_cost_the_same_queries_for_1_or_50(
    client, personas, prospect, token, rows, django_assert_max_num_queries
):
    for _ in range(rows):
        plan(personas, prospect, at=timezone.now())
    # the request's savepoint, the token's user, the device, the tenant scope, the visits with
    # their prospects, users and checklists, the scope's reset, the savepoint's release
    with django_assert_max_num_queries(7):
        response = api(client, "get", f"{VISITS}?when=all&limit=50", token)
    assert len(response.json()["items"]) == rows


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("when=yesterday", "when"),
        ("tz=Mars/Olympus", "tz"),
        ("tz=../../etc/passwd", "tz"),
        ("tz=Asia%00Kolkata", "tz"),
        ("cursor=bm9wZQ", "cursor"),
        ("limit=1e308", "limit"),
        ("limit=-1", "limit"),
        ("wen=today", "wen"),
    ],
)
def test_bad_list_parameters_are_refused_naming_them(client, token, query, field):
    response = api(client, "get", f"{VISITS}?{query}", token)
    assert response.status_code == 422, response.content
    assert field in ErrorOut.model_validate(response.json()).error.fields


# --- plan -------------------------------------------------------------------------------------


def test_planning_a_visit_with_the_apps_id(client, personas, prospect, checklist, token):
    app_id = str(uuid.uuid4())
    body = {
        "id": app_id,
        "prospect_id": str(prospect.public_id),
        "scheduled_at": "2026-12-01T10:30:00+05:30",
        "checklist_id": str(checklist.public_id),
    }
    response = api(client, "post", VISITS, token, body)
    assert response.status_code == 201, response.content
    visit = Visit.objects.get(public_id=app_id)
    assert visit.user == personas.bob and visit.created_by == personas.bob
    assert visit.checklist == checklist and visit.prospect == prospect
    assert response.json()["scheduled_at"] == "2026-12-01T05:00:00Z"
    assert response.json()["version"] == str(visit.sync_txid)
    again = api(client, "post", VISITS, token, body)
    assert again.status_code == 200 and again.json()["id"] == app_id
    assert Visit.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VISIT_PLANNED).count() == 1


def test_planning_with_another_clients_ids_is_a_404_naming_the_field(
    client, personas, prospect, token
):
    theirs = ProspectFactory(client=personas.client_b)
    their_list = Checklist.objects.create(client=personas.client_b, name="B", items=ITEMS)
    for field, value in (("prospect_id", theirs.public_id), ("checklist_id", their_list.public_id)):
        body = {"id": str(uuid.uuid4()), "prospect_id": str(prospect.public_id), field: str(value)}
        response = api(client, "post", VISITS, token, body)
        assert response.status_code == 404, response.content
        assert field in response.json()["error"]["fields"]
    assert not Visit.objects.exists()


def test_a_visit_id_another_client_uses_is_a_409(client, personas, prospect, token):
    theirs = services.visit_plan(
        prospect=ProspectFactory(client=personas.client_b),
        actor=personas.carol,
        user=personas.carol,
        scheduled_at=None,
    )
    body = {"id": str(theirs.public_id), "prospect_id": str(prospect.public_id)}
    response = api(client, "post", VISITS, token, body)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "id_taken"
    assert Visit.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"scheduled_at": "2026-12-01T10:30:00"}, "scheduled_at"),  # no time zone
        ({"scheduled_at": "0001-01-01T00:00:00+05:00"}, "scheduled_at"),
        ({"scheduled_at": "9999-12-31T23:59:59-05:00"}, "scheduled_at"),
        ({"scheduled_at": "tomorrow"}, "scheduled_at"),
        ({"scheduled_at": 1e308}, "scheduled_at"),
        ({"prospect_id": "nope"}, "prospect_id"),
        ({"user_id": str(uuid.uuid4())}, "user_id"),
    ],
)
def test_bad_plans_are_refused_naming_the_field(client, prospect, token, change, field):
    body = {"id": str(uuid.uuid4()), "prospect_id": str(prospect.public_id), **change}
    response = api(client, "post", VISITS, token, body)
    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert not Visit.objects.exists()


def test_an_inactive_checklist_is_refused(client, prospect, checklist, token):
    Checklist.objects.filter(pk=checklist.pk).update(is_active=False)
    body = {
        "id": str(uuid.uuid4()),
        "prospect_id": str(prospect.public_id),
        "checklist_id": str(checklist.public_id),
    }
    response = api(client, "post", VISITS, token, body)
    assert response.status_code == 400
    assert "no longer in use" in response.json()["error"]["fields"]["checklist_id"][0]


# --- check in -------------------------------------------------------------------------------


def test_checking_in_records_the_time_and_position(client, visit, token):
    body = {"latitude": 12.97159912, "longitude": "77.594566"}
    response = api(client, "post", f"{VISITS}/{visit.public_id}/check-in", token, body)
    assert response.status_code == 200, response.content
    visit.refresh_from_db()
    assert visit.status == "in_progress" and visit.checked_in_at is not None
    assert str(visit.check_in_latitude) == "12.971599"  # rounded to 6 places, as on the web
    assert response.json()["check_in_longitude"] == "77.594566"
    assert response.json()["version"] == str(visit.sync_txid)


def test_checking_in_twice_is_refused_with_the_services_message(client, visit, token):
    path = f"{VISITS}/{visit.public_id}/check-in"
    assert api(client, "post", path, token, {}).status_code == 200
    response = api(client, "post", path, token, {})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Only a planned visit can be checked in."


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"latitude": 91}, "latitude", "between -90 and 90"),
        ({"longitude": -180.5}, "longitude", "between -180 and 180"),
        ({"latitude": 1e308}, "latitude", "at most 20 digits"),
        ({"longitude": 10**40}, "longitude", "at most 20 digits"),
        ({"latitude": "1e400"}, "latitude", "at most 20 digits"),
        ({"latitude": "NaN"}, "latitude", "must be a number"),
        ({"latitude": "12,5"}, "latitude", "must be a number"),
        ({"latitude": True}, "latitude", "not yes/no"),
        ({"latitude": [1]}, "latitude", "must be a number"),
        ({"latitude": "1" * 100_000}, "latitude", "at most 20 digits"),
        ({"altitude": 3}, "altitude", "not part of the request"),
        ({"version": "latest"}, "version", "match pattern"),
    ],
)
def test_bad_positions_are_refused_and_change_nothing(client, visit, token, body, field, message):
    response = api(client, "post", f"{VISITS}/{visit.public_id}/check-in", token, body)
    assert response.status_code == 422, response.content
    assert message in " ".join(response.json()["error"]["fields"][field])
    visit.refresh_from_db()
    assert visit.status == "planned"


def test_another_clients_visit_is_a_404_everywhere(client, personas, token):
    theirs = services.visit_plan(
        prospect=ProspectFactory(client=personas.client_b),
        actor=personas.carol,
        user=personas.carol,
        scheduled_at=None,
    )
    path = f"{VISITS}/{theirs.public_id}"
    assert api(client, "get", path, token).status_code == 404
    assert api(client, "post", f"{path}/check-in", token, {}).status_code == 404
    assert api(client, "post", f"{path}/complete", token, {"outcome": "order"}).status_code == 404
    assert upload(client, token, theirs).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "planned" and not StoredFile.objects.exists()


# --- photos and the report ---------------------------------------------------------------


def test_a_photo_answers_the_checklists_photo_item_and_completes_the_report(
    client, personas, visit, token
):
    response = upload(client, token, visit)
    assert response.status_code == 201, response.content
    photo = StoredFile.objects.get()
    assert (
        response.json()["id"] == str(photo.public_id) and response.json()["item"] == "shelf-photo"
    )
    assert photo.visit == visit and photo.content_type == "image/png"
    assert photo.uploaded_by == personas.bob
    visit.refresh_from_db()
    assert visit.answers == {"shelf-photo": str(photo.public_id)}
    body = {
        "outcome": "order",
        "report": "Ordered 12 boxes",
        "answers": {"boxes": "12", "samples": True, "remark": "Busy <b>day</b>"},
        "latitude": "12.971599",
        "longitude": "77.594566",
    }
    response = api(client, "post", f"{VISITS}/{visit.public_id}/complete", token, body)
    assert response.status_code == 200, response.content
    visit.refresh_from_db()
    assert visit.status == "done" and visit.outcome == "order"
    assert visit.report == "Ordered 12 boxes" and str(visit.check_out_latitude) == "12.971599"
    assert visit.answers == {
        "shelf-photo": str(photo.public_id),
        "boxes": 12.0,
        "samples": True,
        "remark": "Busy <b>day</b>",
    }
    assert response.json()["answers"] == visit.answers
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VISIT_COMPLETED).count() == 1


def test_a_photo_for_a_named_item_and_a_visit_without_photo_items(
    client, personas, prospect, visit, token
):
    response = upload(client, token, visit, item="boxes")
    assert response.status_code == 400
    assert "no photo item" in response.json()["error"]["fields"]["item"][0]
    assert not StoredFile.objects.exists()
    bare = plan(personas, prospect)  # no checklist: the photo is only attached
    response = upload(client, token, bare)
    assert response.status_code == 201 and response.json()["item"] is None


def test_the_report_needs_the_required_answers(client, visit, token):
    body = {"outcome": "positive", "report": "Good"}
    response = api(client, "post", f"{VISITS}/{visit.public_id}/complete", token, body)
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["answers.shelf-photo"] == ["“Shelf photo” is required."]
    assert fields["answers.boxes"] == ["“Boxes” is required."]
    visit.refresh_from_db()
    assert visit.status == "planned"


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({"answers": {"boxes": "a dozen"}}, 400, "answers.boxes", "must be a number"),
        ({"answers": {"boxes": 1e308}}, 400, "answers.boxes", "at most 15 digits"),
        ({"answers": {"boxes": 10**40}}, 400, "answers.boxes", "at most 15 digits"),
        ({"answers": {"shelf-photo": str(uuid.uuid4())}}, 400, "answers.shelf-photo", "photo"),
        ({"answers": {"remark": "card 4111111111111111"}}, 400, "answers.remark", "card"),
        ({"answers": {"remark": "a\x00b"}}, 422, "answers", "NUL"),
        ({"answers": {"colour": "red"}}, 422, "answers.colour", "Not an item"),
        ({"answers": {"boxes": {"n": 1}}}, 422, "answers.boxes", "a text, a number"),
        ({"report": "SSN 123-45-6789"}, 400, "report", "Social Security number"),
        ({"report": "x" * 100_000}, 400, "report", "at most 20,000 characters"),
        ({"outcome": "bribed"}, 422, "outcome", "'positive'"),
        ({"mood": "happy"}, 422, "mood", "not part of the request"),
    ],
)
def test_bad_reports_are_refused_and_change_nothing(
    client, visit, token, body, status, field, message
):
    body = {"outcome": "positive", "report": "ok", **body}
    response = api(client, "post", f"{VISITS}/{visit.public_id}/complete", token, body)
    assert response.status_code == status, response.content
    assert message in " ".join(response.json()["error"]["fields"][field])
    visit.refresh_from_db()
    assert visit.status == "planned" and visit.report == ""


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (PDF, "report.pdf"),  # a file OpsX keeps, but not a photo
        (PDF, "shelf.png"),  # a PDF named as a photo
        (b"MZ\x90\x00" + b"\x00" * 100, "shelf.png"),  # a Windows program
        (b"just text", "shelf.png"),
    ],
)
def test_only_photos_are_attached(client, visit, token, content, name):
    response = upload(client, token, visit, content=content, name=name)
    assert response.status_code == 415, response.content
    assert response.json()["error"]["code"] == "not_an_image"
    assert not StoredFile.objects.exists()


def test_an_oversized_photo_is_a_413(client, visit, token, settings):
    settings.API_MAX_UPLOAD_BYTES = 100
    response = upload(client, token, visit, content=PNG + b"\x00" * 100)
    assert response.status_code == 413
    assert "at most 100 bytes" in response.json()["error"]["message"]
    assert not StoredFile.objects.exists()


def test_a_photo_sent_as_json_is_refused_naming_the_file_field(client, visit, token):
    response = api(client, "post", f"{VISITS}/{visit.public_id}/photos", token, {"file": "x"})
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"file": ["This field is required."]}


def test_a_stale_version_on_a_visit_closed_meanwhile_conflicts(client, personas, visit, token):
    services.visit_cancel(visit=visit, actor=personas.alice)
    visit.refresh_from_db()
    body = {"version": "1", "outcome": "order", "report": "Done", "answers": {"boxes": 1}}
    response = api(client, "post", f"{VISITS}/{visit.public_id}/complete", token, body)
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["server"] == {"status": "cancelled"}
    assert error["version"] == str(visit.sync_txid)
    response = api(client, "post", f"{VISITS}/{visit.public_id}/check-in", token, {"version": "1"})
    assert response.status_code == 409
    visit.refresh_from_db()
    assert visit.status == "cancelled" and visit.report == ""


def test_a_stale_version_on_an_open_visit_still_files_the_report(client, visit, token):
    upload(client, token, visit)
    body = {"version": "1", "outcome": "order", "answers": {"boxes": 3}}
    response = api(client, "post", f"{VISITS}/{visit.public_id}/complete", token, body)
    assert response.status_code == 200, response.content


def test_the_checklists_are_the_clients(client, personas, checklist, token):
    Checklist.objects.create(client=personas.client_b, name="Bravo list", items=ITEMS)
    response = api(client, "get", "/api/v1/checklists", token)
    assert response.status_code == 200
    assert [c["name"] for c in response.json()] == ["Store audit"]
    assert response.json()[0]["items"][0] == ITEMS[0]
