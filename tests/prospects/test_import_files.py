"""Import files as real exports come: encodings, old Mac line ends, lines above the header,
duplicate and blank headers, column statistics, Excel workbooks, vCard address books, and the
mapping page's controls to read the file differently. Every fixture is written here."""

import codecs
import datetime
import io
import zipfile

import openpyxl
import pytest
from django.urls import reverse

from prospects import importing
from prospects.importing.reading import open_records
from prospects.models import ImportJob, ImportRowError, Prospect
from tests.prospects import import_steps as steps


@pytest.fixture
def signed_in(client, personas):
    client.force_login(personas.bob)
    return client


def _file(content: bytes, name: str):
    f = io.BytesIO(content)
    f.name = name
    return f


def _upload(client, content: bytes, name="contacts.csv"):
    return client.post(reverse("prospects:import_new"), {"file": _file(content, name)})


def _uploaded(client, content: bytes, name="contacts.csv") -> ImportJob:
    return steps.upload(client, content, name)


def _start(client, job: ImportJob, mapping: dict, capture) -> ImportJob:
    with capture(execute=True):
        steps.map_columns(client, job, mapping)
    job.refresh_from_db()
    assert job.status == "done", job.failure_reason
    return job


def _page(client, job: ImportJob) -> str:
    response = client.get(reverse("prospects:import_map", args=[job.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def _reread(client, job: ImportJob, **data) -> ImportJob:
    response = client.post(reverse("prospects:import_reread", args=[job.public_id]), data)
    assert response.status_code == 302
    job.refresh_from_db()
    return job


def _rows(job: ImportJob) -> list:
    with job.source.open("rb") as fileobj:
        return list(open_records(job, fileobj))


def _messages(client, job) -> str:
    return _page(client, job).replace("&#x27;", "'").replace("&quot;", '"')


# --- encodings and line ends -------------------------------------------------------------

WINDOWS_1252 = (
    "Name,Email,Company,Notes\r\n"
    "Élodie Müller,elodie@cafe.example,Café Crème,Paid £40 and €25\r\n"
    "José Núñez,jose@x.example,Señor Ltd,“quoted” – dash\r\n"  # noqa: RUF001
).encode("cp1252")


@pytest.mark.django_db
def test_a_windows_1252_csv_from_excel_is_detected_and_imported_with_its_accents(
    signed_in, django_capture_on_commit_callbacks
):
    job = _uploaded(signed_in, WINDOWS_1252)
    assert (job.format, job.encoding, job.delimiter, job.header_row) == ("csv", "cp1252", ",", 1)
    assert "Windows-1252" in _page(signed_in, job)
    mapping = {"Name": "name", "Email": "email", "Company": "organisation", "Notes": "notes"}
    _start(signed_in, job, mapping, django_capture_on_commit_callbacks)
    elodie = Prospect.objects.get(email="elodie@cafe.example")
    assert (elodie.name, elodie.organisation, elodie.notes) == (
        "Élodie Müller",
        "Café Crème",
        "Paid £40 and €25",
    )
    assert Prospect.objects.get(email="jose@x.example").notes == "“quoted” – dash"  # noqa: RUF001


@pytest.mark.django_db
def test_an_excel_unicode_text_file_utf16_with_tabs_is_not_called_binary(
    signed_in, django_capture_on_commit_callbacks
):
    text = "Name\tPhone\tCity\r\nAsha Rao\t+91 98450 12345\tBengaluru\r\nZoë Ærø\t\tÅrhus\r\n"
    job = _uploaded(signed_in, codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "export.txt")
    assert (job.encoding, job.delimiter, job.headers) == ("utf-16", "\t", ["Name", "Phone", "City"])
    assert "columns separated by tabs" in _page(signed_in, job)
    _start(
        signed_in,
        job,
        {"Name": "name", "Phone": "phones", "City": "city"},
        django_capture_on_commit_callbacks,
    )
    asha = Prospect.objects.get(name="Asha Rao")
    assert asha.city == "Bengaluru" and list(asha.phones.values_list("number", flat=True)) == [
        "+919845012345"
    ]
    assert Prospect.objects.get(name="Zoë Ærø").city == "Århus"


@pytest.mark.django_db
def test_old_mac_files_with_cr_only_line_ends_are_read_row_by_row(
    signed_in, django_capture_on_commit_callbacks
):
    content = b"Name,Email\rRavi Kumar,ravi@x.example\rAnita Rao,anita@x.example\r"
    job = _uploaded(signed_in, content)
    assert (job.headers, job.total_rows) == (["Name", "Email"], 2)
    _start(signed_in, job, {"Name": "name", "Email": "email"}, django_capture_on_commit_callbacks)
    assert sorted(Prospect.objects.values_list("name", "email")) == [
        ("Anita Rao", "anita@x.example"),
        ("Ravi Kumar", "ravi@x.example"),
    ]


@pytest.mark.django_db
def test_accents_far_below_an_ascii_start_are_read_in_the_encoding_found_around_them(signed_in):
    """The first 64 KB are plain ASCII (valid UTF-8); a Windows-1252 name comes later."""
    rows = "".join(f"Person {i},p{i}@x.example\n" for i in range(4000))
    content = ("Name,Email\n" + rows + "Zoë Brontë,zoe@x.example\n").encode("cp1252")
    job = _uploaded(signed_in, content)
    assert job.encoding == "cp1252" and job.total_rows == 4001
    assert _rows(job)[-1][1] == ["Zoë Brontë", "zoe@x.example"]


@pytest.mark.django_db
def test_a_byte_the_chosen_encoding_cannot_read_is_named_with_its_position(signed_in):
    job = _uploaded(signed_in, WINDOWS_1252)
    job = _reread(signed_in, job, encoding="utf-8")
    page = _messages(signed_in, job)
    position = WINDOWS_1252.index("É".encode("cp1252"))
    assert f"The byte at position {position} (0xC9) cannot be read as Unicode (UTF-8)" in page
    assert "Choose another one" in page
    assert job.encoding == "cp1252"  # unchanged: the file still reads as it did


@pytest.mark.django_db
def test_choosing_another_encoding_reads_the_file_again(signed_in):
    content = "Name,City\nΑλέξης Παπαδόπουλος,Αθήνα\n".encode("cp1253")  # noqa: RUF001
    job = _uploaded(signed_in, content)
    job = _reread(signed_in, job, encoding="cp1253")
    assert job.encoding == "cp1253"
    assert job.column_stats["City"]["values"] == [["Αθήνα", 1]]
    assert "Αλέξης Παπαδόπουλος" in _page(signed_in, job)


@pytest.mark.django_db
def test_an_encoding_that_is_not_offered_is_refused_with_a_message(signed_in):
    job = _uploaded(signed_in, b"Name\nRavi\n")
    job = _reread(signed_in, job, encoding="rot13")
    assert "Select a valid choice" in _messages(signed_in, job) and job.encoding == "utf-8"


# --- the header row -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_title_and_a_blank_line_above_the_header_are_skipped(
    signed_in, django_capture_on_commit_callbacks
):
    content = (
        b"Leads report - exported 2024-03-01,,,\n"
        b",,,\n"
        b"Lead Name,Email,Phone,City\n"
        b"Ravi Kumar,ravi@x.example,+919845012345,Pune\n"
        b",bad@x.example,,\n"
    )
    job = _uploaded(signed_in, content)
    assert (job.header_row, job.headers, job.total_rows) == (
        3,
        ["Lead Name", "Email", "Phone", "City"],
        2,
    )
    mapping = {"Lead Name": "name", "Email": "email", "Phone": "phones", "City": "city"}
    job = _start(signed_in, job, mapping, django_capture_on_commit_callbacks)
    assert Prospect.objects.get().name == "Ravi Kumar"
    assert list(ImportRowError.objects.values_list("row_number", flat=True)) == [5]  # file row


LINKEDIN = (
    b"Notes:\r\n"
    b'"When exporting your connection data, you may notice that some of the email addresses '
    b"are missing. You will only see email addresses for connections who have allowed their "
    b'connections to see or download their email address."\r\n'
    b"\r\n"
    b"First Name,Last Name,URL,Email Address,Company,Position,Connected On\r\n"
    b"Asha,Rao,https://www.linkedin.com/in/asharao,asha@sunrise.example,Sunrise,Buyer,"
    b"12 Mar 2024\r\n"
    b"Vikram,Shah,https://www.linkedin.com/in/vshah,,Shah & Co,Owner,01 Feb 2023\r\n"
)


@pytest.mark.django_db
def test_linkedins_notes_above_the_header_are_skipped(signed_in):
    job = _uploaded(signed_in, LINKEDIN, "Connections.csv")
    assert job.header_row == 4 and job.total_rows == 2
    assert job.headers == [
        "First Name",
        "Last Name",
        "URL",
        "Email Address",
        "Company",
        "Position",
        "Connected On",
    ]
    page = _page(signed_in, job)
    assert "column names in row 4" in page and "When exporting your connection data" in page


@pytest.mark.django_db
def test_the_person_can_pick_another_header_row_from_the_preview(signed_in):
    content = b"Region,South\nName,Phone\nRavi,+919845012345\nAnita,+919845012346\n"
    job = _uploaded(signed_in, content)
    assert job.header_row == 1 and job.headers == ["Region", "South"]  # two cells: a header
    page = _page(signed_in, job)
    assert 'name="header_row" value="2"' in page  # each raw row offers itself
    job = _reread(signed_in, job, header_row="2")
    assert (job.header_row, job.headers, job.total_rows) == (2, ["Name", "Phone"], 2)
    assert job.column_stats["Name"] == {
        "filled": 2,
        "values": [["Ravi", 1], ["Anita", 1]],
        "more": False,
    }
    assert [n for n, _, _ in _rows(job)] == [3, 4]

    job = _reread(signed_in, job, header_row="9")
    assert "Row 9 of the file cannot be read as column names" in _messages(signed_in, job)
    assert job.header_row == 2


@pytest.mark.django_db
def test_duplicate_and_blank_headers_are_numbered_and_an_empty_column_is_marked_empty(
    signed_in, django_capture_on_commit_callbacks
):
    content = (
        b"Name,Phone,Phone,,Notes,,\n"
        b"Ravi Kumar,+919845012345,+919845012346,x1,hello,,\n"
        b"\n"
        b"Anita Rao,+919845012347,,,,,\n"
        b" , ,,,,,\n"
    )
    job = _uploaded(signed_in, content)
    # the two trailing columns without a name are not columns; the blank one in between is
    assert job.headers == ["Name", "Phone", "Phone (2)", "Column 4", "Notes"]
    assert job.total_rows == 2  # blank lines (even of commas and spaces) are not rows
    assert job.column_stats["Phone (2)"]["filled"] == 1
    assert job.column_stats["Column 4"] == {"filled": 1, "values": [["x1", 1]], "more": False}
    assert job.column_stats["Notes"]["filled"] == 1
    mapping = {"Name": "name", "Phone": "phones", "Phone (2)": "phones", "Notes": "notes"}
    job = _start(signed_in, job, mapping, django_capture_on_commit_callbacks)
    assert (job.processed_rows, job.created_count, job.error_count) == (2, 2, 0)
    ravi = Prospect.objects.get(name="Ravi Kumar")
    assert sorted(ravi.phones.values_list("number", flat=True)) == [
        "+919845012345",
        "+919845012346",
    ]


@pytest.mark.django_db
def test_column_statistics_keep_the_most_frequent_values_and_say_when_there_are_more(signed_in):
    rows = "".join(
        f"Person {i},{['warm', 'Hot', 'follow up'][i % 3]},City {i % 60},\n" for i in range(300)
    )
    job = _uploaded(signed_in, ("Name,Lead Status,City,Fax\n" + rows).encode())
    status = job.column_stats["Lead Status"]
    assert status == {
        "filled": 300,
        "values": [["warm", 100], ["Hot", 100], ["follow up", 100]],
        "more": False,
    }
    city = job.column_stats["City"]
    assert city["filled"] == 300 and len(city["values"]) == 50 and city["more"] is True
    assert city["values"][0][1] == 5
    assert job.column_stats["Fax"] == {"filled": 0, "values": [], "more": False}
    assert len(job.column_stats["Name"]["values"]) == 50 and job.column_stats["Name"]["more"]


@pytest.mark.django_db
def test_a_file_without_a_header_or_rows_is_refused_with_a_message(signed_in):
    response = _upload(signed_in, b"\n\n,,\n")
    assert response.status_code == 400 and "no row naming the columns" in response.content.decode()
    response = _upload(signed_in, b"Title only\n")
    assert "no data rows below it" in response.content.decode()
    assert not ImportJob.objects.exists()


# --- Excel workbooks ---------------------------------------------------------------------


def _xlsx(build) -> bytes:
    workbook = openpyxl.Workbook()
    build(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _leads(workbook):
    empty = workbook.active
    empty.title = "Cover"  # an empty first sheet, as templates often have
    sheet = workbook.create_sheet("Leads")
    sheet.append(["Name", "Mobile", "Met on", "Called at", "Share", "Score", "VIP"])
    sheet.append(
        [
            "Ravi Kumar",
            9845012345,
            datetime.date(2024, 3, 5),
            datetime.datetime(2024, 3, 5, 14, 30),
            0.12,
            0.1 + 0.2,
            True,
        ]
    )
    sheet["E2"].number_format = "0%"
    sheet.append([])
    sheet.append(["Anita Rao", 919845012346.0, None, None, None, 12.5, False])
    other = workbook.create_sheet("Old leads")
    other.append(["Title of the old list"])
    other.append(["Customer", "Telephone"])
    other.append(["Suresh Iyer", "+91 98450 12347"])


@pytest.mark.django_db
def test_an_xlsx_shows_numbers_and_dates_as_excel_does_and_imports(
    signed_in, django_capture_on_commit_callbacks
):
    job = _uploaded(signed_in, _xlsx(_leads), "leads.xlsx")
    assert (job.format, job.sheets, job.sheet) == ("xlsx", ["Cover", "Leads", "Old leads"], "Leads")
    assert [(n, cells) for n, cells, _ in _rows(job)] == [
        (2, ["Ravi Kumar", "9845012345", "2024-03-05", "2024-03-05 14:30", "12%", "0.3", "yes"]),
        (4, ["Anita Rao", "919845012346", "", "", "", "12.5", "no"]),
    ]
    assert job.total_rows == 2
    page = _page(signed_in, job)
    assert "Excel workbook" in page and "sheet “Leads”" in page and "9845012345" in page
    _start(signed_in, job, {"Name": "name", "Mobile": "phones"}, django_capture_on_commit_callbacks)
    ravi = Prospect.objects.get(name="Ravi Kumar")
    assert list(ravi.phones.values_list("number", flat=True)) == ["+919845012345"]


@pytest.mark.django_db
def test_another_sheet_can_be_chosen_and_its_header_row_is_detected(signed_in):
    job = _uploaded(signed_in, _xlsx(_leads), "leads.xlsx")
    assert 'value="Old leads"' in _page(signed_in, job) and job.mapping.get("Name") == "name"
    job = _reread(signed_in, job, sheet="Old leads")
    assert (job.sheet, job.header_row, job.headers) == ("Old leads", 2, ["Customer", "Telephone"])
    assert [cells for _, cells, _ in _rows(job)] == [["Suresh Iyer", "+91 98450 12347"]]
    assert "Name" not in job.mapping and set(job.mapping) <= {"Customer", "Telephone"}

    job = _reread(signed_in, job, sheet="Nope")
    assert "Select a valid choice" in _messages(signed_in, job) and job.sheet == "Old leads"


@pytest.mark.django_db
def test_a_workbook_is_recognised_by_its_content_not_its_name(signed_in):
    job = _uploaded(signed_in, _xlsx(_leads), "leads.csv")
    assert job.format == "xlsx" and job.headers[0] == "Name"


def _zip(files: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.xls", "old Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "locked.xlsx", "password-protected"),
        (
            _zip({"mimetype": "application/vnd.oasis.opendocument.spreadsheet"}),
            "a.ods",
            "save it as “Excel Workbook (.xlsx)”",
        ),
        (_zip({"Index/Document.iwa": b"x"}), "a.numbers", "save it as “Excel Workbook"),
        (b"not really\x01 numbers", "a.numbers", "save it as “Excel Workbook"),
        (_zip({"[Content_Types].xml": "<x/>"}), "broken.xlsx", "cannot be read"),
        (_zip({"xl/workbook.xml": "<broken"}), "broken.xlsx", "cannot be read"),
        (b"PK\x03\x04 truncated zip", "cut.xlsx", "cannot be read"),
        (b"%PDF-1.7\n...", "leads.pdf", "This is a PDF"),
    ],
)
def test_files_that_are_not_readable_workbooks_get_a_message_saying_what_to_do(
    signed_in, content, name, message
):
    response = _upload(signed_in, content, name)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_a_workbook_that_unpacks_to_too_much_is_refused_before_it_is_read(signed_in, monkeypatch):
    """A zip bomb's shared strings would be read into memory whole."""
    monkeypatch.setattr(importing.excel, "MAX_UNPACKED_BYTES", 2000)
    response = _upload(signed_in, _xlsx(_leads), "leads.xlsx")
    assert (
        response.status_code == 400
        and "larger than 1 GB once unpacked" in response.content.decode()
    )


# --- vCard address books ---------------------------------------------------------------

ANDROID_21 = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;=C3=89lodie;;;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C3=89lodie M=C3=BC=\r\n"
    "ller\r\n"
    "TEL;CELL;PREF:+91 98450 12345\r\n"
    "TEL;HOME:+91 80 2345 6789\r\n"
    "EMAIL;HOME:elodie@x.example\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N:;Plumber;;;\r\n"
    "FN:Plumber\r\n"
    "TEL;CELL:+91 98450 22222\r\n"
    "END:VCARD\r\n"
)
IOS_30 = (
    "BEGIN:VCARD\n"
    "VERSION:3.0\n"
    "PRODID:-//Apple Inc.//iPhone OS 17.4//EN\n"
    "N:Rao;Asha;K;;\n"
    "FN:Asha K Rao\n"
    "ORG:Sunrise Traders;Sales\n"
    "TITLE:Buyer\n"
    "EMAIL;type=INTERNET;type=WORK;type=pref:asha@sunrise.example\n"
    "EMAIL;type=INTERNET;type=HOME:asha.rao@home.example\n"
    "TEL;type=CELL;type=VOICE;type=pref:+91 98450 11111\n"
    "item1.TEL:+91 99999 00000\n"
    "item1.X-ABLabel:WhatsApp\n"
    "item2.TEL:+91 80 2222 3333\n"
    "item2.X-ABLabel:_$!<Other>!$_\n"
    "TEL;type=WORK;type=VOICE:+91 80 4444 5555\n"
    "item3.ADR;type=WORK;type=pref:;;12 MG Road\\nFloor 2;Bengaluru;KA;560001;India\n"
    "item3.X-ABADR:in\n"
    "NOTE:Met at the expo\\, March 2024\n"
    "CATEGORIES:vip,expo\n"
    "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsL\n"
    " DBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/wAALCAABAAEBAREA\n"
    "END:VCARD\n"
)
VCARD_40 = (
    "BEGIN:VCARD\n"
    "VERSION:4.0\n"
    "FN:Jo Bloggs\n"
    "N:Bloggs;Jo;;;\n"
    'TEL;TYPE="cell,voice";VALUE=uri:tel:+44-7911-123456\n'
    "TEL;TYPE=work;VALUE=uri:tel:+44-20-7946-0018\n"
    "EMAIL;TYPE=work:jo@bloggs.example\n"
    "END:VCARD\n"
)
BROKEN_CARD = "BEGIN:VCARD\nVERSION:3.0\nFN:Broken\nN:Broken;;;\nTEL;type=CELL\nEND:VCARD\n"


def _cell(job, row, header):
    return row[job.headers.index(header)]


@pytest.mark.django_db
def test_android_ios_and_vcard_4_cards_become_rows_of_fixed_columns(signed_in):
    content = (ANDROID_21 + IOS_30 + BROKEN_CARD + VCARD_40).encode()
    job = _uploaded(signed_in, content, "contacts.vcf")
    assert (job.format, job.header_row, job.total_rows) == ("vcf", 0, 5)
    assert job.headers == list(importing.vcard.HEADERS)
    rows = _rows(job)
    assert [n for n, _, _ in rows] == [1, 2, 3, 4, 5]
    elodie, plumber, asha, broken, jo = (cells for _, cells, _ in rows)
    assert _cell(job, elodie, "Full name") == "Élodie Müller"
    assert (_cell(job, elodie, "Given name"), _cell(job, elodie, "Family name")) == (
        "Élodie",
        "Müller",
    )
    assert _cell(job, elodie, "Mobile phone") == "+91 98450 12345"
    assert _cell(job, elodie, "Home phone") == "+91 80 2345 6789"
    assert _cell(job, plumber, "Full name") == "Plumber"
    assert _cell(job, asha, "Email") == "asha@sunrise.example; asha.rao@home.example"
    assert _cell(job, asha, "Mobile phone") == "+91 98450 11111; +91 99999 00000"  # WhatsApp
    assert _cell(job, asha, "Other phone") == "+91 80 2222 3333"
    assert _cell(job, asha, "Work phone") == "+91 80 4444 5555"
    assert [_cell(job, asha, h) for h in ("Organisation", "Title", "Middle name")] == [
        "Sunrise Traders, Sales",
        "Buyer",
        "K",
    ]
    assert [
        _cell(job, asha, h) for h in ("Street", "City", "Region", "Postal code", "Country")
    ] == [
        "12 MG Road, Floor 2",
        "Bengaluru",
        "KA",
        "560001",
        "India",
    ]
    assert _cell(job, asha, "Note") == "Met at the expo, March 2024"
    assert _cell(job, asha, "Categories") == "vip, expo"
    assert broken is None and "could not be read" in rows[3][2]
    assert _cell(job, jo, "Mobile phone") == "+44-7911-123456"
    assert _cell(job, jo, "Work phone") == "+44-20-7946-0018"
    assert job.column_stats["Title"] == {"filled": 1, "values": [["Buyer", 1]], "more": False}
    assert "vCard address book" in _page(signed_in, job)


@pytest.mark.django_db
def test_a_vcard_file_imports_every_card_and_reports_the_broken_one(
    signed_in, django_capture_on_commit_callbacks
):
    job = _uploaded(signed_in, (ANDROID_21 + BROKEN_CARD + VCARD_40).encode(), "Contacts.vcf")
    mapping = {
        "Full name": "name",
        "Mobile phone": "phones",
        "Home phone": "phones",
        "Work phone": "phones",
        "Organisation": "organisation",
    }
    job = _start(signed_in, job, mapping, django_capture_on_commit_callbacks)
    assert (job.processed_rows, job.created_count, job.error_count) == (4, 3, 1)
    elodie = Prospect.objects.get(name="Élodie Müller")
    assert sorted(elodie.phones.values_list("number", flat=True)) == [
        "+918023456789",
        "+919845012345",
    ]
    jo = Prospect.objects.get(name="Jo Bloggs")
    assert sorted(jo.phones.values_list("number", flat=True)) == ["+442079460018", "+447911123456"]
    error = ImportRowError.objects.get()
    assert error.row_number == 3 and "contact card could not be read" in error.reason


@pytest.mark.django_db
def test_a_vcard_file_is_recognised_by_its_content(signed_in):
    job = _uploaded(signed_in, ("\ufeff" + VCARD_40).encode(), "export.txt")
    assert job.format == "vcf" and job.total_rows == 1


# --- the re-read control: who may use it ---------------------------------------------------


@pytest.mark.django_db
def test_a_started_import_cannot_be_read_again(signed_in, django_capture_on_commit_callbacks):
    job = _uploaded(signed_in, b"Name\nRavi\n")
    job = _start(signed_in, job, {"Name": "name"}, django_capture_on_commit_callbacks)
    response = signed_in.post(
        reverse("prospects:import_reread", args=[job.public_id]), {"encoding": "cp1252"}
    )
    assert response.status_code == 302 and response.url.endswith(f"/imports/{job.public_id}/")
    job.refresh_from_db()
    assert job.encoding == "utf-8"


@pytest.mark.django_db
def test_reading_again_is_post_only(signed_in):
    job = _uploaded(signed_in, b"Name\nRavi\n")
    response = signed_in.get(reverse("prospects:import_reread", args=[job.public_id]))
    assert response.status_code == 405


# --- large workbooks and address books: statistics from their first rows, the rest counted ---


def _big_workbook(rows: int) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Leads")
    sheet.append(["Name", "Mobile", "Status", "Late"])
    for i in range(rows):
        sheet.append(
            [f"Person {i}", 9845000000 + i, "warm", "late value" if i == rows - 1 else None]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_large_workbook_is_read_at_upload_only_as_far_as_its_statistics_need(
    signed_in, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(importing.reading, "SURVEY_ROWS", 5)
    job = _uploaded(signed_in, _big_workbook(12), "big.xlsx")
    # the first 5 rows were read for the statistics; the 12 rows counted in the sheet's XML
    assert (job.surveyed_rows, job.total_rows) == (5, 12)
    assert job.column_stats["Status"] == {"filled": 5, "values": [["warm", 5]], "more": False}
    assert job.column_stats["Late"]["filled"] == 0
    page = _page(signed_in, job)
    assert "(empty in the first 5 rows)" in page and "(empty all the way down)" not in page
    job = _start(
        signed_in, job, {"Name": "name", "Mobile": "phones"}, django_capture_on_commit_callbacks
    )
    assert (job.processed_rows, job.created_count, job.percent) == (12, 12, 100)


@pytest.mark.django_db
def test_a_large_address_book_counts_its_cards_without_parsing_them(signed_in, monkeypatch):
    monkeypatch.setattr(importing.reading, "SURVEY_ROWS", 2)
    cards = "".join(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person {i}\r\nTEL;TYPE=CELL:+91984500000{i}\r\nEND:VCARD\r\n"
        for i in range(7)
    )
    job = _uploaded(signed_in, cards.encode(), "contacts.vcf")
    assert (job.surveyed_rows, job.total_rows) == (2, 7)


@pytest.mark.django_db
def test_a_csv_is_always_read_whole_for_its_statistics(signed_in, monkeypatch):
    monkeypatch.setattr(importing.reading, "SURVEY_ROWS", 2)
    content = "Name,Status\n" + "".join(f"P{i},warm\n" for i in range(6)) + "Last,cold\n"
    job = _uploaded(signed_in, content.encode())
    assert (job.surveyed_rows, job.total_rows) == (7, 7)
    assert job.column_stats["Status"]["values"] == [["warm", 6], ["cold", 1]]


@pytest.mark.django_db
def test_a_workbook_is_opened_once_at_upload_and_its_stored_size_never_parsed(
    signed_in, monkeypatch
):
    """openpyxl parses a whole sheet for its size when a tool stored none (write-only
    workbooks, as here): seconds per open for 100,000 rows. The upload opens it once and
    never asks for the size."""
    from openpyxl.worksheet._reader import WorkSheetParser

    from prospects.importing import excel

    def refuse(self):
        raise AssertionError("the sheet's stored size was parsed")

    monkeypatch.setattr(WorkSheetParser, "parse_dimensions", refuse)
    loads = []
    real_load = excel._load
    monkeypatch.setattr(excel, "_load", lambda f: loads.append(1) or real_load(f))
    job = _uploaded(signed_in, _big_workbook(30), "big.xlsx")
    assert (job.total_rows, job.headers) == (30, ["Name", "Mobile", "Status", "Late"])
    assert len(loads) == 1


def test_a_workbook_is_read_in_flat_memory():
    """openpyxl's reader leaves every row it read in its parse tree (~80 bytes a row); the
    rows are let go as they are read, so memory does not grow with the sheet's length."""
    import tracemalloc

    from prospects.importing import excel

    workbook = _big_workbook(12_000)
    tracemalloc.start()
    try:
        for number, cells, _ in excel.rows(io.BytesIO(workbook), "Leads"):
            name = cells[0]
            if number == 2_000:
                early = tracemalloc.get_traced_memory()[0]
        late = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert name == "Person 11999"
    assert late - early < 250_000, f"grew by {late - early:,} bytes over 10,000 rows"
