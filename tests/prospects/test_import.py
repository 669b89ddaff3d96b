"""CSV import: upload checks, column mapping, row validation, dedupe, error report, resume."""

import csv
import gc
import io
import sys
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from prospects import importing
from prospects.models import CustomField, ImportJob, ImportRowError, Prospect
from tests.factories import ProspectFactory
from tests.prospects import import_steps as steps

HEADER = "Name,Email,Phone,Company,Status,Notes\n"


def _csv(text: str | bytes, name="people.csv"):
    f = io.BytesIO(text.encode() if isinstance(text, str) else text)
    f.name = name
    return f


@pytest.fixture(params=["copy", "orm"])
def writer(request, monkeypatch):
    """Both ways rows are written: COPY and UPDATE ... FROM on PostgreSQL, the ORM's bulk
    methods on the embedded SQLite default (exercised here on PostgreSQL)."""
    if request.param == "orm":
        monkeypatch.setattr(importing.writer, "is_postgres", lambda: False)
    return request.param


@pytest.fixture
def signed_in(client, personas):
    client.force_login(personas.bob)
    return client


def _upload(client, content, name="people.csv"):
    return client.post(reverse("prospects:import_new"), {"file": _csv(content, name)})


def _run(client, content, mapping=None, on_duplicate="update", capture=None):
    job = steps.upload(client, content, "people.csv")
    with capture(execute=True):
        response = steps.map_columns(client, job, mapping or None, on_duplicate)
        values_url = reverse("prospects:import_values", args=[job.public_id])
        if response.url == values_url:  # values to map: the person takes the guesses shown
            response = client.post(values_url, steps.values_form(client.get(values_url)))
            assert response.status_code == 302, response.content.decode()[:3000]
    job.refresh_from_db()
    return job


def _uploaded(personas, content: bytes) -> ImportJob:
    upload = SimpleUploadedFile("a.csv", content)
    return importing.import_upload(client=personas.client_a, actor=personas.bob, upload=upload)


def _queued(personas, content: bytes, mapping: dict) -> ImportJob:
    job = _uploaded(personas, content)
    return importing.import_start(
        job=job, actor=personas.bob, mapping=mapping, on_duplicate="update"
    )


@pytest.mark.django_db
def test_an_import_creates_good_rows_skips_bad_ones_and_reports_them(
    signed_in, personas, django_capture_on_commit_callbacks, writer
):
    content = HEADER + (
        "Ravi Kumar,Ravi@Sunrise.example,098765 43210,Sunrise,interested,first\n"
        "No Email,,+44 20 7946 0958,,,\n"
        ",nobody@x.example,,,,\n"
        "Bad Mail,not-an-email,,,,\n"
        "Bad Phone,bp@x.example,12345,,,\n"
        "Bad Status,bs@x.example,,,on hold,\n"
        "Card Holder,ch@x.example,,,,card 4111 1111 1111 1111\n"
    )
    job = _run(signed_in, content, capture=django_capture_on_commit_callbacks)
    assert job.status == "done" and job.percent == 100
    assert (job.total_rows, job.processed_rows, job.created_count, job.error_count) == (7, 7, 5, 2)
    assert job.warned_count == 2  # "on hold" was left empty on the values step: no warning
    ravi = Prospect.objects.get(name="Ravi Kumar")
    assert (
        ravi.client == personas.client_a
        and ravi.email == "ravi@sunrise.example"
        and ravi.status == "interested"
    )
    assert list(ravi.phones.values_list("number", flat=True)) == ["+919876543210"]
    # a bad optional cell is left empty, the row imported
    assert Prospect.objects.get(name="Bad Mail").email == ""
    assert not Prospect.objects.get(name="Bad Phone").phones.exists()
    assert Prospect.objects.get(name="Bad Status").status == "new"
    errors = {
        e.row_number: (e.level, e.column, e.value, e.reason) for e in ImportRowError.objects.all()
    }
    assert set(errors) == {4, 5, 6, 8}
    assert errors[4][:2] == ("refused", "Name") and "A prospect needs a name" in errors[4][3]
    assert errors[5][:3] == ("warning", "Email", "not-an-email")
    assert "not a valid email address" in errors[5][3]
    assert errors[6][:3] == ("warning", "Phone", "12345")
    assert "not a valid phone number" in errors[6][3]
    # refused for the card number, which the report does not copy
    assert errors[8][:3] == ("refused", "Notes", "") and "payment card number" in errors[8][3]

    report = signed_in.get(reverse("prospects:import_errors", args=[job.public_id]))
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows[0] == ["row", "level", "column", "value", "reason"]
    assert [r[:2] for r in rows[1:]] == [
        ["4", "refused"],
        ["5", "warning"],
        ["6", "warning"],
        ["8", "refused"],
    ]
    progress = signed_in.get(reverse("prospects:import_progress", args=[job.public_id])).json()
    assert (
        progress | {"failure": ""} == progress
        and progress["percent"] == 100
        and (progress["created"], progress["errors"], progress["warned"]) == (5, 2, 2)
    )


@pytest.mark.django_db
def test_backslashes_tabs_and_line_breaks_are_stored_as_written(
    signed_in, personas, django_capture_on_commit_callbacks, writer
):
    r"""COPY's text format gives \\, \N, tab and newline meanings; imported text keeps none of
    them: a name that is literally \N stays a name, not a NULL, on a new row and an update."""
    ProspectFactory(client=personas.client_a, name="Old Name", email="t@x.example")
    notes = "line one\nC:\\temp\\new\ttabbed\r\nend \\N"
    content = (
        HEADER
        + f'"\\N",n@x.example,,"Back\\slash & Co",,"{notes}"\n'
        + 'Tab \\Name,t@x.example,,"\\\\server\\share",,\n'  # updates Old Name
    )
    job = _run(signed_in, content, capture=django_capture_on_commit_callbacks)
    assert (job.status, job.created_count, job.updated_count) == ("done", 1, 1)
    weird = Prospect.objects.get(email="n@x.example")
    assert (weird.name, weird.organisation, weird.notes) == ("\\N", "Back\\slash & Co", notes)
    updated = Prospect.objects.get(email="t@x.example")
    assert (updated.name, updated.organisation) == ("Tab \\Name", "\\\\server\\share")
    assert updated.search_text == "tab \\name \\\\server\\share"


@pytest.mark.django_db
def test_the_mapping_page_previews_rows_and_guesses_columns(signed_in):
    _upload(
        signed_in,
        "Full Name,E-mail,Mobile,Organization,Zip,Favourite colour\nRavi,r@x.example,+919876543210,Sunrise,560001,blue\n",
    )
    job = ImportJob.objects.get()
    assert job.mapping == {
        "Full Name": "name",
        "E-mail": "email",
        "Mobile": "phones",
        "Organization": "organisation",
        "Zip": "postal_code",
    }
    page = signed_in.get(reverse("prospects:import_map", args=[job.public_id])).content.decode()
    assert "Favourite colour" in page and "blue" in page  # unknown column shown, left on ignore


@pytest.mark.django_db
def test_the_last_mapping_is_remembered_for_the_next_file(
    signed_in, django_capture_on_commit_callbacks
):
    content = "Kunde,Telefon\nRavi,+919876543210\n"
    _run(
        signed_in,
        content,
        mapping={"Kunde": "name", "Telefon": "phones"},
        capture=django_capture_on_commit_callbacks,
    )
    _upload(signed_in, "Kunde,Telefon\nAnita,+442079460958\n")
    assert ImportJob.objects.latest("created_at").mapping == {"Kunde": "name", "Telefon": "phones"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("on_duplicate", "expected_name", "counts"),
    [("update", "Ravi K", (1, 1, 0)), ("skip", "Ravi Kumar", (1, 0, 1))],
)
@pytest.mark.parametrize("batch_size", [2000, 1])
def test_duplicates_by_email_or_normalised_phone_are_updated_or_skipped(
    signed_in,
    personas,
    django_capture_on_commit_callbacks,
    on_duplicate,
    expected_name,
    counts,
    writer,
    settings,
    batch_size,
):
    settings.IMPORT_BATCH_SIZE = batch_size
    ProspectFactory(
        client=personas.client_a,
        name="Ravi Kumar",
        email="ravi@sunrise.example",
        phones=["+919876543210"],
        tags=["old"],
    )
    ProspectFactory(client=personas.client_b, name="Same email at B", email="new@x.example")
    content = (
        "Name,Email,Phone,Tags\n"
        "Ravi K,,09876543210,new\n"  # same phone typed another way, a name that agrees
        "Newcomer,new@x.example,,\n"  # B's email is not a duplicate for A
    )
    job = _run(
        signed_in, content, on_duplicate=on_duplicate, capture=django_capture_on_commit_callbacks
    )
    assert (job.created_count, job.updated_count, job.skipped_count) == counts
    ravi = Prospect.objects.get(client=personas.client_a, email="ravi@sunrise.example")
    assert ravi.name == expected_name
    if on_duplicate == "update":
        assert ravi.tags == ["old", "new"]
        assert ravi.events.filter(kind="imported").exists()
    assert Prospect.objects.filter(client=personas.client_a, email="new@x.example").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("batch_size", [2000, 1, 2])
def test_duplicates_inside_one_file_become_one_prospect(
    signed_in, django_capture_on_commit_callbacks, writer, settings, batch_size
):
    """Whether the rows land in one batch or in consecutive ones (the next batch is looked up
    before the last one is written), they make one prospect with everything merged."""
    settings.IMPORT_BATCH_SIZE = batch_size
    content = (
        "Name,Email,Phone,Tags\n"
        "Ravi,ravi@x.example,,a\n"
        "Ravi Kumar,RAVI@x.example,+919876543210,b\n"
        "Ravi K,,098765 43210,c\n"  # by phone: the names agree
        "Ravi Kumar,ravi@x.example,+91 98765 43211,d\n"
        "Ravi Kumar Rao,ravi.new@x.example,+919876543211,e\n"
    )
    job = _run(signed_in, content, capture=django_capture_on_commit_callbacks)
    assert Prospect.objects.count() == 1
    assert (job.created_count, job.merged_count, job.error_count, job.processed_rows) == (
        1,
        4,
        0,
        5,
    )
    ravi = Prospect.objects.get()
    assert (ravi.name, ravi.email, ravi.tags) == (
        "Ravi Kumar Rao",
        "ravi.new@x.example",
        ["a", "b", "c", "d", "e"],
    )
    assert sorted(ravi.phones.values_list("number", flat=True)) == [
        "+919876543210",
        "+919876543211",
    ]
    # rows into a prospect this import created are merged, however the batches fall
    assert job.updated_count == 0


@pytest.mark.django_db
def test_custom_fields_are_imported_and_validated(
    signed_in, personas, django_capture_on_commit_callbacks, writer
):
    CustomField.objects.create(
        client=personas.client_a, key="budget", label="Budget", kind="number"
    )
    content = "Name,budget\nGood,1500\nBad,lots\n"
    job = _run(signed_in, content, capture=django_capture_on_commit_callbacks)
    assert job.mapping == {"Name": "name", "budget": "custom.budget"}
    assert dict(Prospect.objects.values_list("name", "custom")) == {
        "Good": {"budget": 1500},
        "Bad": {},
    }
    bad = ImportRowError.objects.get()
    assert (bad.level, bad.column, bad.value) == ("warning", "budget", "lots")
    assert "Budget must be a number" in bad.reason


@pytest.mark.django_db
def test_a_20_mb_line_fails_its_row_only(signed_in, django_capture_on_commit_callbacks):
    content = "Name,Notes\nBefore,ok\nHuge," + "x" * (20 * 1024 * 1024) + "\nAfter,ok\n"
    job = _run(signed_in, content, capture=django_capture_on_commit_callbacks)
    assert set(Prospect.objects.values_list("name", flat=True)) == {"Before", "After"}
    [error] = ImportRowError.objects.all()
    assert error.row_number == 3 and "longer than 100,000 characters" in error.reason
    assert job.status == "done"


@pytest.mark.django_db
def test_a_row_with_more_cells_than_columns_is_an_error(
    signed_in, django_capture_on_commit_callbacks
):
    job = _run(
        signed_in,
        "Name,Email\nRavi,r@x.example,extra,cells\nAnita,a@x.example\n",
        capture=django_capture_on_commit_callbacks,
    )
    assert job.created_count == 1 and "header has 2 columns" in ImportRowError.objects.get().reason


@pytest.mark.django_db
def test_semicolon_files_and_a_byte_order_mark_are_read(
    signed_in, django_capture_on_commit_callbacks
):
    job = _run(
        signed_in,
        "\ufeffName;Email\nRavi;r@x.example\n",
        capture=django_capture_on_commit_callbacks,
    )
    assert job.delimiter == ";" and Prospect.objects.get().email == "r@x.example"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The submitted file is empty"),  # Django refuses it before we see it
        (b"Name,Email\n", "no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not a CSV file"),
        # binary data far into the file, past any sample, with its position
        (b"Name\n" + b"Ravi\n" * 3000 + b"Bad\x00row\n", "a NUL byte at position 15,008"),
        (b"\n\n,,\n", "no row naming the columns"),
    ],
)
def test_bad_files_are_refused_at_upload_with_a_clear_message(signed_in, content, message):
    response = _upload(signed_in, content)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"Name": "", "Email": "email"}, "Choose the column that holds the prospect"),
        ({"Name": "city", "Email": "city"}, "Only one column can go to City"),
        ({"Name": "name", "Email": "password"}, "Select a valid choice"),
    ],
)
def test_a_bad_mapping_is_refused_and_the_job_does_not_start(signed_in, mapping, message):
    _upload(signed_in, "Name,Email\nRavi,r@x.example\n")
    job = ImportJob.objects.get()
    form = {"on_duplicate": "update", "col_0": mapping["Name"], "col_1": mapping["Email"]}
    response = signed_in.post(reverse("prospects:import_map", args=[job.public_id]), form)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    job.refresh_from_db()
    assert job.status == "uploaded" and not Prospect.objects.exists()


@pytest.mark.django_db
def test_a_mapping_naming_a_column_the_file_lacks_is_refused(personas):
    job = _uploaded(personas, b"Name\nA\n")
    with pytest.raises(ValidationError, match="no column “Phone”"):
        importing.import_start(
            job=job,
            actor=personas.bob,
            mapping={"Name": "name", "Phone": "phones"},
            on_duplicate="update",
        )


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_resumed_after_its_last_committed_batch(
    personas, settings, monkeypatch
):
    """The run is killed after its first batch; the watchdog hands the job to a new run, which
    imports the rest without repeating a row."""
    settings.IMPORT_BATCH_SIZE = 2
    rows = "".join(f"Person {i},p{i}@x.example\n" for i in range(7))
    job = _queued(personas, ("Name,Email\n" + rows).encode(), {"Name": "name", "Email": "email"})

    real_commit, calls = importing.pipeline.Runner._commit, []

    def commit_then_die(self, batch, last=False):
        real_commit(self, batch, last=last)
        calls.append(batch.records)
        raise SystemExit("worker killed")  # not an Exception: nothing marks the job

    monkeypatch.setattr(importing.pipeline.Runner, "_commit", commit_then_die)
    with pytest.raises(SystemExit):
        importing.import_run(job.pk)
    monkeypatch.setattr(importing.pipeline.Runner, "_commit", real_commit)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, Prospect.objects.count()) == ("running", 2, 2)

    importing.import_run(job.pk)  # a second delivery while the first run looks alive: no-op
    assert ImportJob.objects.get(pk=job.pk).runs == 1

    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert importing.imports_resume_stale() == 1  # eager Celery runs it here
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count, job.runs) == ("done", 7, 7, 2)
    assert Prospect.objects.count() == 7


@pytest.mark.django_db
def test_a_job_that_keeps_dying_is_marked_failed_with_a_reason(personas):
    job = _uploaded(personas, b"Name\nA\n")
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", runs=3, processed_rows=0, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    importing.import_run(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "stopped 3 times" in job.failure_reason
    assert not Prospect.objects.exists()


@pytest.mark.django_db
def test_an_unexpected_error_marks_the_job_failed_not_silent(personas, monkeypatch):
    job = _queued(personas, b"Name\nA\n", {"Name": "name"})
    monkeypatch.setattr(importing.ProspectWriter, "write", lambda self, good: 1 / 0)
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    importing.import_run(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "ZeroDivisionError" in job.failure_reason
    # the run's settings of the worker process are undone, even after a failure
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0
    assert sys.getswitchinterval() == interval


@pytest.mark.django_db
def test_an_error_while_checking_rows_marks_the_job_failed(personas, monkeypatch):
    """Rows are checked in a helper thread; what goes wrong there reaches the job."""
    job = _queued(personas, b"Name\nA\nB\nC\n", {"Name": "name"})

    def explode(raw, **kwargs):
        if raw["name"] == "B":
            raise LookupError("checker broke")
        return {"name": raw["name"]}

    monkeypatch.setattr(importing.pipeline, "clean_prospect", explode)
    monkeypatch.setattr(importing.pipeline.settings, "IMPORT_BATCH_SIZE", 1)
    importing.import_run(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "LookupError" in job.failure_reason
    assert "after row 2" in job.failure_reason  # row 2 (A) was committed before it
    assert list(Prospect.objects.values_list("name", flat=True)) == ["A"]


def _ended_three_ways(personas, monkeypatch):
    """Jobs that ended: done, failed by an error, failed after dying too often."""
    done = _queued(personas, b"Name\nA\n", {"Name": "name"})
    importing.import_run(done.pk)
    broken = _queued(personas, b"Name\nB\n", {"Name": "name"})
    with monkeypatch.context() as patch:
        patch.setattr(importing.ProspectWriter, "write", lambda self, good: 1 / 0)
        importing.import_run(broken.pk)
    dying = _uploaded(personas, b"Name\nC\n")
    ImportJob.objects.filter(pk=dying.pk).update(
        status="running", runs=3, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    importing.import_run(dying.pk)
    return [done, broken, dying]


@pytest.mark.django_db
def test_an_ended_import_forgets_its_csv_file_once_the_end_commits(
    personas, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        jobs = _ended_three_ways(personas, monkeypatch)
    for job in jobs:
        storage, name = job.source.storage, job.source.name
        job.refresh_from_db()
        assert job.status in ("done", "failed") and job.source.name == ""
        assert name and not storage.exists(name)
    assert list(Prospect.objects.values_list("name", flat=True)) == ["A"]


@pytest.mark.django_db
def test_the_sweep_forgets_leftover_files_of_ended_imports_and_week_old_unstarted_uploads(
    personas, monkeypatch, django_capture_on_commit_callbacks
):
    jobs = _ended_three_ways(personas, monkeypatch)  # their on-commit deletions never ran
    names = [job.source.name for job in jobs]
    for job, name in zip(jobs, names, strict=True):  # as if each run died before forgetting it
        ImportJob.objects.filter(pk=job.pk).update(source=name)
    fresh, stale = _uploaded(personas, b"Name\nD\n"), _uploaded(personas, b"Name\nE\n")
    ImportJob.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=8))
    storage = fresh.source.storage

    with django_capture_on_commit_callbacks(execute=True):
        assert importing.imports_forget_sources() == 4  # three ended, one abandoned
    assert not any(storage.exists(name) for name in [*names, stale.source.name])
    assert set(ImportJob.objects.exclude(source="").values_list("pk", flat=True)) == {fresh.pk}
    assert not ImportJob.objects.filter(pk=stale.pk).exists()
    assert storage.exists(fresh.source.name)  # still waiting for its mapping
    with django_capture_on_commit_callbacks(execute=True):
        assert importing.imports_forget_sources() == 0


@pytest.mark.django_db
def test_an_imported_prospect_is_stored_as_a_form_would_store_it(
    signed_in, personas, django_capture_on_commit_callbacks, writer
):
    CustomField.objects.create(
        client=personas.client_a, key="visited", label="Visited", kind="date"
    )
    content = (
        "Name,Organisation,Email,Phone,Address line 1,Address line 2,City,State,Postal code,"
        "Country code,Latitude,Longitude,Status,Owner,Source,Tags,Notes,visited\n"
        " Élodie  Müller ,Sunrise Traders,Elodie@Sunrise.example,+44 20 7946 0958; +91 98765 43210,"
        "12 MG Road,Floor 2,Bengaluru,Karnataka,560001,gb,12.9716,77.5946,Customer,"
        f'{personas.alice.email.upper()},fair,"VIP, north",Met at the fair,2026-11-02\n'
    )
    job = _run(signed_in, content, capture=django_capture_on_commit_callbacks)
    assert (job.created_count, job.error_count) == (1, 0), job.row_errors.values_list("reason")
    prospect = Prospect.objects.get()
    prospect.full_clean()  # every column valid for the model
    stored = {f.attname: getattr(prospect, f.attname) for f in Prospect._meta.concrete_fields}
    prospect.refresh_derived()  # the derived columns are what the model derives
    assert stored == {
        f.attname: getattr(prospect, f.attname) for f in Prospect._meta.concrete_fields
    }
    assert (prospect.name, prospect.name_key, prospect.search_text) == (
        "Élodie Müller",
        "élodie müller",
        "élodie müller sunrise traders",
    )
    assert (prospect.email, prospect.country, prospect.status) == (
        "elodie@sunrise.example",
        "GB",
        "customer",
    )
    assert (str(prospect.latitude), str(prospect.longitude)) == ("12.971600", "77.594600")
    assert prospect.owner == personas.alice and prospect.tags == ["vip", "north"]
    assert prospect.custom == {"visited": "2026-11-02"} and prospect.notes == "Met at the fair"
    assert (prospect.created_by, prospect.updated_by, prospect.import_job) == (
        personas.bob,
        personas.bob,
        job,
    )
    assert prospect.public_id.version == 7  # time-ordered
    assert sorted(prospect.phones.values_list("number", flat=True)) == [
        "+442079460958",
        "+919876543210",
    ]


@pytest.mark.django_db
def test_a_member_cannot_start_another_users_job_twice(
    signed_in, django_capture_on_commit_callbacks
):
    job = _run(signed_in, "Name\nA\n", capture=django_capture_on_commit_callbacks)
    response = signed_in.post(
        reverse("prospects:import_map", args=[job.public_id]),
        {"col_0": "name", "on_duplicate": "update"},
    )
    assert response.status_code == 302  # back to the job page: it has already run
    assert Prospect.objects.count() == 1


@pytest.mark.django_db
def test_posting_the_upload_form_without_a_file_says_so(signed_in):
    response = signed_in.post(reverse("prospects:import_new"), {})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


@pytest.mark.django_db
def test_deleting_the_importer_or_the_import_keeps_the_prospects(
    signed_in, personas, django_capture_on_commit_callbacks
):
    """created_by, updated_by and import_job have no database constraint (each cost a check per
    imported row); Django's on_delete still clears them."""
    job = _run(signed_in, "Name\nRavi\n", capture=django_capture_on_commit_callbacks)
    ravi = Prospect.objects.get()
    assert (ravi.created_by, ravi.updated_by, ravi.import_job) == (personas.bob, personas.bob, job)
    job.delete()
    ravi.refresh_from_db()
    assert ravi.import_job is None
    personas.bob.delete()
    ravi.refresh_from_db()
    assert (ravi.created_by, ravi.updated_by) == (None, None)
