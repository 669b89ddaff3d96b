"""An import's upload and its mapping: the file checked and kept, read again as the person
chooses (encoding, header row, sheet), columns mapped to fields. Imports reading."""

import re
from itertools import islice

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from accounts.models import User
from clients.models import Client

from ..models import CustomField, ImportJob
from .reading import detect_format, first_rows, kept_workbook, open_records, read_layout

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
# Fields several columns can feed (Runner._raw joins them); the others take one column each.
MULTI_FIELDS = {"name", "email", "phones", "notes", "tags"}
# Header spellings we recognise without a remembered mapping, as _norm() spells them: the
# exports of Google Contacts (old and new), Outlook, LinkedIn, phones' vCards (as reading.py
# names their columns) and common CRMs. NAME_PARTS feed the name only when no column holds
# the full name; a name's prefix and suffix (Mr., Dr., Jr.) are left out of it on purpose:
# they would make the same person two names. Phone types are not kept (the model has none).
SYNONYMS = {
    # name
    "fullname": "name", "contact": "name", "contactname": "name", "prospect": "name",
    "prospectname": "name", "displayname": "name", "leadname": "name", "customername": "name",
    "personname": "name", "clientname": "name",
    # organisation
    "company": "organisation", "organization": "organisation", "business": "organisation",
    "companyname": "organisation", "organizationname": "organisation",
    "organisationname": "organisation", "accountname": "organisation", "account": "organisation",
    "firm": "organisation", "businessname": "organisation", "shopname": "organisation",
    "storename": "organisation",
    # email
    "emailaddress": "email", "mail": "email", "contactemail": "email", "emailid": "email",
    "mailid": "email", "workemail": "email", "personalemail": "email", "homeemail": "email",
    "otheremail": "email", "businessemail": "email", "primaryemail": "email",
    # phones
    "phone": "phones", "phonenumber": "phones", "mobile": "phones", "telephone": "phones",
    "tel": "phones", "cell": "phones", "cellphone": "phones", "mobilenumber": "phones",
    "mobilephone": "phones", "businessphone": "phones", "homephone": "phones",
    "workphone": "phones", "otherphone": "phones", "primaryphone": "phones",
    "companymainphone": "phones", "carphone": "phones", "whatsapp": "phones",
    "whatsappnumber": "phones", "mobileno": "phones", "contactno": "phones", "phoneno": "phones",
    "contactnumber": "phones", "telephonenumber": "phones", "landline": "phones",
    "cellnumber": "phones", "mainphone": "phones", "directphone": "phones",
    "officephone": "phones", "contactphone": "phones", "alternatephone": "phones",
    "alternatenumber": "phones", "mob": "phones", "mobno": "phones", "telno": "phones",
    "pager": None, "businessfax": None, "homefax": None, "otherfax": None, "fax": None,
    # address
    "address": "address_line1", "address1": "address_line1", "street": "address_line1",
    "addressline1": "address_line1", "addressstreet": "address_line1",
    "businessstreet": "address_line1", "homestreet": "address_line1",
    "otherstreet": "address_line1", "streetaddress": "address_line1",
    "mailingstreet": "address_line1", "billingstreet": "address_line1",
    "address2": "address_line2", "addressline2": "address_line2",
    "addressextendedaddress": "address_line2", "businessstreet2": "address_line2",
    "homestreet2": "address_line2",
    "town": "city", "addresscity": "city", "businesscity": "city", "homecity": "city",
    "othercity": "city", "mailingcity": "city", "billingcity": "city", "towncity": "city",
    "province": "state", "region": "state", "addressregion": "state", "businessstate": "state",
    "homestate": "state", "otherstate": "state", "stateprovince": "state", "county": "state",
    "mailingstate": "state", "billingstate": "state", "stateregion": "state",
    "zip": "postal_code", "zipcode": "postal_code", "postcode": "postal_code",
    "pincode": "postal_code", "pin": "postal_code", "addresspostalcode": "postal_code",
    "businesspostalcode": "postal_code", "homepostalcode": "postal_code",
    "otherpostalcode": "postal_code", "zippostalcode": "postal_code",
    "mailingzip": "postal_code", "billingzip": "postal_code", "postalzipcode": "postal_code",
    "addresscountry": "country", "businesscountryregion": "country",
    "homecountryregion": "country", "othercountryregion": "country",
    "countryregion": "country", "mailingcountry": "country", "billingcountry": "country",
    "countrycode": "country",
    # the rest
    "lat": "latitude", "lng": "longitude", "lon": "longitude", "long": "longitude",
    "leadstatus": "status", "stage": "status", "leadstage": "status", "dealstage": "status",
    "contactstatus": "status", "pipelinestage": "status", "lifecyclestage": "status",
    "owner": "owner", "leadowner": "owner", "assignedto": "owner", "contactowner": "owner",
    "accountowner": "owner", "salesperson": "owner", "salesrep": "owner",
    "leadsource": "source", "contactsource": "source", "referredby": "source",
    "tag": "tags", "labels": "tags", "label": "tags", "categories": "tags", "category": "tags",
    "groupmembership": "tags", "groups": "tags",
    "note": "notes", "comments": "notes", "comment": "notes", "description": "notes",
    "remarks": "notes", "remark": "notes",
}  # fmt: skip
NAME_PARTS = {
    "firstname", "givenname", "middlename", "additionalname", "lastname", "familyname",
    "surname", "forename",
}  # fmt: skip
_NUMBERED = re.compile(r"\s*\(\d+\)$")  # "Phone (2)": reading.py's name for a repeated header
_TYPE_COLUMN = re.compile(r"\s-\s*(type|label)$", re.IGNORECASE)  # "Phone 1 - Type"


def _norm(header: str, *, numbers: bool = True) -> str:
    """“Business Street 2” -> “businessstreet2”, “E-mail 2 - Value” -> “email2”: lower case,
    letters and digits only, without the “Value” of Google's groups (“Phone 1 - Value”) nor,
    unless `numbers`, the numbers (-> “email”)."""
    words = re.split(r"[^\w]+|_", _NUMBERED.sub("", header).lower().replace("e-mail", "email"))
    words = [w for w in words if w and (numbers or not w.isdigit())]
    if len(words) > 1 and words[-1] == "value":
        words.pop()
    return "".join(words)


def _field_of(header: str, by_norm: dict[str, str | None]) -> str | None:
    """The field a header names: as written (“Address 2”), else without its numbers."""
    exact = _norm(header)
    return by_norm[exact] if exact in by_norm else by_norm.get(_norm(header, numbers=False))


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
    return guess_mapping(job.client, job.headers, stats=job.column_stats)


def guess_mapping(
    client: Client, headers: list[str], *, stats: dict | None = None
) -> dict[str, str]:
    """Header -> field: the client's last mapping first, then field names and synonyms. A
    column empty all the way down (`stats`, ImportJob.column_stats) is not mapped; the name
    parts (First/Middle/Last Name) feed the name only when no column holds the whole name."""
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
    by_norm = dict(SYNONYMS)
    by_norm.update({_norm(label.split(" (")[0]): f for f, label in fields.items()})
    by_norm.update({_norm(f.removeprefix("custom.")): f for f in fields})
    filled = [h for h in headers if stats is None or (stats.get(h) or {}).get("filled", 1)]
    guesses = {}
    for header in filled:
        if header in remembered:
            guesses[header] = remembered[header]
        elif _norm(header, numbers=False) in NAME_PARTS:
            guesses[header] = "name part"
        elif not _TYPE_COLUMN.search(header):
            guesses[header] = _field_of(header, by_norm)
    whole_name = "name" in guesses.values()
    mapping = {}
    # the remembered columns first: they keep their field when a guessed column wants it too
    for header, guess in sorted(guesses.items(), key=lambda item: item[0] not in remembered):
        if guess == "name part" and not whole_name:
            guess = "name"
        if guess in fields and (guess in MULTI_FIELDS or guess not in mapping.values()):
            mapping[header] = guess
    return mapping


def empty_columns(job: ImportJob) -> set[str]:
    """The columns empty all the way down (the mapping page marks them among the ignored)."""
    return {h for h in job.headers if (job.column_stats.get(h) or {"filled": 1})["filled"] == 0}


class SourceMissing(Exception):
    """The stored CSV of an upload cannot be read any more: deleted by the clean-up after
    UNSTARTED_KEPT, lost by the storage, or the storage refused to open it."""


def import_rows_shown(job: ImportJob) -> tuple[list[list[str]], list[tuple[int, list[str]]]]:
    """For the mapping page, from one opening of the upload: its first data rows (the
    preview under the columns) and the file's first rows as they are, with their numbers, to
    pick the header row from (none for vCards: a card is no row). SourceMissing if the file
    is gone."""
    if not job.source.name:
        raise SourceMissing
    try:
        with job.source.open("rb") as fileobj, kept_workbook(fileobj, job.format):
            preview = [
                cells if cells is not None else [error]
                for _, cells, error in islice(open_records(job, fileobj), PREVIEW_ROWS)
            ]
            rows = [] if job.format == ImportJob.Format.VCF else first_rows(job, fileobj, FILE_ROWS)
    except (OSError, UnicodeDecodeError, ValidationError) as exc:
        # S3 storages may fail on the first read; a file read at upload reads now
        raise SourceMissing from exc
    return preview, rows


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
