"""Cells as real exports hold them: placeholders, invisible characters, emails and phones as
people write them, decimal commas; a bad optional cell leaves its row imported with a
warning; a shared phone number; the counts adding up; the detail page and the row report."""

import csv
import io

import pytest
from django.urls import reverse

from prospects import importing
from prospects.importing import cells
from prospects.models import CustomField, ImportJob, ImportRowError, Prospect
from tests.factories import ProspectFactory
from tests.prospects import import_steps as steps

WARNING, REFUSED = "warning", "refused"


@pytest.fixture(params=["copy", "orm"])
def writer(request, monkeypatch):
    """Both ways rows are written (COPY on PostgreSQL, the ORM's bulk methods elsewhere)."""
    if request.param == "orm":
        monkeypatch.setattr(importing.writer, "is_postgres", lambda: False)
    return request.param


@pytest.fixture
def signed_in(client, personas):
    client.force_login(personas.bob)
    return client


def _import(client, content: str | bytes, mapping: dict, capture, on_duplicate="update"):
    """Upload `content` as a CSV, map its columns by header, run the import to its end."""
    job = steps.upload(client, content)
    with capture(execute=True):
        steps.map_columns(client, job, mapping, on_duplicate)
        job.refresh_from_db()
        if job.status == ImportJob.Status.UPLOADED:  # sent to the values step: choose none
            importing.import_start(
                job=job,
                actor=job.created_by,
                mapping=job.mapping,
                on_duplicate=on_duplicate,
                value_mapping={},
            )  # so the values are read as the rows are: what is not ours is a warning
    job.refresh_from_db()
    assert job.status == "done", job.failure_reason
    return job


def _report(job) -> list[tuple]:
    return list(
        ImportRowError.objects.filter(job=job)
        .order_by("row_number", "id")
        .values_list("row_number", "level", "column", "value", "reason")
    )


def _counts_add_up(job) -> None:
    counted = (
        job.created_count
        + job.updated_count
        + job.merged_count
        + job.skipped_count
        + job.error_count
    )
    assert counted == job.processed_rows == job.total_rows


# --- cells, one by one -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Asha Rao", "Asha Rao"),
        ("N/A", ""),
        (" n/a ", ""),
        ("#N/A", ""),
        ("-", ""),
        ("--", ""),
        ("\u2014", ""),
        ("nil", ""),
        ("None", ""),
        ("NULL", ""),
        ("NA", ""),
        ("Nina", "Nina"),
        ("ravi\u200b@x.example", "ravi@x.example"),
        ("\ufeffAsha\u00a0Rao", "Asha Rao"),
        ("New\u202fDelhi", "New Delhi"),
    ],
)
def test_a_cell_is_read_as_the_person_meant_it(text, expected):
    assert cells.normalise(text) == expected


def test_na_is_namibia_in_a_country_column():
    assert cells.normalise("NA", keep_na=True) == "NA"
    assert cells.normalise("n/a", keep_na=True) == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+91 98450 12345 (WhatsApp)", ["+91 98450 12345"]),
        ("mobile: 098450 12345", ["098450 12345"]),
        ("Tel. +44 20 7946 0018", ["+44 20 7946 0018"]),
        ("+44 20 7946 0018 ext. 12", ["+44 20 7946 0018 ext. 12"]),
        ("+44 20 7946 0018 x12", ["+44 20 7946 0018 ext. 12"]),
        ("+44 20 7946 0018 extn 12", ["+44 20 7946 0018 ext. 12"]),
        ("+44 20 7946 0018 #12", ["+44 20 7946 0018 ext. 12"]),
        ("9,84501E+09", ["9,84501E+09"]),
        ("+91 98450 12345 / +91 98450 12346", ["+91 98450 12345", "+91 98450 12346"]),
    ],
)
def test_phone_labels_and_remarks_are_taken_off_and_extensions_kept(text, expected):
    assert cells.split_phones(text) == expected


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("Ravi Kumar", "ravi kumar", True),
        ("Ravi K", "Ravi Kumar", True),
        ("Ravi Kumar", "Ravi K.", True),
        ("Anil Mehta", "Anil Kumar Mehta", True),
        ("Anil Mehta", "Sunita Mehta", False),
        ("Sunrise Stores", "Anil Mehta", False),
        ("Person 1", "Person 10", False),  # an initial is a letter, not a digit
    ],
)
def test_names_agree_when_one_names_the_other(a, b, agree):
    assert cells.names_agree(a, b) is agree and cells.names_agree(b, a) is agree


# --- whole imports -----------------------------------------------------------------------


@pytest.mark.django_db
def test_placeholders_and_invisible_characters_are_not_stored(
    signed_in, django_capture_on_commit_callbacks, writer
):
    # a CRM export: "N/A" and "-" for nothing, characters pasted from web pages and chats
    content = (
        "Full Name,Contact Email,Mobile No,Country,City,Company Name\n"
        "Asha Rao,N/A,-,NA,nil,none\n"
        "Ravi\u200b Kumar,ravi\u200b@sunrise.example,+91\u00a098450\u00a012345,IN,"
        "New\u00a0Delhi,\ufeffSunrise\u202fTraders\n"
    )
    mapping = {
        "Full Name": "name",
        "Contact Email": "email",
        "Mobile No": "phones",
        "Country": "country",
        "City": "city",
        "Company Name": "organisation",
    }
    job = _import(signed_in, content, mapping, django_capture_on_commit_callbacks)
    assert (job.created_count, job.error_count, job.warned_count) == (2, 0, 0), _report(job)
    asha = Prospect.objects.get(name="Asha Rao")
    assert (asha.email, asha.city, asha.organisation, asha.country) == ("", "", "", "NA")
    assert not asha.phones.exists()
    ravi = Prospect.objects.get(email="ravi@sunrise.example")
    assert (ravi.name, ravi.city, ravi.organisation) == (
        "Ravi Kumar",
        "New Delhi",
        "Sunrise Traders",
    )
    assert list(ravi.phones.values_list("number", flat=True)) == ["+919845012345"]


@pytest.mark.django_db
def test_emails_as_people_write_them(signed_in, django_capture_on_commit_callbacks, writer):
    content = (
        "Name,E-mail Address,Notes\n"
        '"Asha Rao","Asha Rao <Asha@Sunrise.example>",\n'
        "Ravi Kumar,mailto:ravi@sunrise.example,Met at the fair\n"
        '"Priya Shah","priya@sunrise.example; priya.home@mail.example",Likes tea\n'
        "Dev Patel,dev at sunrise dot example,\n"
    )
    mapping = {"Name": "name", "E-mail Address": "email", "Notes": "notes"}
    job = _import(signed_in, content, mapping, django_capture_on_commit_callbacks)
    emails = dict(Prospect.objects.values_list("name", "email"))
    assert emails == {
        "Asha Rao": "asha@sunrise.example",
        "Ravi Kumar": "ravi@sunrise.example",
        "Priya Shah": "priya@sunrise.example",
        "Dev Patel": "",
    }
    priya = Prospect.objects.get(name="Priya Shah")
    assert priya.notes == "Likes tea\nOther emails: priya.home@mail.example"
    ((row, level, column, value, reason),) = _report(job)
    assert (row, level, column, value) == (
        5,
        WARNING,
        "E-mail Address",
        "dev at sunrise dot example",
    )
    assert "not a valid email address" in reason
    assert (job.created_count, job.error_count, job.warned_count) == (4, 0, 1)


@pytest.mark.django_db
def test_phones_with_labels_extensions_and_excel_notation(
    signed_in, django_capture_on_commit_callbacks, writer
):
    # Outlook columns, both feeding the phones; a number Excel saved as 9.84501E+09
    content = (
        "First Name,Mobile Phone,Business Phone\n"
        "Asha,+91 98450 12345 (WhatsApp),Tel. +44 20 7946 0018 ext. 12\n"
        "Ravi,mobile: 098450 12346,+44 20 7946 0019 x7\n"
        'Priya,9.84501E+09,"9,84501E+09"\n'
        "Dev,12345,+91 98450 12347\n"
    )
    mapping = {"First Name": "name", "Mobile Phone": "phones", "Business Phone": "phones"}
    job = _import(signed_in, content, mapping, django_capture_on_commit_callbacks)
    phones = {
        p.name: sorted(p.phones.values_list("number", flat=True)) for p in Prospect.objects.all()
    }
    assert phones == {
        "Asha": ["+442079460018", "+919845012345"],
        "Ravi": ["+442079460019", "+919845012346"],
        "Priya": [],
        "Dev": ["+919845012347"],
    }
    # the model stores E.164 numbers only: the extension goes to the notes
    assert Prospect.objects.get(name="Asha").notes == "Phone +44 20 7946 0018 ext. 12"
    assert Prospect.objects.get(name="Ravi").notes == "Phone +44 20 7946 0019 ext. 7"
    report = _report(job)
    column = "Mobile Phone + Business Phone"
    assert [r[:4] for r in report] == [
        (4, WARNING, column, "9.84501E+09"),
        (4, WARNING, column, "9,84501E+09"),
        (5, WARNING, column, "12345"),
    ]
    assert all(
        "Excel turned into scientific notation" in r[4]
        and "lost its last digits" in r[4]
        and "format the column as Text" in r[4]
        and ".xlsx" in r[4]
        for r in report[:2]
    )
    assert "not a valid phone number" in report[2][4]
    assert (job.created_count, job.error_count, job.warned_count) == (4, 0, 2)


@pytest.mark.django_db
def test_decimal_commas_in_coordinates_and_in_numbers_of_a_semicolon_file(
    signed_in, personas, django_capture_on_commit_callbacks, writer
):
    CustomField.objects.create(
        client=personas.client_a, key="revenue", label="Revenue", kind="number"
    )
    # Excel in a European locale: ";" between cells, "," before the decimals
    content = "Name;Latitude;Longitude;Revenue\nAsha Rao;12,9716;77,5946;1.234,5\nRavi;-;-;12,5\n"
    mapping = {
        "Name": "name",
        "Latitude": "latitude",
        "Longitude": "longitude",
        "Revenue": "custom.revenue",
    }
    job = _import(signed_in, content, mapping, django_capture_on_commit_callbacks)
    assert job.delimiter == ";" and _report(job) == []
    asha = Prospect.objects.get(name="Asha Rao")
    assert (str(asha.latitude), str(asha.longitude)) == ("12.971600", "77.594600")
    assert asha.custom == {"revenue": 1234.5}
    assert Prospect.objects.get(name="Ravi").custom == {"revenue": 12.5}


@pytest.mark.django_db
def test_a_decimal_comma_in_a_comma_file_latitude_is_read(
    signed_in, django_capture_on_commit_callbacks, writer
):
    content = 'Name,Latitude,Longitude\nAsha Rao,"12,9716","77,5946"\n'
    mapping = {"Name": "name", "Latitude": "latitude", "Longitude": "longitude"}
    job = _import(signed_in, content, mapping, django_capture_on_commit_callbacks)
    asha = Prospect.objects.get()
    assert (str(asha.latitude), str(asha.longitude), job.warned_count) == (
        "12.971600",
        "77.594600",
        0,
    )


@pytest.mark.django_db
def test_bad_optional_cells_are_left_empty_and_unusable_rows_refused(
    signed_in, personas, django_capture_on_commit_callbacks, writer
):
    CustomField.objects.create(
        client=personas.client_a, key="region", label="Sales region", kind="text", required=True
    )
    header = "Name,Email,Status,Owner,Country,Latitude,Tags,Region,Notes\n"
    long_tag = "t" * 41
    content = header + (
        f"Asha Rao,asha@x.example,maybe,nobody@x.example,Atlantis,north,{long_tag},South,\n"
        ",nobody@x.example,,,,,,South,\n"
        "Ravi Kumar,ravi@x.example,,,,,,,\n"
        "Card Holder,card@x.example,,,,,,South,card 4111 1111 1111 1111\n"
        f"Priya Shah,priya@x.example,won,{personas.alice.email},GB,51.5,vip,North,Met in London\n"
    )
    mapping = {
        "Name": "name",
        "Email": "email",
        "Status": "status",
        "Owner": "owner",
        "Country": "country",
        "Latitude": "latitude",
        "Tags": "tags",
        "Region": "custom.region",
        "Notes": "notes",
    }
    job = _import(signed_in, content, mapping, django_capture_on_commit_callbacks)
    asha = Prospect.objects.get(name="Asha Rao")
    assert (asha.email, asha.status, asha.owner, asha.country, asha.latitude, asha.tags) == (
        "asha@x.example",
        "new",
        None,
        "",
        None,
        [],
    )
    assert asha.custom == {"region": "South"}
    report = _report(job)
    assert [r[:4] for r in report] == [
        (2, WARNING, "Country", "Atlantis"),
        (2, WARNING, "Latitude", "north"),
        (2, WARNING, "Status", "maybe"),
        (2, WARNING, "Tags", long_tag),
        (2, WARNING, "Owner", "nobody@x.example"),
        (3, REFUSED, "Name", ""),
        (4, REFUSED, "Region", ""),
        (5, REFUSED, "Notes", ""),  # the card number is not copied into the report
    ]
    reasons = [r[4] for r in report]
    assert "two-letter country code" in reasons[0] and "latitude must be a number" in reasons[1]
    assert "Unknown status" in reasons[2] and "longer than 40 characters" in reasons[3]
    assert "No active user" in reasons[4]
    assert "needs a name" in reasons[5] and "Sales region is required" in reasons[6]
    assert "payment card number" in reasons[7]
    assert set(Prospect.objects.values_list("name", flat=True)) == {"Asha Rao", "Priya Shah"}
    assert Prospect.objects.get(name="Priya Shah").status == "customer"  # "won", guessed
    assert (job.created_count, job.error_count, job.warned_count) == (2, 3, 1)
    _counts_add_up(job)


@pytest.mark.django_db
@pytest.mark.parametrize("batch_size", [2000, 1, 2])
@pytest.mark.parametrize("on_duplicate", ["update", "skip"])
def test_every_row_read_is_counted_once(
    signed_in,
    personas,
    django_capture_on_commit_callbacks,
    writer,
    settings,
    batch_size,
    on_duplicate,
):
    settings.IMPORT_BATCH_SIZE = batch_size
    ProspectFactory(client=personas.client_a, name="Ravi Kumar", email="ravi@x.example", tags=[])
    content = (
        "Name,Email,Phone,Tags\n"
        "Asha Rao,asha@x.example,,a\n"  # created
        "Asha R,ASHA@x.example,,b\n"  # merged into the row above
        "Ravi Kumar,ravi@x.example,,c\n"  # updates a prospect already there
        "Ravi K,ravi@x.example,,d\n"  # merged into the one it updated
        ",nobody@x.example,,\n"  # refused
        "Priya Shah,priya@x.example,12345,\n"  # created, with a warning
    )
    mapping = {"Name": "name", "Email": "email", "Phone": "phones", "Tags": "tags"}
    job = _import(signed_in, content, mapping, django_capture_on_commit_callbacks, on_duplicate)
    counts = (
        job.created_count,
        job.updated_count,
        job.merged_count,
        job.skipped_count,
        job.error_count,
        job.warned_count,
    )
    if on_duplicate == "update":
        assert counts == (2, 1, 2, 0, 1, 1)
        assert Prospect.objects.get(name="Asha R").tags == ["a", "b"]
        assert Prospect.objects.get(email="ravi@x.example").tags == ["c", "d"]
    else:
        assert counts == (2, 0, 0, 3, 1, 1)
    assert job.processed_rows == 6
    _counts_add_up(job)
    progress = signed_in.get(reverse("prospects:import_progress", args=[job.public_id])).json()
    assert [progress[k] for k in ("created", "updated", "merged", "skipped", "errors")] == list(
        counts[:5]
    )
    assert progress["warned"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("batch_size", [2000, 1])
def test_a_shared_phone_matches_only_when_the_names_agree(
    signed_in, personas, django_capture_on_commit_callbacks, writer, settings, batch_size
):
    settings.IMPORT_BATCH_SIZE = batch_size
    ProspectFactory(client=personas.client_a, name="Anil Mehta", phones=["+442079460958"])
    # the shop's landline is everyone's number at the shop; a family shares one mobile
    content = (
        "Name,Phone\n"
        "Sunita Mehta,+44 20 7946 0958\n"
        "Anil Kumar Mehta,+44 20 7946 0958\n"
        "Kiran Shah,+91 98450 12345\n"
        "Meera Shah,+91 98450 12345\n"
        "Kiran Shah,098450 12345\n"
    )
    job = _import(
        signed_in, content, {"Name": "name", "Phone": "phones"}, django_capture_on_commit_callbacks
    )
    by_number = {}
    for prospect in Prospect.objects.all():
        for number in prospect.phones.values_list("number", flat=True):
            by_number.setdefault(number, set()).add(prospect.name)
    assert by_number == {
        "+442079460958": {"Sunita Mehta", "Anil Kumar Mehta"},  # Anil's name is the file's now
        "+919845012345": {"Kiran Shah", "Meera Shah"},
    }
    assert Prospect.objects.count() == 4
    report = _report(job)
    assert [r[:4] for r in report] == [
        (2, WARNING, "Phone", "+442079460958"),
        (3, WARNING, "Phone", "+442079460958"),
        (5, WARNING, "Phone", "+919845012345"),
        (6, WARNING, "Phone", "+919845012345"),
    ]
    assert report[0][4] == (
        "+442079460958 is also the number of Anil Mehta (already a prospect); the names "
        "differ, so both were kept, each with this number."
    )
    assert "also the number of Sunita Mehta" in report[1][4]
    assert "also the number of Kiran Shah (row 4 of this file)" in report[2][4]
    assert "also the number of Meera Shah" in report[3][4]
    assert (job.created_count, job.updated_count, job.merged_count, job.warned_count) == (
        3,
        1,
        1,
        4,
    )
    _counts_add_up(job)


@pytest.mark.django_db
def test_the_detail_page_and_the_row_report(
    signed_in, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    content = "Name,Email\nAsha Rao,not-an-email\n,x@x.example\nAsha Rao,asha@x.example\n"
    job = _import(
        signed_in, content, {"Name": "name", "Email": "email"}, django_capture_on_commit_callbacks
    )
    url = reverse("prospects:import_detail", args=[job.public_id])
    with django_assert_max_num_queries(10):
        page = signed_in.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    for element, count in [
        ("import-created", 2),
        ("import-updated", 0),
        ("import-merged", 0),
        ("import-skipped", 0),
        ("import-errors", 1),
        ("import-warned", 1),
    ]:
        assert f'id="{element}">{count}<' in html
    assert "Download the report of refused rows and warnings" in html
    report = signed_in.get(reverse("prospects:import_errors", args=[job.public_id]))
    assert report.status_code == 200
    assert f"import-report-{job.public_id}.csv" in report["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows[0] == ["row", "level", "column", "value", "reason"]
    assert [r[:4] for r in rows[1:]] == [
        ["2", "warning", "Email", "not-an-email"],
        ["3", "refused", "Name", ""],
    ]


@pytest.mark.django_db
def test_a_zero_width_space_typed_in_the_web_form_is_not_stored(client, personas):
    client.force_login(personas.bob)
    response = client.post(
        reverse("prospects:create"),
        {
            "name": "Asha\u200b Rao",
            "email": "asha\u200b@sunrise.example",
            "city": "New\u00a0Delhi\u2060",
            "status": "new",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    asha = Prospect.objects.get()
    assert (asha.name, asha.email, asha.city) == ("Asha Rao", "asha@sunrise.example", "New Delhi")


@pytest.mark.django_db
def test_a_number_on_many_rows_is_compared_with_a_bounded_number_of_holders(
    signed_in, monkeypatch, django_capture_on_commit_callbacks
):
    """A company's switchboard on every row: each row is compared with at most MAX_HOLDERS
    prospects holding the number, not with every earlier one (4,000 such rows took 470 s)."""
    from prospects.importing import planner

    monkeypatch.setattr(planner, "MAX_HOLDERS", 5)
    calls = []
    real = planner.names_agree
    monkeypatch.setattr(planner, "names_agree", lambda a, b: calls.append(1) or real(a, b))
    rows = 200
    content = "Name,Phone\n" + "".join(f"Person {i},+91 80 4000 1234\n" for i in range(rows))
    job = _import(
        signed_in, content, {"Name": "name", "Phone": "phones"}, django_capture_on_commit_callbacks
    )
    assert (job.created_count, job.merged_count, job.warned_count) == (rows, 0, rows - 1)
    assert len(calls) <= rows * 2 * 5
