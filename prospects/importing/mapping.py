"""An import's upload and its mapping: the file checked and kept, read again as the person
chooses (encoding, header row, sheet), columns mapped to fields. Imports reading."""

from itertools import islice

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from accounts.models import User
from clients.models import Client

from ..models import CustomField, ImportJob
from .reading import detect_format, first_rows, open_records, read_layout

MAX_IMPORT_BYTES = 200 * 1024 * 1024
PREVIEW_ROWS = 5
FILE_ROWS = 10  # the file's first rows shown to pick the header row from

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
    """Check the file (its format, encoding, a header row, data rows) and keep it for mapping."""
    if upload.size == 0:
        raise ValidationError("The file is empty.")
    if upload.size > MAX_IMPORT_BYTES:
        raise ValidationError(
            f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it."
        )
    name = upload.name or "import.csv"
    job = ImportJob(
        client=client,
        created_by=actor,
        original_name=name[:255],
        format=detect_format(upload, name),
    )
    read_layout(job, upload)
    upload.seek(0)
    job.source.save(f"import.{job.format}", upload, save=False)
    job.mapping = _guess(job)
    job.save()
    return job


@transaction.atomic
def import_reread(
    *,
    job: ImportJob,
    actor: User,
    encoding: str | None = None,
    header_row: int | None = None,
    sheet: str | None = None,
) -> ImportJob:
    """Read the stored file again as the person chose: another encoding (CSV, vCard), header
    row (None: detect it again) or sheet (.xlsx); headers, row count, column statistics and
    the mapping guess follow. The job is unchanged when the file cannot be read that way.
    Not audited, like the upload itself: nothing is imported until import_start."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportJob.Status.UPLOADED:
        raise ValidationError("This import has already started.")
    if job.format == ImportJob.Format.XLSX and encoding:
        encoding = None  # a workbook has no text encoding
    if header_row is not None and header_row < 1:
        raise ValidationError("The header row is a row number from 1.")
    if not job.source.name:
        raise SourceMissing
    try:
        with job.source.open("rb") as fileobj:
            read_layout(
                job,
                fileobj,
                encoding=encoding or (job.encoding if job.format != "xlsx" else None),
                header_row=header_row,
                sheet=sheet or job.sheet or None,
            )
    except OSError as exc:
        raise SourceMissing from exc
    job.mapping = _guess(job)
    job.save()
    return job


def _guess(job: ImportJob) -> dict[str, str]:
    try:
        return guess_mapping(job.client, job.headers, stats=job.column_stats)
    except TypeError:  # until guess_mapping takes the statistics (H2's part)
        return guess_mapping(job.client, job.headers)


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
    """The first data rows of the upload, for the mapping page; SourceMissing if it is gone."""
    rows = []
    for _, cells, error in _read(job, open_records, PREVIEW_ROWS):
        rows.append(cells if cells is not None else [error])
    return rows


def import_file_rows(job: ImportJob) -> list[tuple[int, list[str]]]:
    """The file's first rows as they are, with their numbers, to pick the header row from."""
    if job.format == ImportJob.Format.VCF:
        return []  # a card is not a row: there is no header to pick
    return _read(job, lambda j, f: first_rows(j, f, FILE_ROWS), FILE_ROWS)


def _read(job: ImportJob, reader, count: int) -> list:
    if not job.source.name:
        raise SourceMissing
    try:
        with job.source.open("rb") as fileobj:
            return list(islice(reader(job, fileobj), count))
    except (OSError, UnicodeDecodeError, ValidationError) as exc:
        # S3 storages may fail on the first read; a file read at upload reads now
        raise SourceMissing from exc


def import_source_readable(job: ImportJob) -> bool:
    """Whether the upload's file can still be opened and read (one byte)."""
    if not job.source.name:
        return False
    try:
        with job.source.open("rb") as fileobj:
            fileobj.read(1)
    except OSError:
        return False
    return True
