"""Data leaving OpsX: the CSV export of a filtered prospect list, streamed (memory stays flat
at any size), and the ZIP file of everything held about one prospect (the client's access
requests). Builders only: the services record each export in the audit trail."""

import csv
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO

from django.db.models import Q, QuerySet

from clients.models import Client
from clients.tenancy import tenant_scope

from . import queries
from .models import CustomField, Prospect, ProspectPhone, StoredFile

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


# --- one prospect, for the client's access requests ---------------------------

PROSPECT_FIELDS = [
    "name", "organisation", "email", "address_line1", "address_line2", "city", "state",
    "postal_code", "country", "latitude", "longitude", "status", "owner", "source", "tags",
    "notes",
]  # fmt: skip


def prospect_export_data(prospect: Prospect, *, attached: list[StoredFile] | None = None) -> dict:
    """Everything OpsX holds about one prospect, for the client to answer an access request:
    the record, phones, visits with their reports and answers, notes and timeline, and the
    files' details with the path prospect_archive stores each one's bytes under.
    `attached`: the prospect's files (queries.attached_files), when the caller has them."""
    if attached is None:
        attached = queries.attached_files(prospect=prospect)

    def user(u):
        return u.email if u else None

    visits = prospect.visits.select_related("user", "checklist").order_by("scheduled_at", "pk")
    events = prospect.events.select_related("actor").order_by("at", "pk")
    return {
        "prospect": {
            "id": str(prospect.public_id),
            **{f: getattr(prospect, f) for f in PROSPECT_FIELDS if f not in ("owner",)},
            "latitude": str(prospect.latitude) if prospect.latitude is not None else None,
            "longitude": str(prospect.longitude) if prospect.longitude is not None else None,
            "owner": user(prospect.owner),
            "custom": prospect.custom,
            "created_at": prospect.created_at.isoformat(),
            "updated_at": prospect.updated_at.isoformat(),
        },
        "phones": list(prospect.phones.values_list("number", flat=True)),
        "visits": [
            {
                "id": str(v.public_id),
                "user": user(v.user),
                "status": v.status,
                "scheduled_at": v.scheduled_at and v.scheduled_at.isoformat(),
                "checked_in_at": v.checked_in_at and v.checked_in_at.isoformat(),
                "checked_out_at": v.checked_out_at and v.checked_out_at.isoformat(),
                "outcome": v.outcome,
                "report": v.report,
                "checklist": v.checklist.name if v.checklist else None,
                "answers": v.answers,
            }
            for v in visits
        ],
        "timeline": [
            {"at": e.at.isoformat(), "kind": e.kind, "by": user(e.actor), "text": e.text}
            for e in events
        ],
        "files": [
            {
                "id": str(f.public_id),
                "name": f.name,
                "type": f.content_type,
                "size": f.size,
                "path": _archive_path(f),
            }
            for f in attached
        ],
    }


def _archive_path(stored: StoredFile) -> str:
    return f"files/{stored.public_id.hex[:8]}-{stored.name}"  # unique, and still readable


def prospect_archive(prospect: Prospect) -> tuple[IO[bytes], dict]:
    """Everything held about one prospect as a ZIP file: prospect.json (the record, phones,
    visits, timeline and the files' details) and the files themselves under files/. Written to
    a temporary file a megabyte at a time, so memory stays flat whatever the files weigh.
    Returns the file, at its start, and the data written to prospect.json."""
    attached = queries.attached_files(prospect=prospect)
    data = prospect_export_data(prospect, attached=attached)
    archive = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it once sent
    try:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for stored, entry in zip(attached, data["files"], strict=True):
                try:
                    with (
                        stored.blob.open("rb") as src,
                        zf.open(entry["path"], "w", force_zip64=True) as dst,
                    ):
                        shutil.copyfileobj(src, dst, 1024 * 1024)
                except FileNotFoundError:  # its bytes were lost: say so rather than fail
                    entry["path"], entry["missing"] = None, True
            text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
            zf.writestr("prospect.json", text)
    except BaseException:
        archive.close()
        raise
    archive.seek(0)
    return archive, data
