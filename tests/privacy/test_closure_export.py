"""The full export of a closing client: one ZIP with every prospect as CSV and every file
under its folder path or prospect, names made safe, only this client's, built by a task
that reports its progress."""

import csv
import io
import os
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from clients.models import AuditEvent
from privacy import closure as services
from privacy.models import ClientClosure
from prospects import files
from tests.privacy.closure_objects import fill
from tests.prospects.objects import PNG


@pytest.fixture
def closing(personas, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    a = fill(personas.client_a, personas.alice, label="A")
    fill(personas.client_b, personas.carol, label="B")
    sub = files.folder_create(
        client=personas.client_a, actor=personas.alice, name="..", parent=a["folder"]
    )
    a["deep"] = files.file_store(
        client=personas.client_a,
        actor=personas.alice,
        upload=SimpleUploadedFile("deep.txt", b"not really"),
        folder=sub,
    )
    closure = services.closure_request(client=personas.client_a, actor=personas.alice)
    return personas, a, closure


def _build(closure, actor, capture):
    with capture(execute=True):  # the task is enqueued on commit; eager, it runs here
        services.closure_export(closure=closure, actor=actor)
    closure.refresh_from_db()
    return closure


@pytest.mark.django_db
def test_the_zip_holds_every_prospect_and_file_of_the_client_only(
    closing, django_capture_on_commit_callbacks
):
    personas, _, closure = closing
    closure = _build(closure, personas.alice, django_capture_on_commit_callbacks)
    assert closure.export_status == ClientClosure.ExportStatus.READY
    with closure.export_file.open("rb") as blob, zipfile.ZipFile(blob) as zf:
        names = zf.namelist()
        rows = list(csv.DictReader(io.StringIO(zf.read("prospects.csv").decode("utf-8-sig"))))
        manifest = list(csv.DictReader(io.StringIO(zf.read("files.csv").decode("utf-8-sig"))))
        contents = {name: zf.read(name) for name in names if name.startswith("files/")}
    assert sorted(r["name"] for r in rows) == sorted(
        ["A's prospect", "A person 0", "A person 1", "A person 2"]
    )
    assert all(r["phones"] == "+919876543210" for r in rows if r["name"] != "A's prospect")
    assert "custom.region" in rows[0]
    # the library file under its folder, the attachment under its prospect, the odd names safe
    library = [n for n in contents if n.startswith("files/library/A folder/")]
    assert any(n.endswith("-A.png") for n in library)
    deep = [n for n in contents if n.startswith("files/library/A folder/unnamed/")]
    assert len(deep) == 1 and deep[0].endswith("-deep.txt")
    assert contents[deep[0]] == b"not really"
    attached = [n for n in contents if n.startswith("files/prospects/A's prospect-")]
    assert len(attached) == 1 and attached[0].endswith("-A card.png")
    assert contents[attached[0]] == PNG
    assert len(contents) == 3 and len(manifest) == 3
    assert not any("B" in n.split("/")[-1] for n in contents)
    assert all(".." not in part for n in names for part in n.split("/"))
    assert closure.export_done == closure.export_total == 4 + 3
    event = AuditEvent.objects.get(action="client.export_built", client=personas.client_a)
    assert event.actor == personas.alice and event.counts["prospects"] == 4


@pytest.mark.django_db
def test_progress_is_reported_while_building(closing, monkeypatch):
    personas, _, closure = closing
    monkeypatch.setattr(services, "EXPORT_PROGRESS_EVERY", 1)
    seen = []
    real = services._progress

    def spy(closure, done):
        real(closure, done)
        seen.append(
            ClientClosure.objects.values_list("export_done", "export_total").get(pk=closure.pk)
        )

    monkeypatch.setattr(services, "_progress", spy)
    ClientClosure.objects.filter(pk=closure.pk).update(export_status="building")
    services.closure_export_build(closure_id=closure.pk, actor_id=personas.alice.pk)
    assert seen[0] == (4, 7)  # the prospects' chunk
    assert seen[-1] == (7, 7)  # then file by file


@pytest.mark.django_db
def test_a_second_build_is_refused_while_one_runs_and_members_cannot_ask(closing):
    personas, _, closure = closing
    services.closure_export(closure=closure, actor=personas.alice)  # no commit: stays building
    with pytest.raises(ValidationError, match="being built"):
        services.closure_export(closure=closure, actor=personas.alice)
    with pytest.raises(ValidationError, match="Only an admin"):
        services.closure_export(closure=closure, actor=personas.bob)


@pytest.mark.django_db
def test_cancelling_deletes_the_export(closing, django_capture_on_commit_callbacks):
    personas, _, closure = closing
    closure = _build(closure, personas.alice, django_capture_on_commit_callbacks)
    path = closure.export_file.path
    with django_capture_on_commit_callbacks(execute=True):
        services.closure_cancel(closure=closure, actor=personas.alice)
    closure.refresh_from_db()
    assert not closure.export_file and closure.export_status == "none"
    assert not os.path.exists(path)


def test_names_are_made_safe_for_a_path():
    assert services.safe_name("../x/y") == "_x_y"
    assert services.safe_name("..") == "unnamed"
    assert services.safe_name("a\\b:c*d\x00e. ") == "a_b_c_d_e"
