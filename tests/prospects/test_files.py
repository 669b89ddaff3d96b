"""Files and folders: content-checked uploads, private downloads, size limit, bytes counted."""

import importlib
import io
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from clients.models import Client
from prospects import files, importing
from prospects.models import MAX_FOLDER_DEPTH, Folder, StoredFile
from tests.factories import ProspectFactory

fill_ancestry = importlib.import_module("prospects.migrations.0007_folder_ancestry").fill_ancestry

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200


def _file(name, content):
    f = io.BytesIO(content)
    f.name = name
    return f


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    return buf.getvalue()


@pytest.fixture
def signed_in(client, personas):
    client.force_login(personas.bob)
    return client


def _upload_to_library(client, name, content, follow=True):
    return client.post(
        reverse("prospects:library_upload_root"), {"file": _file(name, content)}, follow=follow
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        ("photo.png", PNG, "image/png"),
        ("offer.pdf", PDF, "application/pdf"),
        ("notes.txt", "café ☕\n".encode(), "text/plain"),
        (
            "letter.docx",
            _docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    ],
)
def test_allowed_files_are_stored_under_a_random_name_and_counted(
    signed_in, personas, name, content, mime
):
    response = _upload_to_library(signed_in, name, content)
    assert f"{name} uploaded" in response.content.decode()
    stored = StoredFile.objects.get()
    assert (stored.name, stored.content_type, stored.size) == (name, mime, len(content))
    assert name not in stored.blob.name and str(personas.client_a.public_id) in stored.blob.name
    assert Client.objects.get(pk=personas.client_a.pk).storage_bytes == len(content)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("invoice.pdf", EXE, "is a EXE file, which OpsX does not accept"),
        ("holiday.png", PDF, "does not match its content"),
        ("script.sh", b"#!/bin/sh\nrm -rf /\n", "is not a file type OpsX accepts"),
        ("page.html", b"<html><script>alert(1)</script></html>", "is not a file type OpsX accepts"),
        ("notes.txt", b"\xff\xfe\x00\x00binary\x00", "is not a file type OpsX accepts"),
        ("latin.txt", "café".encode("latin-1") + b" and more text here", "is not UTF-8 text"),
        ("empty.pdf", b"", "is empty"),
    ],
)
def test_files_whose_content_is_not_allowed_or_does_not_match_their_name_are_refused(
    signed_in, name, content, message
):
    response = _upload_to_library(signed_in, name, content)
    assert message in response.content.decode()
    assert not StoredFile.objects.exists()


@pytest.mark.django_db
def test_the_size_limit_is_configurable_and_explained(signed_in, settings):
    settings.MAX_UPLOAD_BYTES = 1024
    response = _upload_to_library(signed_in, "big.pdf", PDF + b"0" * 2000)
    assert "the limit is 1.0 KB" in response.content.decode()
    assert not StoredFile.objects.exists()


@pytest.mark.django_db
def test_a_download_is_an_attachment_with_nosniff_and_the_original_name(signed_in, personas):
    _upload_to_library(signed_in, "photo.png", PNG)
    stored = StoredFile.objects.get()
    response = signed_in.get(reverse("prospects:file", args=[stored.public_id]))
    assert response.status_code == 200
    assert (
        response["Content-Disposition"].startswith("attachment")
        and "photo.png" in response["Content-Disposition"]
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG


@pytest.mark.django_db
def test_files_are_not_reachable_without_signing_in_or_by_a_media_url(client, personas):
    client.force_login(personas.bob)
    _upload_to_library(client, "photo.png", PNG)
    stored = StoredFile.objects.get()
    client.logout()
    response = client.get(reverse("prospects:file", args=[stored.public_id]))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    assert client.get("/media/" + stored.blob.name).status_code == 404


@pytest.mark.django_db
def test_a_file_name_with_a_path_is_reduced_to_its_name(signed_in):
    _upload_to_library(signed_in, "../../etc/passwd.txt", b"just text")
    assert StoredFile.objects.get().name == "passwd.txt"


@pytest.mark.django_db
def test_nested_folders_and_deleting_a_folder_removes_its_files_and_bytes(
    client, personas, django_capture_on_commit_callbacks
):
    client.force_login(personas.alice)
    client.post(reverse("prospects:folder_create_root"), {"name": "Contracts"})
    top = Folder.objects.get(name="Contracts")
    client.post(reverse("prospects:folder_create", args=[top.public_id]), {"name": "2026"})
    sub = Folder.objects.get(name="2026")
    assert sub.parent == top
    client.post(
        reverse("prospects:library_upload", args=[sub.public_id]), {"file": _file("a.pdf", PDF)}
    )
    stored = StoredFile.objects.get()
    storage, blob_name = stored.blob.storage, stored.blob.name
    page = client.get(reverse("prospects:folder", args=[sub.public_id])).content.decode()
    assert "Contracts" in page and "a.pdf" in page  # breadcrumb and content

    with django_capture_on_commit_callbacks(execute=True):  # the bytes go once the rows are gone
        client.post(reverse("prospects:folder_delete", args=[top.public_id]))
    assert not Folder.objects.exists() and not StoredFile.objects.exists()
    assert Client.objects.get(pk=personas.client_a.pk).storage_bytes == 0
    assert not storage.exists(blob_name)


def _nest(personas, depth: int, *, under: Folder | None = None) -> list[Folder]:
    """A chain of `depth` folders, each inside the last, made the way the page makes them."""
    chain = []
    for level in range(depth):
        parent = chain[-1] if chain else under
        chain.append(
            files.folder_create(
                client=personas.client_a, actor=personas.bob, name=f"level {level}", parent=parent
            )
        )
    return chain


def _crumbs(page: str) -> list[str]:
    nav = page.split('<nav class="crumbs">', 1)[1].split("</nav>", 1)[0]
    return [part.rsplit(">", 1)[-1] for part in nav.split("</a>")[:-1]]


@pytest.mark.django_db
@pytest.mark.parametrize("depth", [1, 2, MAX_FOLDER_DEPTH])
def test_the_breadcrumb_names_every_folder_above_in_the_same_queries_at_any_depth(
    signed_in, personas, depth, django_assert_max_num_queries
):
    deepest = _nest(personas, depth)[-1]
    url = reverse("prospects:folder", args=[deepest.public_id])
    signed_in.get(url)
    # (+2: the tenant scope set and reset around the view)
    with django_assert_max_num_queries(9):  # the same for the second level and the twentieth
        page = signed_in.get(url).content.decode()
    assert _crumbs(page) == ["All documents", *(f"level {i}" for i in range(depth))]


@pytest.mark.django_db
def test_a_folder_nests_at_most_max_depth_with_a_clear_message(signed_in, personas):
    deepest = _nest(personas, MAX_FOLDER_DEPTH)[-1]
    response = signed_in.post(
        reverse("prospects:folder_create", args=[deepest.public_id]),
        {"name": "one more"},
        follow=True,
    )
    assert f"at most {MAX_FOLDER_DEPTH} levels deep" in response.content.decode()
    assert Folder.objects.count() == MAX_FOLDER_DEPTH


@pytest.mark.django_db
def test_deleting_a_folder_takes_its_whole_subtree_and_nothing_beside_it(
    client, personas, django_capture_on_commit_callbacks
):
    client.force_login(personas.alice)
    top, doomed, inside = _nest(personas, 3)
    deeper = _nest(personas, 4, under=inside)  # four more levels inside the doomed folder
    beside = _nest(personas, 2, under=top)  # the doomed folder's sibling, with a child
    for folder in (deeper[-1], beside[-1], top):
        client.post(
            reverse("prospects:library_upload", args=[folder.public_id]),
            {"file": _file(f"in {folder.pk}.pdf", PDF)},
        )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("prospects:folder_delete", args=[doomed.public_id]))
    assert set(Folder.objects.values_list("pk", flat=True)) == {top.pk, *(f.pk for f in beside)}
    assert sorted(StoredFile.objects.values_list("folder_id", flat=True)) == sorted(
        [top.pk, beside[-1].pk]
    )
    assert Client.objects.get(pk=personas.client_a.pk).storage_bytes == 2 * len(PDF)


@pytest.mark.django_db
def test_the_migration_gives_existing_folders_their_ancestry(personas):
    chain = _nest(personas, 4)
    expected = dict(Folder.objects.values_list("pk", "ancestry"))
    assert expected[chain[-1].pk] == "".join(f"{f.public_id}/" for f in chain[:-1])
    Folder.objects.update(ancestry="")  # as the folders were before migration 0007
    fill_ancestry(django_apps, None)
    assert dict(Folder.objects.values_list("pk", "ancestry")) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Give the folder a name"), ("a/b", "no “/”"), ("Contracts", "already a folder")],
)
def test_bad_folder_names_are_refused(signed_in, name, message):
    signed_in.post(reverse("prospects:folder_create_root"), {"name": "Contracts"})
    response = signed_in.post(reverse("prospects:folder_create_root"), {"name": name}, follow=True)
    assert message in response.content.decode()
    assert Folder.objects.count() == 1


@pytest.mark.django_db
def test_a_member_deletes_only_their_own_files(client, personas):
    client.force_login(personas.alice)
    _upload_to_library(client, "alice.pdf", PDF)
    stored = StoredFile.objects.get()
    client.force_login(personas.bob)
    response = client.post(reverse("prospects:file_delete", args=[stored.public_id]), follow=True)
    assert "Only the person who uploaded" in response.content.decode()
    assert StoredFile.objects.exists()


@pytest.mark.django_db
def test_a_prospect_attachment_shows_on_its_timeline(signed_in, personas):
    prospect = ProspectFactory(client=personas.client_a)
    signed_in.post(
        reverse("prospects:upload", args=[prospect.public_id]), {"file": _file("quote.pdf", PDF)}
    )
    page = signed_in.get(reverse("prospects:detail", args=[prospect.public_id])).content.decode()
    assert page.count("quote.pdf") >= 2  # in Files and in the timeline


@pytest.mark.django_db
def test_an_upload_without_a_file_says_so(signed_in):
    response = signed_in.post(reverse("prospects:library_upload_root"), {}, follow=True)
    assert "Choose a file to upload" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 30])
def test_the_library_runs_a_constant_number_of_queries(
    signed_in, count, django_assert_max_num_queries
):
    for i in range(count):
        _upload_to_library(signed_in, f"f{i}.pdf", PDF, follow=False)
        signed_in.post(reverse("prospects:folder_create_root"), {"name": f"folder {i}"})
    signed_in.get(reverse("dashboard"))
    with django_assert_max_num_queries(9):  # with the tenant scope set and reset
        response = signed_in.get(reverse("prospects:library"))
    assert response.content.decode().count(".pdf</a>") == count


@pytest.mark.django_db
def test_a_file_whose_bytes_are_gone_is_a_404_not_an_error(signed_in):
    _upload_to_library(signed_in, "photo.png", PNG)
    stored = StoredFile.objects.get()
    stored.blob.storage.delete(stored.blob.name)
    assert signed_in.get(reverse("prospects:file", args=[stored.public_id])).status_code == 404


@pytest.mark.django_db
def test_deleting_a_file_never_redirects_off_site(signed_in):
    _upload_to_library(signed_in, "photo.png", PNG)
    stored = StoredFile.objects.get()
    response = signed_in.post(
        reverse("prospects:file_delete", args=[stored.public_id]), {"next": "//evil.example/"}
    )
    assert response["Location"] == reverse("prospects:library")
    assert not StoredFile.objects.exists()


@pytest.mark.django_db
def test_the_sweep_deletes_bytes_no_record_names_and_keeps_everything_else(
    personas, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)  # only this test's files
    assert files.files_sweep_orphans() == 0  # nothing stored yet

    def store(name, client=personas.client_a):
        upload = SimpleUploadedFile(name, PDF)
        return files.file_store(client=client, actor=personas.bob, upload=upload)

    kept = store("kept.pdf")
    csv_upload = SimpleUploadedFile("a.csv", b"Name\nA\n")
    job = importing.import_upload(client=personas.client_a, actor=personas.bob, upload=csv_upload)
    names = {}
    for label, owner in (("rolled back", personas.client_a), ("gone client", personas.client_b)):
        try:
            with transaction.atomic():  # the request fails after the upload was stored
                names[label] = store(f"{label}.pdf", owner).blob.name
                raise RuntimeError("a later step of the request")
        except RuntimeError:
            pass
    storage = kept.blob.storage
    assert not StoredFile.objects.filter(blob__in=names.values()).exists()
    assert all(storage.exists(name) for name in names.values())
    # client B's folder now belongs to no client, as after the client was deleted
    Client.objects.filter(pk=personas.client_b.pk).update(public_id=uuid.uuid4())

    assert files.files_sweep_orphans() == 0  # too young: their rows might still be committing
    assert files.files_sweep_orphans(grace=timedelta(0)) == 2
    assert not any(storage.exists(name) for name in names.values())
    assert storage.exists(kept.blob.name) and storage.exists(job.source.name)
    assert Client.objects.get(pk=personas.client_a.pk).storage_bytes == len(PDF)
