"""Import mapping: the columns of real exports guessed, several columns into one field, the
ignored columns shown, and the values step for status, owner and country."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from prospects import importing
from prospects.importing import values
from prospects.importing.pipeline import Runner
from prospects.models import ImportJob, ImportRowError, Prospect
from tests.factories import UserFactory
from tests.prospects import import_steps as steps

GOOGLE = [
    "Name", "Given Name", "Additional Name", "Family Name", "Yomi Name", "Name Prefix",
    "Name Suffix", "Nickname", "Birthday", "Notes", "Group Membership", "E-mail 1 - Type",
    "E-mail 1 - Value", "E-mail 2 - Type", "E-mail 2 - Value", "Phone 1 - Type",
    "Phone 1 - Value", "Phone 2 - Type", "Phone 2 - Value", "Address 1 - Type",
    "Address 1 - Formatted", "Address 1 - Street", "Address 1 - City", "Address 1 - Region",
    "Address 1 - Postal Code", "Address 1 - Country", "Organization 1 - Type",
    "Organization 1 - Name", "Organization 1 - Title", "Website 1 - Value",
]  # fmt: skip
GOOGLE_NEW = [
    "First Name", "Middle Name", "Last Name", "Phonetic First Name", "Name Prefix",
    "Name Suffix", "Nickname", "File As", "Organization Name", "Organization Title",
    "Organization Department", "Birthday", "Notes", "Labels", "E-mail 1 - Label",
    "E-mail 1 - Value", "Phone 1 - Label", "Phone 1 - Value", "Phone 2 - Label",
    "Phone 2 - Value", "Address 1 - Label", "Address 1 - Street", "Address 1 - City",
    "Address 1 - PO Box", "Address 1 - Region", "Address 1 - Postal Code",
    "Address 1 - Country", "Address 1 - Extended Address",
]  # fmt: skip
OUTLOOK = [
    "Title", "First Name", "Middle Name", "Last Name", "Suffix", "Company", "Department",
    "Job Title", "Business Street", "Business Street 2", "Business City", "Business State",
    "Business Postal Code", "Business Country/Region", "Home Street", "Home City",
    "Business Fax", "Business Phone", "Business Phone 2", "Home Phone", "Mobile Phone",
    "Pager", "Categories", "E-mail Address", "E-mail Type", "E-mail Display Name",
    "E-mail 2 Address", "Notes", "Web Page",
]  # fmt: skip
LINKEDIN = [
    "First Name",
    "Last Name",
    "URL",
    "Email Address",
    "Company",
    "Position",
    "Connected On",
]
VCARD = [
    "Full name", "Given name", "Middle name", "Family name", "Organisation", "Title", "Email",
    "Mobile phone", "Work phone", "Home phone", "Other phone", "Street", "City", "Region",
    "Postal code", "Country", "Note", "Categories",
]  # fmt: skip
CRM = [
    "Lead Name", "Contact Email", "cellphone", "Work Phone", "WhatsApp", "Company Name",
    "Lead Owner", "Lead Status", "Lead Source", "Pin Code", "Remarks",
]  # fmt: skip
CRM_2 = [
    "Contact Name",
    "Account Name",
    "Mobile No",
    "Contact No.",
    "Phone No",
    "Assigned To",
    "Stage",
]

EXPECTED = {
    "google": (GOOGLE, {
        "Name": "name", "Notes": "notes", "Group Membership": "tags",
        "E-mail 1 - Value": "email", "E-mail 2 - Value": "email",
        "Phone 1 - Value": "phones", "Phone 2 - Value": "phones",
        "Address 1 - Street": "address_line1", "Address 1 - City": "city",
        "Address 1 - Region": "state", "Address 1 - Postal Code": "postal_code",
        "Address 1 - Country": "country", "Organization 1 - Name": "organisation",
    }),
    "google_new": (GOOGLE_NEW, {
        "First Name": "name", "Middle Name": "name", "Last Name": "name",
        "Organization Name": "organisation", "Notes": "notes", "Labels": "tags",
        "E-mail 1 - Value": "email", "Phone 1 - Value": "phones", "Phone 2 - Value": "phones",
        "Address 1 - Street": "address_line1", "Address 1 - City": "city",
        "Address 1 - Region": "state", "Address 1 - Postal Code": "postal_code",
        "Address 1 - Country": "country", "Address 1 - Extended Address": "address_line2",
    }),
    "outlook": (OUTLOOK, {
        "First Name": "name", "Middle Name": "name", "Last Name": "name",
        "Company": "organisation", "Business Street": "address_line1",
        "Business Street 2": "address_line2", "Business City": "city",
        "Business State": "state", "Business Postal Code": "postal_code",
        "Business Country/Region": "country", "Business Phone": "phones",
        "Business Phone 2": "phones", "Home Phone": "phones", "Mobile Phone": "phones",
        "Categories": "tags", "E-mail Address": "email", "E-mail 2 Address": "email",
        "Notes": "notes",
    }),
    "linkedin": (LINKEDIN, {
        "First Name": "name", "Last Name": "name", "Email Address": "email",
        "Company": "organisation",
    }),
    "vcard": (VCARD, {
        "Full name": "name", "Organisation": "organisation", "Email": "email",
        "Mobile phone": "phones", "Work phone": "phones", "Home phone": "phones",
        "Other phone": "phones", "Street": "address_line1", "City": "city", "Region": "state",
        "Postal code": "postal_code", "Country": "country", "Note": "notes",
        "Categories": "tags",
    }),
    "crm": (CRM, {
        "Lead Name": "name", "Contact Email": "email", "cellphone": "phones",
        "Work Phone": "phones", "WhatsApp": "phones", "Company Name": "organisation",
        "Lead Owner": "owner", "Lead Status": "status", "Lead Source": "source",
        "Pin Code": "postal_code", "Remarks": "notes",
    }),
    "crm_2": (CRM_2, {
        "Contact Name": "name", "Account Name": "organisation", "Mobile No": "phones",
        "Contact No.": "phones", "Phone No": "phones", "Assigned To": "owner", "Stage": "status",
    }),
}  # fmt: skip


@pytest.fixture
def signed_in(client, personas):
    client.force_login(personas.bob)
    return client


@pytest.fixture
def suresh(personas):
    return UserFactory(
        client=personas.client_a, email="s.kumar@acme.example", full_name="Suresh Kumar"
    )


def _upload(client, personas, content: str) -> ImportJob:
    """Upload through the page (which computes the column statistics and guesses from them)."""
    return steps.upload(client, content)


_columns_form = steps.columns_form
_values_form = steps.values_form


def _choice(response, value: str) -> str:
    """The select's name for a value of the file, and what is preselected for it."""
    for found, name in response.context["form"].rows:
        if found.value == value:
            return name
    raise AssertionError(f"{value} is not on the values page")


# --- the guess -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_the_headers_of_each_export_family_are_guessed(personas, family):
    headers, expected = EXPECTED[family]
    assert importing.guess_mapping(personas.client_a, headers) == expected


@pytest.mark.django_db
def test_repeated_headers_numbered_by_the_upload_all_feed_the_phones(personas):
    headers = ["Name", "Phone", "Phone (2)", "Email", "Email (2)", "City", "City (2)"]
    assert importing.guess_mapping(personas.client_a, headers) == {
        "Name": "name",
        "Phone": "phones",
        "Phone (2)": "phones",
        "Email": "email",
        "Email (2)": "email",
        "City": "city",  # one column per field: the second city is left for the person
    }


@pytest.mark.django_db
def test_a_column_empty_all_the_way_down_is_never_guessed_even_when_remembered(
    signed_in, personas, django_capture_on_commit_callbacks
):
    job = _upload(signed_in, personas, "Name,Mobile,Fax\nAsha Rao,+919876543210,\n")
    assert job.mapping == {"Name": "name", "Mobile": "phones"}
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(
            reverse("prospects:import_map", args=[job.public_id]),
            _columns_form(job, {"Name": "name", "Mobile": "phones", "Fax": "notes"}),
        )
    stats = {"Name": {"filled": 1}, "Mobile": {"filled": 0}, "Fax": {"filled": 3}}
    assert importing.guess_mapping(personas.client_a, ["Name", "Mobile", "Fax"], stats=stats) == {
        "Name": "name",
        "Fax": "notes",  # remembered from the last import
    }


@pytest.mark.django_db
def test_the_name_parts_are_not_mapped_when_a_full_name_column_is_filled(personas):
    headers = ["First Name", "Last Name", "Full Name"]
    assert importing.guess_mapping(personas.client_a, headers) == {"Full Name": "name"}
    stats = {"First Name": {"filled": 2}, "Last Name": {"filled": 2}, "Full Name": {"filled": 0}}
    assert importing.guess_mapping(personas.client_a, headers, stats=stats) == {
        "First Name": "name",
        "Last Name": "name",
    }


# --- several columns into one field ----------------------------------------------------


@pytest.mark.django_db
def test_split_names_phones_and_notes_are_combined_in_column_order(
    signed_in, personas, django_capture_on_commit_callbacks
):
    content = (
        "First Name,Middle Name,Last Name,E-mail 1 - Value,Phone 1 - Type,Phone 1 - Value,"
        "Phone 2 - Value,Notes,Description\n"
        "Asha,K,Rao,asha@rao.example,Mobile,+91 98765 43210,+44 20 7946 0958,Met at expo,Wants samples\n"
        "Vikram,,Singh,,,,+919812345678,,\n"
    )
    job = _upload(signed_in, personas, content)
    assert [h for h in job.headers if job.mapping.get(h) == "name"] == [
        "First Name",
        "Middle Name",
        "Last Name",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            reverse("prospects:import_map", args=[job.public_id]),
            _columns_form(job, job.mapping | {"Description": "notes"}),
        )
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.created_count, job.error_count) == ("done", 2, 0)
    asha = Prospect.objects.get(email="asha@rao.example")
    assert asha.name == "Asha K Rao"
    assert sorted(asha.phones.values_list("number", flat=True)) == [
        "+442079460958",
        "+919876543210",
    ]
    assert asha.notes == "Notes: Met at expo\nDescription: Wants samples"
    assert Prospect.objects.filter(name="Vikram Singh").exists()  # no double space


@pytest.mark.django_db
def test_a_google_contacts_export_is_stored_as_mapped(
    signed_in, personas, django_capture_on_commit_callbacks
):
    row = {
        "Name": "Asha Rao", "Given Name": "Asha", "Family Name": "Rao",
        "Group Membership": "* myContacts ::: Expo 2025 ::: * Starred",
        "E-mail 1 - Type": "* Work", "E-mail 1 - Value": "asha@rao.example",
        "Phone 1 - Type": "Mobile", "Phone 1 - Value": "+91 98765 43210 ::: +91 98450 12345",
        "Organization 1 - Name": "Rao Traders", "Address 1 - Street": "12 MG Road",
        "Address 1 - City": "Bengaluru", "Address 1 - Postal Code": "560001",
        "Address 1 - Country": "IN",
    }  # fmt: skip
    content = ",".join(row) + "\n" + ",".join(row.values()) + "\n"
    job = _upload(signed_in, personas, content)
    with django_capture_on_commit_callbacks(execute=True):
        steps.map_columns(signed_in, job)
    job.refresh_from_db()
    assert (job.status, job.created_count, job.error_count) == ("done", 1, 0)
    asha = Prospect.objects.get()
    assert (asha.name, asha.email, asha.organisation) == (
        "Asha Rao",
        "asha@rao.example",
        "Rao Traders",
    )
    assert (asha.address_line1, asha.city, asha.postal_code, asha.country) == (
        "12 MG Road", "Bengaluru", "560001", "IN",
    )  # fmt: skip
    assert sorted(asha.phones.values_list("number", flat=True)) == [
        "+919845012345",
        "+919876543210",
    ]
    assert asha.tags == ["expo 2025", "starred"]


@pytest.mark.django_db
def test_several_emails_and_tags_columns_are_joined_for_the_cells_check(personas):
    job = ImportJob.objects.create(
        client=personas.client_a,
        created_by=personas.bob,
        headers=["Name", "Email", "Email (2)", "Labels", "Categories", "Phone", "Phone (2)"],
        mapping={
            "Name": "name",
            "Email": "email",
            "Email (2)": "email",
            "Labels": "tags",
            "Categories": "tags",
            "Phone": "phones",
            "Phone (2)": "phones",
        },
    )
    runner = Runner(job, token=None)
    cells = ["Asha Rao", "a@rao.example", " b@rao.example ", "vip", "expo", "", "+919876543210"]
    assert runner._raw(cells) == {
        "name": "Asha Rao",
        "email": "a@rao.example, b@rao.example",
        "tags": "vip,expo",
        "phones": "+919876543210",
    }
    assert runner._raw(["Asha Rao", "a@rao.example"])["phones"] == ""  # a short row


@pytest.mark.django_db
def test_two_columns_to_a_one_column_field_are_refused_with_both_names(signed_in, personas):
    job = _upload(signed_in, personas, "Name,Company,Account Name\nAsha,Rao Traders,Rao\n")
    response = signed_in.post(
        reverse("prospects:import_map", args=[job.public_id]),
        _columns_form(
            job, {"Name": "name", "Company": "organisation", "Account Name": "organisation"}
        ),
    )
    assert response.status_code == 400
    assert "Only one column can go to Organisation (here: “Company”, “Account Name”)" in (
        response.content.decode()
    )
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


# --- the ignored columns ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_mapping_page_lists_the_ignored_columns_and_marks_the_empty_ones(signed_in, personas):
    job = _upload(
        signed_in,
        personas,
        "Name,E-mail 1 - Value,Phone 1 - Type,Birthday,Fax\nAsha Rao,a@rao.example,Mobile,1990-01-01,\n",
    )
    response = signed_in.get(reverse("prospects:import_map", args=[job.public_id]))
    assert response.status_code == 200
    page = response.content.decode()
    start = page.index('id="import-ignored"')
    section = page[start : page.index("</section>", start)]
    shown = [
        line.split(">", 1)[1].split("<", 1)[0]
        for line in section.split("<li ")[1:]
        if " hidden" not in line.split(">", 1)[0]
    ]
    assert shown == ["Phone 1 - Type", "Birthday", "Fax "]
    assert 'Fax <span class="muted">(empty all the way down)</span>' in section
    assert "js/import-mapping.js" in page


# --- the values step -------------------------------------------------------------------

VALUES_CSV = (
    "Lead Name,Lead Status,Lead Owner,Country\n"
    "Asha Rao,warm,suresh k,UNITED KINGDOM\n"
    "Vikram Singh,follow up,Suresh Kumar,India\n"
    "Meena Iyer,Warm,bob@acme.example,IN\n"
    "Ravi Patel,dormant,nobody,Atlantis\n"
)


@pytest.mark.django_db
def test_the_values_page_shows_each_value_with_its_guess(signed_in, personas, suresh):
    job = _upload(signed_in, personas, VALUES_CSV)
    response = signed_in.post(
        reverse("prospects:import_map", args=[job.public_id]), _columns_form(job)
    )
    assert response.status_code == 302 and response.url == reverse(
        "prospects:import_values", args=[job.public_id]
    )
    response = signed_in.get(response.url)
    assert response.status_code == 200
    preselected = {
        (v.field, v.value, v.count): response.context["form"][name].value()
        for v, name in response.context["form"].rows
    }
    assert preselected == {
        ("status", "warm", 2): "interested",  # "Warm" and "warm" are one value
        ("status", "follow up", 1): "contacted",
        ("status", "dormant", 1): "",
        ("owner", "suresh k", 1): "s.kumar@acme.example",
        ("owner", "Suresh Kumar", 1): "s.kumar@acme.example",
        ("owner", "bob@acme.example", 1): "bob@acme.example",
        ("owner", "nobody", 1): "",
        ("country", "UNITED KINGDOM", 1): "GB",
        ("country", "India", 1): "IN",
        ("country", "IN", 1): "IN",
        ("country", "Atlantis", 1): "",
    }
    page = response.content.decode()
    assert "— leave empty —" in page and "Suresh Kumar &lt;s.kumar@acme.example&gt;" in page
    assert "dan@bravo.example" not in page  # another client's user is no choice
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED  # the job waits for its values


@pytest.mark.django_db
def test_the_values_chosen_are_applied_to_the_rows_stored(
    signed_in, personas, suresh, django_capture_on_commit_callbacks
):
    job = _upload(signed_in, personas, VALUES_CSV)
    steps.map_columns(signed_in, job)
    url = reverse("prospects:import_values", args=[job.public_id])
    page = signed_in.get(url)
    form = _values_form(page) | {_choice(page, "dormant"): "lost"}
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(url, form)
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.created_count, job.error_count) == ("done", 4, 0)
    assert job.value_mapping["status"] == {
        "warm": "interested",
        "follow up": "contacted",
        "dormant": "lost",
    }
    stored = {
        p.name: (p.status, p.owner.email if p.owner else None, p.country)
        for p in Prospect.objects.filter(client=personas.client_a).select_related("owner")
    }
    assert stored == {
        "Asha Rao": ("interested", "s.kumar@acme.example", "GB"),
        "Vikram Singh": ("contacted", "s.kumar@acme.example", "IN"),
        "Meena Iyer": ("interested", "bob@acme.example", "IN"),
        "Ravi Patel": ("lost", None, ""),  # "nobody" and "Atlantis" left empty
    }


@pytest.mark.django_db
def test_the_value_mapping_is_remembered_for_the_next_file(
    signed_in, personas, suresh, django_capture_on_commit_callbacks
):
    job = _upload(signed_in, personas, VALUES_CSV)
    steps.map_columns(signed_in, job)
    url = reverse("prospects:import_values", args=[job.public_id])
    page = signed_in.get(url)
    form = _values_form(page) | {_choice(page, "warm"): "customer", _choice(page, "Atlantis"): "IN"}
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(url, form)

    job = _upload(
        signed_in, personas, "Lead Name,Lead Status,Country\nNew One,WARM,atlantis\nOther,hot,uk\n"
    )
    steps.map_columns(signed_in, job)
    page = signed_in.get(reverse("prospects:import_values", args=[job.public_id]))
    chosen = {v.value: page.context["form"][name].value() for v, name in page.context["form"].rows}
    assert chosen == {"WARM": "customer", "hot": "interested", "atlantis": "IN", "uk": "GB"}


@pytest.mark.django_db
def test_the_values_step_is_skipped_when_every_value_is_already_ours(
    signed_in, personas, django_capture_on_commit_callbacks
):
    job = _upload(signed_in, personas, "Name,Status,Country\nAsha,Interested,GB\nRavi,new,in\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            reverse("prospects:import_map", args=[job.public_id]), _columns_form(job)
        )
    assert response.url == reverse("prospects:import_detail", args=[job.public_id])
    job.refresh_from_db()
    assert job.status == "done" and job.created_count == 2
    assert job.value_mapping == {
        "status": {"interested": "interested", "new": "new"},
        "country": {"gb": "GB", "in": "IN"},
    }
    assert Prospect.objects.get(name="Ravi").country == "IN"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "choice", "message"),
    [
        ("warm", "boss", "Select a valid choice. boss is not one of the available choices."),
        ("suresh k", "dan@bravo.example", "Select a valid choice. dan@bravo.example is not one"),
        ("India", "ZZ", "Select a valid choice. ZZ is not one of the available choices."),
    ],
)
def test_a_bad_value_post_is_refused_with_a_message(
    signed_in, personas, suresh, value, choice, message
):
    job = _upload(signed_in, personas, VALUES_CSV)
    steps.map_columns(signed_in, job)
    url = reverse("prospects:import_values", args=[job.public_id])
    page = signed_in.get(url)
    response = signed_in.post(url, _values_form(page) | {_choice(page, value): choice})
    assert response.status_code == 400
    assert message in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value_mapping", "message"),
    [
        ({"owner": {"suresh k": "dan@bravo.example"}}, "is not an active user of this client"),
        ({"status": {"warm": "hot"}}, "“hot” (for “warm”) is not a status."),
        ({"country": {"uk": "UK"}}, "“UK” (for “uk”) is not a country code."),
        ({"source": {"x": "y"}}, "No column goes to “source”"),
        ({"status": ["warm"]}, "must map each value to one of ours"),
        ({"status": {"warm": 3}}, "is not text of at most 100 characters"),
    ],
)
def test_the_start_service_refuses_a_bad_value_mapping(signed_in, personas, value_mapping, message):
    job = _upload(signed_in, personas, VALUES_CSV)
    with pytest.raises(ValidationError, match=re.escape(message)):
        importing.import_start(
            job=job, actor=personas.bob, mapping=job.mapping, on_duplicate="update",
            value_mapping=value_mapping,
        )  # fmt: skip
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


@pytest.mark.django_db
@pytest.mark.parametrize("distinct", [1, 50])
def test_the_values_page_takes_a_constant_number_of_queries(
    signed_in, personas, suresh, django_assert_max_num_queries, distinct
):
    rows = "".join(f"P{i},stage {i},owner {i},land {i}\n" for i in range(distinct))
    job = _upload(signed_in, personas, "Name,Stage,Owner,Country\n" + rows)
    steps.map_columns(signed_in, job)
    # the signed-in user; the savepoint, role and release of the tenant scope (4); the job;
    # the client's active users; the last import's value mapping; the privacy policy banner
    # (cached for 5 minutes: the first page after the test's cache clear reads it)
    with django_assert_max_num_queries(9):
        response = signed_in.get(reverse("prospects:import_values", args=[job.public_id]))
    assert response.status_code == 200 and len(response.context["form"].rows) == 3 * distinct


@pytest.mark.django_db
def test_another_clients_values_page_is_not_found(client, personas):
    client.force_login(personas.dan)
    job = ImportJob.objects.create(
        client=personas.client_a, created_by=personas.bob, headers=["Name"]
    )
    assert client.get(reverse("prospects:import_values", args=[job.public_id])).status_code == 404


@pytest.mark.django_db
def test_a_value_beyond_those_shown_is_guessed_as_the_rows_are_read(
    signed_in, personas, suresh, django_capture_on_commit_callbacks
):
    content = (
        "Name,Stage,Owner\nAsha,qualified,Suresh Kumar\nRavi,Closed Lost,S.Kumar\nMeena,on hold,\n"
    )
    job = _upload(signed_in, personas, content)
    job.column_stats["Stage"]["values"] = [["qualified", 1]]  # the others beyond the kept ones
    job.column_stats["Stage"]["more"] = True
    job.save()
    steps.map_columns(signed_in, job)
    url = reverse("prospects:import_values", args=[job.public_id])
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(url, _values_form(signed_in.get(url)))
    job.refresh_from_db()
    stored = dict(Prospect.objects.values_list("name", "status"))
    assert stored == {"Asha": "interested", "Ravi": "lost", "Meena": "new"}
    assert Prospect.objects.get(name="Ravi").owner == suresh  # by the email's local part
    (warning,) = ImportRowError.objects.filter(job=job)  # no guess: left empty, and said
    assert (warning.row_number, warning.level, warning.column) == (4, "warning", "Stage")
    assert "Unknown status “on hold”" in warning.reason


# --- the guesses themselves ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("warm", "interested"), ("HOT", "interested"), ("Follow-Up", "contacted"),
        ("followup", "contacted"), ("Qualified", "interested"), ("won", "customer"),
        ("Closed - Won", "customer"), ("closed lost", "lost"), ("Lost", "lost"),
        ("cold", "contacted"), ("dead", "lost"), ("junk", "lost"), ("Not interested", "lost"),
        ("Open", "new"), ("Customer", "customer"), ("maybe", ""),
    ],
)  # fmt: skip
def test_status_guesses(text, status):
    assert values.status_guess(text) == status


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("UNITED KINGDOM", "GB"), ("UK", "GB"), ("England", "GB"), ("Scotland", "GB"),
        ("Wales", "GB"), ("Great Britain", "GB"), ("GBR", "GB"), ("gb", "GB"),
        ("USA", "US"), ("U.S.A.", "US"), ("America", "US"), ("United States", "US"),
        ("UAE", "AE"), ("Russia", "RU"), ("South Korea", "KR"), ("India", "IN"),
        ("Viet Nam", "VN"), ("Republic of India", "IN"), ("Turkey", "TR"), ("Atlantis", ""),
        ("Antarctica", ""),  # a country no phone number belongs to
    ],
)  # fmt: skip
def test_country_guesses(text, code):
    assert values.country_guess(text) == code


@pytest.mark.django_db
def test_owner_guesses_need_exactly_one_user(personas, suresh):
    users = [personas.alice, personas.bob, suresh]
    assert values.owner_guess("suresh k", users) == "s.kumar@acme.example"
    assert values.owner_guess("SURESH KUMAR", users) == "s.kumar@acme.example"
    assert values.owner_guess("s.kumar", users) == "s.kumar@acme.example"
    assert values.owner_guess("Bob@Acme.example", users) == "bob@acme.example"
    other = UserFactory(
        client=personas.client_a, email="sk@acme.example", full_name="Suresh Krishnan"
    )
    assert values.owner_guess("suresh k", [*users, other]) == ""  # ambiguous
    assert values.owner_guess("Suresh Kumar", [*users, other]) == "s.kumar@acme.example"
    assert values.owner_guess("  ", users) == ""


def test_the_value_mapper_guesses_each_unmapped_value_once(monkeypatch):
    calls = []
    guess = values.guess
    monkeypatch.setattr(values, "guess", lambda *a: calls.append(a[1]) or guess(*a))
    mapper = values.ValueMapper({"status": {"warm": "customer", "odd": ""}}, {})
    assert [mapper("status", v) for v in [" Warm ", "odd", "hot", "Hot", "", "new"]] == [
        "customer", "", "interested", "interested", "", "new",
    ]  # fmt: skip
    assert calls == ["hot"]
