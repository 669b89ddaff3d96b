"""An upload whose stored CSV is gone (the clean-up, a storage fault) answers 410 with what
happened and a link to upload again, on the mapping page, its start step and the job's page;
never a 500."""

import io

import pytest
from django.urls import reverse

from prospects.models import ImportJob, Prospect


@pytest.fixture
def job(client, personas):
    client.force_login(personas.bob)
    upload = io.BytesIO(b"Name,Phone\nZoya Khan,98765 43210\n")
    upload.name = "people.csv"
    assert client.post(reverse("prospects:import_new"), {"file": upload}).status_code == 302
    return ImportJob.objects.get()


def _deleted(job):
    job.source.storage.delete(job.source.name)
    assert not job.source.storage.exists(job.source.name)


def _refusing(job, monkeypatch):
    def refuse(name, mode="rb"):
        raise OSError("storage unavailable")

    monkeypatch.setattr(job.source.storage, "open", refuse)


@pytest.fixture(params=["deleted", "refused"])
def gone(request, job, monkeypatch):
    """The stored file removed through the storage API, or the storage raising on open."""
    if request.param == "deleted":
        _deleted(job)
    else:
        _refusing(job, monkeypatch)
    return job


def _assert_gone_page(response):
    page = response.content.decode()
    assert response.status_code == 410
    assert "The uploaded file is no longer available" in page
    assert "people.csv" in page and "removed after 7 days" in page
    assert f'href="{reverse("prospects:import_new")}"' in page


@pytest.mark.django_db
def test_the_mapping_page_of_a_lost_upload_says_so_and_offers_a_new_upload(client, gone):
    _assert_gone_page(client.get(reverse("prospects:import_map", args=[gone.public_id])))


@pytest.mark.django_db
def test_starting_a_lost_upload_says_so_and_queues_nothing(
    client, gone, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("prospects:import_map", args=[gone.public_id]),
            {"on_duplicate": "update", "col_0": "name", "col_1": "phones"},
        )
    _assert_gone_page(response)
    assert callbacks == []
    gone.refresh_from_db()
    assert gone.status == ImportJob.Status.UPLOADED
    assert not Prospect.objects.exists()


@pytest.mark.django_db
def test_the_page_of_a_lost_upload_says_so(client, gone):
    _assert_gone_page(client.get(reverse("prospects:import_detail", args=[gone.public_id])))


@pytest.mark.django_db
def test_the_page_of_an_ended_import_does_not_need_its_file(
    client, job, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("prospects:import_map", args=[job.public_id]),
            {"on_duplicate": "update", "col_0": "name", "col_1": "phones"},
        )
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and not job.source.name  # dropped on purpose
    response = client.get(reverse("prospects:import_detail", args=[job.public_id]))
    assert response.status_code == 200 and 'id="import-created">1<' in response.content.decode()


@pytest.mark.django_db
def test_an_available_upload_still_shows_its_mapping_and_preview(client, job):
    response = client.get(reverse("prospects:import_map", args=[job.public_id]))
    assert response.status_code == 200 and "Zoya Khan" in response.content.decode()
