"""Visits: plan, check in with a position, file the report with the checklist's answers."""

import io

import pytest
from django.urls import reverse

from prospects.models import Checklist, StoredFile, Visit
from tests.factories import ProspectFactory

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100
ITEMS = [
    {"key": "shelf-photo", "label": "Shelf photo", "kind": "photo", "required": True},
    {"key": "boxes", "label": "Boxes", "kind": "number", "required": True},
    {"key": "samples", "label": "Samples given", "kind": "check", "required": False},
    {"key": "remark", "label": "Remark", "kind": "text", "required": False},
]


@pytest.fixture
def visit(client, personas):
    prospect = ProspectFactory(client=personas.client_a)
    checklist = Checklist.objects.create(client=personas.client_a, name="Store audit", items=ITEMS)
    client.force_login(personas.bob)
    response = client.post(
        reverse("prospects:visit_plan", args=[prospect.public_id]),
        {"user": personas.bob.pk, "scheduled_at": "2026-12-01T10:30", "checklist": checklist.pk},
    )
    visit = Visit.objects.get()
    assert response["Location"] == reverse("prospects:visit", args=[visit.public_id])
    return visit


@pytest.mark.django_db
def test_checking_in_records_the_time_and_position(client, visit):
    client.post(
        reverse("prospects:visit_check_in", args=[visit.public_id]),
        {"latitude": "12.971599", "longitude": "77.594566"},
    )
    visit.refresh_from_db()
    assert visit.status == "in_progress" and visit.checked_in_at is not None
    assert str(visit.check_in_latitude) == "12.971599"


@pytest.mark.django_db
def test_a_bad_position_is_refused_with_a_message(client, visit):
    response = client.post(
        reverse("prospects:visit_check_in", args=[visit.public_id]),
        {"latitude": "999", "longitude": "x"},
        follow=True,
    )
    assert "position sent by the browser is not valid" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == "planned"


@pytest.mark.django_db
def test_required_checklist_items_must_be_answered(client, visit):
    response = client.post(
        reverse("prospects:visit", args=[visit.public_id]),
        {"outcome": "positive", "report": "Good"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "“Shelf photo” is required" in page and "“Boxes” is required" in page
    visit.refresh_from_db()
    assert visit.status == "planned"


@pytest.mark.django_db
def test_the_report_with_answers_and_a_photo_completes_the_visit(client, visit):
    photo = io.BytesIO(PNG)
    photo.name = "shelf.png"
    client.post(reverse("prospects:visit_upload", args=[visit.public_id]), {"file": photo})
    stored = StoredFile.objects.get()
    assert stored.visit == visit and stored.prospect == visit.prospect
    response = client.post(
        reverse("prospects:visit", args=[visit.public_id]),
        {
            "outcome": "order",
            "report": "Ordered 12 boxes",
            "answer.shelf-photo": str(stored.public_id),
            "answer.boxes": "12",
            "answer.samples": "on",
        },
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == "done" and visit.checked_out_at is not None and visit.outcome == "order"
    assert visit.answers == {"shelf-photo": str(stored.public_id), "boxes": 12.0, "samples": True}
    page = client.get(reverse("prospects:detail", args=[visit.prospect.public_id])).content.decode()
    assert "Ordered 12 boxes" in page and "Visit report" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"answer.boxes": "a dozen"}, "“Boxes” must be a number"),
        ({"answer.boxes": "nan"}, "“Boxes” must be a number"),  # JSON cannot store it
        ({"answer.boxes": "1e400"}, "“Boxes” must be a number"),  # infinite
        ({"answer.shelf-photo": "00000000-0000-0000-0000-000000000000"}, "Select a valid choice"),
        ({"answer.remark": "his card 4111111111111111"}, "payment card number"),
        ({"report": "SSN 123-45-6789"}, "US Social Security number"),
        ({"outcome": "bribed"}, "Select a valid choice"),
    ],
)
def test_bad_report_input_is_refused(client, visit, data, message):
    response = client.post(
        reverse("prospects:visit", args=[visit.public_id]),
        {"outcome": "positive", "report": "ok", **data},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == "planned"


@pytest.mark.django_db
def test_a_done_visit_cannot_be_cancelled_or_reported_again(client, personas):
    prospect = ProspectFactory(client=personas.client_a)
    client.force_login(personas.bob)
    client.post(
        reverse("prospects:visit_plan", args=[prospect.public_id]), {"user": personas.bob.pk}
    )
    visit = Visit.objects.get()
    client.post(
        reverse("prospects:visit", args=[visit.public_id]),
        {"outcome": "positive", "report": "first"},
    )
    response = client.post(reverse("prospects:visit_cancel", args=[visit.public_id]), follow=True)
    assert "cannot be cancelled" in response.content.decode()
    response = client.post(
        reverse("prospects:visit", args=[visit.public_id]),
        {"outcome": "positive", "report": "second"},
    )
    assert "already closed" in response.content.decode()
    visit.refresh_from_db()
    assert visit.report == "first"


@pytest.mark.django_db
def test_an_admin_defines_a_checklist_and_bad_lines_are_explained(client, personas):
    client.force_login(personas.alice)
    response = client.post(
        reverse("prospects:checklist_new"),
        {"name": "Audit", "items": "Shelf photo | photo | required\nBoxes | weight"},
    )
    assert (
        response.status_code == 400
        and "Line 2: “weight” is not one of" in response.content.decode()
    )
    client.post(
        reverse("prospects:checklist_new"),
        {"name": "Audit", "items": "Shelf photo | photo | required\nBoxes | number"},
    )
    assert Checklist.objects.get().items == [
        {"key": "shelf-photo", "label": "Shelf photo", "kind": "photo", "required": True},
        {"key": "boxes", "label": "Boxes", "kind": "number", "required": False},
    ]


@pytest.mark.django_db
def test_members_cannot_define_checklists_or_fields(client, personas):
    client.force_login(personas.bob)
    assert client.get(reverse("prospects:checklist_new")).status_code == 403
    assert (
        client.post(
            reverse("prospects:custom_fields"), {"label": "X", "key": "x", "kind": "text"}
        ).status_code
        == 403
    )


@pytest.mark.django_db
def test_the_visit_page_reads_its_files_once_however_many_photo_items(client, visit):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("prospects:visit", args=[visit.public_id])
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as one_photo_item:
        assert client.get(url).status_code == 200
    photos = [
        {"key": f"photo-{i}", "label": f"Photo {i}", "kind": "photo", "required": False}
        for i in range(6)
    ]
    Checklist.objects.filter(pk=visit.checklist_id).update(items=ITEMS + photos)
    with CaptureQueriesContext(connection) as seven_photo_items:
        response = client.get(url)
    assert response.status_code == 200 and "Photo 5" in response.content.decode()
    assert len(seven_photo_items) == len(one_photo_item)
