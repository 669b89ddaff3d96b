"""CSV export: the filtered list, streamed, with spreadsheet formulas defused."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from prospects.exporting import safe_cell
from prospects.models import CustomField
from tests.factories import ProspectFactory


def _export(client, **params):
    response = client.get(reverse("prospects:export"), params)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="prospects-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.django_db
def test_the_export_is_the_filtered_list_with_phones_tags_and_custom_fields(client, personas):
    CustomField.objects.create(client=personas.client_a, key="region", label="Region", kind="text")
    ProspectFactory(
        client=personas.client_a,
        name="Ravi",
        status="customer",
        phones=["+919876543210", "+442079460958"],
        tags=["vip", "north"],
        custom={"region": "North"},
    )
    ProspectFactory(client=personas.client_a, name="Anita", status="new")
    client.force_login(personas.bob)
    [row] = _export(client, status="customer")
    assert row["name"] == "Ravi" and row["phones"] == "+919876543210; +442079460958"
    assert row["tags"] == "vip, north" and row["custom.region"] == "North"
    assert len(_export(client)) == 2


@pytest.mark.django_db
def test_formulas_are_escaped_in_the_export(client, personas):
    ProspectFactory(
        client=personas.client_a,
        name="=cmd|' /C calc'!A0",
        organisation="@SUM(A1:A9)",
        notes="+cmd",
        source="-2+3",
    )
    client.force_login(personas.bob)
    [row] = _export(client)
    assert row["name"] == "'=cmd|' /C calc'!A0"
    assert row["organisation"] == "'@SUM(A1:A9)"
    assert row["notes"] == "'+cmd"
    assert row["source"] == "-2+3"  # plain arithmetic on numbers stays


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("\t=x", "'\t=x"),
        ("+91 98765 43210", "+91 98765 43210"),
        (None, ""),
        (12, "12"),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


@pytest.mark.django_db
def test_the_export_reads_in_chunks_so_queries_grow_with_chunks_not_rows(
    client, personas, django_assert_max_num_queries, monkeypatch
):
    from prospects import exporting

    monkeypatch.setattr(exporting, "CHUNK", 10)
    for i in range(35):
        ProspectFactory(client=personas.client_a, name=f"P{i:02d}", phones=[f"+9198765{i:05d}"])
    client.force_login(personas.bob)
    client.get(reverse("dashboard"))
    # 4 chunks (+1 empty) of prospects and their phones, each chunk in a tenant scope (set and
    # reset), plus the request's own queries and the export's audit event
    with django_assert_max_num_queries(26):
        rows = _export(client)
    assert [r["name"] for r in rows] == [f"P{i:02d}" for i in range(35)]
    assert all(r["phones"] for r in rows)


@pytest.mark.django_db
def test_prospects_created_in_the_same_instant_are_exported_once_across_chunks(
    client, personas, monkeypatch
):
    """The export walks (created_at, id): ties on created_at at a chunk boundary are neither
    lost nor repeated."""
    from prospects import exporting
    from prospects.models import Prospect

    monkeypatch.setattr(exporting, "CHUNK", 3)
    for i in range(8):
        ProspectFactory(client=personas.client_a, name=f"P{i}")
    same, later = timezone.now(), timezone.now() + timedelta(minutes=1)
    ids = list(Prospect.objects.order_by("id").values_list("id", flat=True))
    Prospect.objects.filter(id__in=ids[:5]).update(created_at=later)  # P0..P4 the newest
    Prospect.objects.filter(id__in=ids[5:]).update(created_at=same)
    client.force_login(personas.bob)
    names = [r["name"] for r in _export(client)]
    assert names == ["P5", "P6", "P7", "P0", "P1", "P2", "P3", "P4"]
