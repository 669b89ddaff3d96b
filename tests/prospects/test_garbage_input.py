"""Every Client Data page answers malformed input with a page or a message, never a 500.

Each URL of the prospects app gets, as a client admin of the objects' own client, query strings
and form posts whose every known field holds one kind of garbage at a time: empty, NUL,
20,000 characters, formulas, markup, numbers out of range or of unbounded size, impossible dates,
other ids, several values for one field.
"""

import pytest
from django.urls import reverse

from tests.prospects.objects import client_objects

GARBAGE = [
    "",
    "\x00",
    "a\x00b",
    "x" * 20_000,  # over every max_length, under the 2.5 MB a request body may hold
    "=cmd|' /C calc'!A0",
    "<script>alert(1)</script>",
    "-1",
    "1e309",
    "NaN",
    "9" * 40,
    # numbers Decimal() would expand or misread (int(Decimal("1e3000000")) took a minute)
    "1e3000000",
    "1e5000",
    "-1e-999999",
    "9" * 5000,
    "Infinity",
    "١٢٣",
    "1,000.5",
    "0x10",
    "2026-13-45T99:99",
    "0001-01-01T00:00",
    "00000000-0000-0000-0000-000000000000",
    "../../etc/passwd",
    "💥\u202e",
    ["a", "b"],
]
# every field name a form or view of the app reads
FIELDS = [
    "name", "organisation", "email", "phones", "status", "owner", "address_line1",
    "address_line2", "city", "state", "postal_code", "country", "latitude", "longitude",
    "source", "tags", "notes", "custom.region", "custom.visits", "custom.since",
    "custom.vip", "custom.tier", "text", "user", "scheduled_at", "checklist", "outcome",
    "report", "answer.done", "answer.count", "answer.shelf", "complete", "confirm_name", "action",
    "selected", "label", "key", "kind", "choices", "required", "items", "on_duplicate",
    "col_0", "col_1", "value_0", "value_1", "next", "encoding", "header_row", "sheet",
]  # fmt: skip
QUERY = ["q", "status", "owner", "tag", "custom_key", "custom_value", "sort", "after", "before"]


@pytest.fixture
def own(personas):
    """Client A's things, reachable by Alice (a client admin)."""
    return client_objects(personas.client_a, personas.alice, label="A")


URLS = [
    ("prospects:list", None), ("prospects:create", None), ("prospects:bulk", None),
    ("prospects:export", None), ("prospects:detail", "prospect"), ("prospects:edit", "prospect"),
    ("prospects:note", "prospect"), ("prospects:upload", "prospect"),
    ("prospects:visit_plan", "prospect"), ("prospects:data_export", "prospect"),
    ("prospects:erase", "prospect"), ("prospects:visit", "visit"),
    ("prospects:visit_check_in", "visit"), ("prospects:visit_cancel", "visit"),
    ("prospects:visit_upload", "visit"), ("prospects:library", None),
    ("prospects:folder_create_root", None), ("prospects:library_upload_root", None),
    ("prospects:folder", "folder"), ("prospects:folder_create", "folder"),
    ("prospects:library_upload", "folder"), ("prospects:folder_delete", "folder"),
    ("prospects:file", "file"), ("prospects:file_delete", "file"),
    ("prospects:custom_fields", None), ("prospects:custom_field_delete", "key"),
    ("prospects:checklists", None), ("prospects:checklist_new", None),
    ("prospects:checklist_edit", "checklist"), ("prospects:import_new", None),
    ("prospects:import_map", "job"), ("prospects:import_values", "job"),
    ("prospects:import_detail", "job"),
    ("prospects:import_progress", "job"), ("prospects:import_errors", "job"),
    ("prospects:import_reread", "job"),
]  # fmt: skip


def _url(name, kind, own):
    if kind is None:
        return reverse(name)
    target = own[kind]
    return reverse(name, args=[target if kind == "key" else target.public_id])


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "kind"), URLS)
def test_no_garbage_in_a_query_string_or_a_form_is_a_server_error(
    client, personas, own, name, kind
):
    client.force_login(personas.alice)
    url = _url(name, kind, own)
    for value in GARBAGE:
        response = client.get(url, {param: value for param in QUERY})
        assert response.status_code < 500, (url, "GET", value)
        # the custom filter of a number field, which reads the value as a number
        response = client.get(url, {"custom_key": "visits", "custom_value": value})
        assert response.status_code < 500, (url, "GET custom_value", value)
    for value in GARBAGE:
        response = client.post(url, {field: value for field in FIELDS})
        assert response.status_code < 500, (url, "POST", value)
