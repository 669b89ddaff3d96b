"""The client's own privacy duties: everything about one prospect, and erasing it."""

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from clients.models import Client
from prospects import files, services
from prospects.models import Prospect, ProspectEvent, ProspectPhone, StoredFile, Visit
from tests.factories import ProspectFactory

PDF = b"%PDF-1.4\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def ravi(personas):
    prospect = ProspectFactory(
        client=personas.client_a,
        name="Ravi Kumar",
        email="ravi@x.example",
        phones=["+919876543210"],
    )
    visit = services.visit_plan(
        prospect=prospect, actor=personas.bob, user=personas.bob, scheduled_at=None
    )
    services.visit_complete(
        visit=visit, actor=personas.bob, outcome="order", report="Ordered tea", answers={}
    )
    services.prospect_add_note(prospect=prospect, actor=personas.bob, text="Prefers mornings")
    files.file_store(
        client=personas.client_a,
        actor=personas.bob,
        upload=SimpleUploadedFile("quote.pdf", PDF),
        prospect=prospect,
    )
    return prospect


def _archive(response) -> zipfile.ZipFile:
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment")
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


@pytest.mark.django_db
def test_an_admin_downloads_everything_held_about_a_prospect_files_included(
    client, personas, ravi, django_assert_max_num_queries
):
    visit = Visit.objects.get(prospect=ravi)
    files.file_store(  # a visit's photo is the prospect's file too
        client=personas.client_a,
        actor=personas.bob,
        upload=SimpleUploadedFile("shelf.png", PNG),
        visit=visit,
    )
    other = ProspectFactory(client=personas.client_a, name="Someone Else")
    files.file_store(
        client=personas.client_a,
        actor=personas.bob,
        upload=SimpleUploadedFile("other.pdf", b"%PDF-1.4\nsomeone else\n%%EOF\n"),
        prospect=other,
    )
    client.force_login(personas.alice)
    client.get(reverse("dashboard"))
    # user, savepoint, tenant scope set, prospect, its files (once), phones, visits, timeline,
    # the audit event of the download, tenant scope reset, release
    with django_assert_max_num_queries(11):
        archive = _archive(client.get(reverse("prospects:data_export", args=[ravi.public_id])))
    data = json.loads(archive.read("prospect.json"))
    assert data["prospect"]["name"] == "Ravi Kumar" and data["phones"] == ["+919876543210"]
    assert data["visits"][0]["report"] == "Ordered tea"
    assert any(e["text"] == "Prefers mornings" for e in data["timeline"])
    assert [f["name"] for f in data["files"]] == ["quote.pdf", "shelf.png"]
    assert [archive.read(f["path"]) for f in data["files"]] == [PDF, PNG]
    assert sorted(archive.namelist()) == sorted(
        ["prospect.json", *(f["path"] for f in data["files"])]
    )


@pytest.mark.django_db
def test_a_file_whose_bytes_are_lost_is_marked_missing_and_the_rest_still_downloads(
    client, personas, ravi
):
    stored = StoredFile.objects.get(prospect=ravi)
    stored.blob.storage.delete(stored.blob.name)
    client.force_login(personas.alice)
    archive = _archive(client.get(reverse("prospects:data_export", args=[ravi.public_id])))
    data = json.loads(archive.read("prospect.json"))
    assert data["files"] == [
        {
            "id": str(stored.public_id),
            "name": "quote.pdf",
            "type": "application/pdf",
            "size": len(PDF),
            "path": None,
            "missing": True,
        }
    ]
    assert archive.namelist() == ["prospect.json"]


@pytest.mark.django_db
def test_members_cannot_export_or_erase(client, personas, ravi):
    client.force_login(personas.bob)
    assert client.get(reverse("prospects:data_export", args=[ravi.public_id])).status_code == 403
    assert (
        client.post(
            reverse("prospects:erase", args=[ravi.public_id]), {"confirm_name": "Ravi Kumar"}
        ).status_code
        == 403
    )
    assert Prospect.objects.filter(pk=ravi.pk).exists()


@pytest.mark.django_db
def test_erasing_needs_the_name_typed_and_removes_everything_attached(
    client, personas, ravi, django_capture_on_commit_callbacks
):
    stored = StoredFile.objects.get()
    storage, blob = stored.blob.storage, stored.blob.name
    client.force_login(personas.alice)
    response = client.post(
        reverse("prospects:erase", args=[ravi.public_id]), {"confirm_name": "ravi"}, follow=True
    )
    assert "Type the prospect" in response.content.decode()
    assert Prospect.objects.filter(pk=ravi.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("prospects:erase", args=[ravi.public_id]),
            {"confirm_name": "Ravi Kumar"},
            follow=True,
        )
    assert "was erased with 1 visit(s) and 1 file(s)" in response.content.decode()
    for model in (Prospect, ProspectPhone, Visit, ProspectEvent, StoredFile):
        assert not model.objects.exists(), model
    assert not storage.exists(blob)
    assert Client.objects.get(pk=personas.client_a.pk).storage_bytes == 0
