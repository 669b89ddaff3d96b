"""CSV export of a filtered prospect list, streamed: memory stays flat at any size."""

import csv
import re
from collections.abc import Iterator

from django.db.models import QuerySet

from .models import CustomField, Prospect, ProspectPhone

CHUNK = 2000
# Cells a spreadsheet would run as a formula ("=cmd|' /C calc'!A0"); prefixed with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A signed number or phone numbers ("+91 98765 43210; +44 20 7946 0958") is data, not a formula.
_PLAIN_NUMBER = re.compile(r"[+-][\d\s.;,+()-]*")

COLUMNS = [
    ("id", "public_id"), ("name", "name"), ("organisation", "organisation"), ("email", "email"),
    ("phones", None), ("address_line1", "address_line1"), ("address_line2", "address_line2"),
    ("city", "city"), ("state", "state"), ("postal_code", "postal_code"), ("country", "country"),
    ("latitude", "latitude"), ("longitude", "longitude"), ("status", "status"), ("owner", "owner__email"),
    ("source", "source"), ("tags", "tags"), ("notes", "notes"), ("created_at", "created_at"),
    ("updated_at", "updated_at"),
]  # fmt: skip


def safe_cell(value) -> str:
    """The cell as text, defused if a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class _Echo:
    def write(self, value):
        return value


def csv_lines(rows) -> Iterator[str]:
    """Each row as one CSV line, formulas defused: for streamed downloads."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


def export_rows(qs: QuerySet[Prospect], definitions: list[CustomField]) -> Iterator[str]:
    """CSV lines of the prospects in `qs` (already scoped and filtered), in id order, read by
    keyset chunks so neither the database nor Python holds the whole list."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(
        [name for name, _ in COLUMNS] + [f"custom.{d.key}" for d in definitions]
    )  # the BOM makes Excel read UTF-8
    fields = [f for _, f in COLUMNS if f] + ["id", "custom"]
    last_id = 0
    qs = qs.order_by("id")
    while True:
        chunk = list(qs.filter(id__gt=last_id).values_list(*fields)[:CHUNK])
        if not chunk:
            return
        ids = [row[-2] for row in chunk]
        phones: dict[int, list[str]] = {}
        for prospect_id, number in (
            ProspectPhone.objects.filter(prospect_id__in=ids)
            .order_by("id")
            .values_list("prospect_id", "number")
        ):
            phones.setdefault(prospect_id, []).append(number)
        lines = []
        for row in chunk:
            values = dict(zip(fields, row, strict=True))
            cells = []
            for name, field in COLUMNS:
                if name == "phones":
                    value = "; ".join(phones.get(values["id"], []))
                elif name == "tags":
                    value = ", ".join(values["tags"] or [])
                else:
                    value = values[field]
                    if hasattr(value, "isoformat"):
                        value = value.isoformat()
                cells.append(safe_cell(value))
            custom = values["custom"] or {}
            cells += [safe_cell(custom.get(d.key)) for d in definitions]
            lines.append(writer.writerow(cells))
        yield "".join(lines)
        last_id = ids[-1]
