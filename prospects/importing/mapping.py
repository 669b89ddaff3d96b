"""An import's upload and its mapping: the file checked and kept, columns mapped to fields."""

import csv
import io

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from accounts.models import User
from clients.models import Client

from ..models import CustomField, ImportJob
from .reading import check_text, iter_records, open_text, sniff_delimiter

MAX_IMPORT_BYTES = 200 * 1024 * 1024
MAX_COLUMNS = 200
PREVIEW_ROWS = 5

BASE_FIELDS = {
    "name": "Name",
    "organisation": "Organisation",
    "email": "Email",
    "phones": "Phone number(s)",
    "address_line1": "Address line 1",
    "address_line2": "Address line 2",
    "city": "City",
    "state": "State",
    "postal_code": "Postal code",
    "country": "Country code",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "status": "Status",
    "owner": "Owner (user's email)",
    "source": "Source",
    "tags": "Tags",
    "notes": "Notes",
}
# Header spellings we recognise without a remembered mapping.
SYNONYMS = {
    "fullname": "name", "contact": "name", "contactname": "name", "prospect": "name",
    "company": "organisation", "organization": "organisation", "business": "organisation",
    "emailaddress": "email", "e-mail": "email", "mail": "email",
    "phone": "phones", "phonenumber": "phones", "mobile": "phones", "telephone": "phones",
    "tel": "phones", "cell": "phones", "phone2": "phones", "mobilenumber": "phones",
    "address": "address_line1", "address1": "address_line1", "street": "address_line1",
    "address2": "address_line2", "town": "city", "province": "state", "region": "state",
    "zip": "postal_code", "zipcode": "postal_code", "postcode": "postal_code", "pincode": "postal_code",
    "lat": "latitude", "lng": "longitude", "lon": "longitude", "long": "longitude",
    "tag": "tags", "labels": "tags", "note": "notes", "comments": "notes", "assignedto": "owner",
}  # fmt: skip


def _norm(header: str) -> str:
    return "".join(ch for ch in header.lower() if ch.isalnum() or ch == "-").replace("-", "")


def import_fields(client: Client) -> dict[str, str]:
    """Every field a column can be mapped to, with its label."""
    fields = dict(BASE_FIELDS)
    for definition in CustomField.objects.for_client(client):
        fields[f"custom.{definition.key}"] = f"{definition.label} (custom)"
    return fields


@transaction.atomic
def import_upload(*, client: Client, actor: User, upload: UploadedFile) -> ImportJob:
    """Check the file (UTF-8, a header row, readable CSV) and keep it for mapping."""
    if upload.size == 0:
        raise ValidationError("The file is empty.")
    if upload.size > MAX_IMPORT_BYTES:
        raise ValidationError(
            f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it."
        )
    check_text(upload)
    text = open_text(upload)
    sample = text.read(64 * 1024)
    text.detach()
    delimiter = sniff_delimiter(sample)
    try:
        header = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    except csv.Error:
        header = []
    header = [" ".join(h.split()) for h in header]
    if not any(header):
        raise ValidationError("The first row must name the columns (Name, Email, Phone, …).")
    if len(header) > MAX_COLUMNS:
        raise ValidationError(
            f"The file has {len(header)} columns; at most {MAX_COLUMNS} are read."
        )
    blanks = [i + 1 for i, h in enumerate(header) if not h]
    if blanks:
        raise ValidationError(
            f"Column {blanks[0]} has no name in the header row; name it or remove it."
        )
    dupes = {h for h in header if header.count(h) > 1}
    if dupes:
        raise ValidationError(
            f"Two columns are called “{sorted(dupes)[0]}”; give each column its own name."
        )
    total = sum(1 for _ in iter_records(upload, delimiter))
    if total == 0:
        raise ValidationError("The file has a header row but no data rows.")
    job = ImportJob(
        client=client,
        created_by=actor,
        original_name=(upload.name or "import.csv")[:255],
        delimiter=delimiter,
        headers=header,
        total_rows=total,
    )
    upload.seek(0)
    job.source.save("import.csv", upload, save=False)
    job.mapping = guess_mapping(client, header)
    job.save()
    return job


def guess_mapping(client: Client, headers: list[str]) -> dict[str, str]:
    """Header -> field: the client's last mapping first, then names and synonyms."""
    fields = import_fields(client)
    remembered = {}
    last = (
        ImportJob.objects.for_client(client)
        .exclude(status=ImportJob.Status.UPLOADED)
        .order_by("-created_at")
        .values_list("mapping", flat=True)
        .first()
    )
    if last:
        remembered = {h: f for h, f in last.items() if f in fields}
    by_norm = {_norm(label.split(" (")[0]): f for f, label in fields.items()}
    by_norm.update({_norm(f.removeprefix("custom.")): f for f in fields})
    mapping = {}
    for header in headers:
        guess = remembered.get(header) or by_norm.get(_norm(header)) or SYNONYMS.get(_norm(header))
        if guess and (guess == "phones" or guess not in mapping.values()):
            mapping[header] = guess
    return mapping


class SourceMissing(Exception):
    """The stored CSV of an upload cannot be read any more: deleted by the clean-up after
    UNSTARTED_KEPT, lost by the storage, or the storage refused to open it."""


def import_preview(job: ImportJob) -> list[list[str]]:
    """The first rows of the upload, for the mapping page; SourceMissing if it is gone."""
    rows = []
    if not job.source.name:
        raise SourceMissing
    try:
        with job.source.open("rb") as fileobj:
            for _, cells, error in iter_records(fileobj, job.delimiter):
                rows.append(cells if cells is not None else [error])
                if len(rows) == PREVIEW_ROWS:
                    break
    except (OSError, UnicodeDecodeError) as exc:  # S3 storages may fail on the first read
        raise SourceMissing from exc
    return rows


def import_source_readable(job: ImportJob) -> bool:
    """Whether the upload's CSV can still be opened and read (one byte)."""
    if not job.source.name:
        return False
    try:
        with job.source.open("rb") as fileobj:
            fileobj.read(1)
    except OSError:
        return False
    return True
