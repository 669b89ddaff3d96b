"""Every prospect, visit, file, folder, checklist, field and import URL is a 404 for another
client's id, and changes nothing."""

import io

import pytest
from django.urls import reverse

from prospects.models import CustomField, Prospect, StoredFile, Visit
from tests.factories import ProspectFactory
from tests.prospects.objects import PNG, client_objects


@pytest.fixture
def b_objects(personas):
    """Client B's things, which Alice and Bob of client A must never reach."""
    return client_objects(personas.client_b, personas.carol, label="B")


GET_URLS = [
    ("prospects:detail", "prospect"),
    ("prospects:edit", "prospect"),
    ("prospects:data_export", "prospect"),
    ("prospects:erase", "prospect"),
    ("prospects:visit", "visit"),
    ("prospects:folder", "folder"),
    ("prospects:file", "file"),
    ("prospects:checklist_edit", "checklist"),
    ("prospects:import_map", "job"),
    ("prospects:import_values", "job"),
    ("prospects:import_detail", "job"),
    ("prospects:import_progress", "job"),
    ("prospects:import_errors", "job"),
]
POST_URLS = [
    ("prospects:edit", "prospect", {"name": "hacked", "status": "lost"}),
    ("prospects:note", "prospect", {"text": "hello"}),
    ("prospects:upload", "prospect", {}),
    ("prospects:visit_plan", "prospect", {}),
    ("prospects:erase", "prospect", {"confirm_name": "B's prospect"}),
    ("prospects:visit", "visit", {"outcome": "positive", "report": "x"}),
    ("prospects:visit_check_in", "visit", {}),
    ("prospects:visit_cancel", "visit", {}),
    ("prospects:visit_upload", "visit", {}),
    ("prospects:folder_create", "folder", {"name": "x"}),
    ("prospects:library_upload", "folder", {}),
    ("prospects:folder_delete", "folder", {}),
    ("prospects:file_delete", "file", {}),
    ("prospects:checklist_edit", "checklist", {"name": "x", "items": "a | check"}),
    ("prospects:import_map", "job", {"col_0": "name", "on_duplicate": "update"}),
    ("prospects:import_reread", "job", {"encoding": "cp1252", "header_row": "2"}),
    ("prospects:import_values", "job", {"value_0": "new"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "kind"), GET_URLS)
def test_reading_another_clients_object_is_a_404(client, personas, b_objects, name, kind):
    client.force_login(personas.alice)
    assert client.get(reverse(name, args=[b_objects[kind].public_id])).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "kind", "data"), POST_URLS)
def test_changing_another_clients_object_is_a_404_and_changes_nothing(
    client, personas, b_objects, name, kind, data
):
    client.force_login(personas.alice)
    if name.endswith("upload"):
        data = {"file": io.BytesIO(PNG)}
        data["file"].name = "x.png"
    before = (Prospect.objects.count(), Visit.objects.count(), StoredFile.objects.count())
    assert client.post(reverse(name, args=[b_objects[kind].public_id]), data).status_code == 404
    assert (Prospect.objects.count(), Visit.objects.count(), StoredFile.objects.count()) == before
    prospect = Prospect.objects.get(pk=b_objects["prospect"].pk)
    assert prospect.name == "B's prospect" and not prospect.events.filter(kind="note").exists()
    b_objects["job"].refresh_from_db()
    assert b_objects["job"].status == "uploaded"


@pytest.mark.django_db
def test_another_clients_custom_field_cannot_be_deleted(client, personas, b_objects):
    client.force_login(personas.alice)
    assert client.post(reverse("prospects:custom_field_delete", args=["region"])).status_code == 404
    assert CustomField.objects.filter(key="region").exists()


@pytest.mark.django_db
def test_another_clients_prospects_never_show_in_lists_search_or_export(
    client, personas, b_objects
):
    client.force_login(personas.alice)
    assert (
        "B&#x27;s prospect"
        not in client.get(reverse("prospects:list"), {"q": "prospect"}).content.decode()
    )
    export = b"".join(client.get(reverse("prospects:export")).streaming_content).decode()
    assert "B's prospect" not in export
    library = client.get(reverse("prospects:library")).content.decode()
    assert "B folder" not in library


@pytest.mark.django_db
def test_a_visit_cannot_be_planned_with_another_clients_user_or_checklist(
    client, personas, b_objects
):
    prospect = ProspectFactory(client=personas.client_a)
    client.force_login(personas.alice)
    client.post(
        reverse("prospects:visit_plan", args=[prospect.public_id]), {"user": personas.dan.pk}
    )
    client.post(
        reverse("prospects:visit_plan", args=[prospect.public_id]),
        {"user": personas.bob.pk, "checklist": b_objects["checklist"].pk},
    )
    assert not Visit.objects.filter(prospect=prospect).exists()
