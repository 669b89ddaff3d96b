"""CSV export of a filtered prospect list, streamed: memory stays flat at any size."""

import csv
import re
from collections.abc import Iterator

from django.db.models import Q, QuerySet

from clients.models import Client
from clients.tenancy import tenant_scope

from .models import CustomField, Prospect, ProspectPhone

CHUNK = 2000
# Cells a spreadsheet would run as a formula ("=cmd|' /C calc'!A0"); prefixed with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_CHARS = frozenset(_FORMULA_START)
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


def export_rows(
    client: Client, qs: QuerySet[Prospect], definitions: list[CustomField]
) -> Iterator[str]:
    """CSV lines of the client's prospects in `qs` (scoped and filtered), oldest first, read by
    keyset chunks along prospect_created_idx so neither the database nor Python holds the
    whole list."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(
        [name for name, _ in COLUMNS] + [f"custom.{d.key}" for d in definitions]
    )  # the BOM makes Excel read UTF-8
    fields = [f for _, f in COLUMNS if f] + ["id", "custom"]
    at = {f: i for i, f in enumerate(fields)}
    # Each column as a position in the fetched row (-1: phones, filled in below).
    positions = [at[f] if f else -1 for _, f in COLUMNS]
    id_at, custom_at, tags_at = at["id"], at["custom"], at["tags"]
    dates = [i for i, f in enumerate(fields) if f.endswith("_at")]
    keys = [d.key for d in definitions]
    qs = qs.order_by("created_at", "id")
    after = Q()
    while True:
        # The rows are read after the view returned, outside the request's transaction: each
        # chunk in a transaction of its own restricted to the client, none held while the
        # download waits for the network.
        with tenant_scope(client):
            chunk = list(qs.filter(after).values_list(*fields)[:CHUNK])
            if not chunk:
                return
            ids = [row[id_at] for row in chunk]
            phones: dict[int, list[str]] = {}
            for prospect_id, number in (
                ProspectPhone.objects.for_client(client)
                .filter(prospect_id__in=ids)
                .order_by("id")
                .values_list("prospect_id", "number")
            ):
                phones.setdefault(prospect_id, []).append(number)
        last_at, last_id = chunk[-1][at["created_at"]], chunk[-1][id_at]
        # (created_at, id) > (last_at, last_id), written so the index range starts at last_at
        after = Q(created_at__gte=last_at) & (Q(created_at__gt=last_at) | Q(id__gt=last_id))
        lines = []
        for fetched in chunk:
            row = list(fetched)
            for i in dates:
                row[i] = row[i].isoformat()
            row[tags_at] = ", ".join(row[tags_at] or ())
            row.append("; ".join(phones.get(row[id_at], ())))  # position -1
            custom = row[custom_at] or {}
            cells = [row[i] for i in positions] + [custom.get(key) for key in keys]
            # Most cells are plain text: only those a spreadsheet could run go through safe_cell.
            lines.append(
                writer.writerow(
                    [
                        cell
                        if type(cell) is str and cell[:1] not in _FORMULA_CHARS
                        else safe_cell(cell)
                        for cell in cells
                    ]
                )
            )
        yield "".join(lines)
