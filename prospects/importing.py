"""CSV import of prospects: upload, map columns, run in a Celery job that resumes.

The job reads the stored file as a stream and commits every IMPORT_BATCH_SIZE rows together
with `processed_rows`, so a run that dies is resumed after the last committed row by the
watchdog, and the progress bar moves as batches land. Bad rows are skipped and listed in
ImportRowError with their row number (the header is row 1).
"""

import codecs
import csv
import io
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from clients.models import Client

from .models import CustomField, ImportJob, ImportRowError, Prospect, ProspectEvent, ProspectPhone
from .services import active_owners_by_email, custom_field_definitions
from .validation import clean_prospect

logger = logging.getLogger(__name__)

MAX_IMPORT_BYTES = 200 * 1024 * 1024
MAX_FIELD_CHARS = 100_000  # a longer cell makes its row an error, not the whole file
MAX_COLUMNS = 200
MAX_RUNS = 3  # a job whose run died this many times is marked failed
STALE_AFTER = timedelta(minutes=2)  # no heartbeat for this long: the run is dead
PREVIEW_ROWS = 5

csv.field_size_limit(MAX_FIELD_CHARS)

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


# --- reading the file -------------------------------------------------------


class _Dialect(csv.excel):
    pass


def _open_text(fileobj) -> io.TextIOBase:
    fileobj.seek(0)
    return io.TextIOWrapper(fileobj, encoding="utf-8-sig", newline="", errors="strict")


def iter_records(fileobj, delimiter: str) -> Iterator[tuple[int, list[str] | None, str]]:
    """(row number, cells or None, error) for every record after the header."""
    text = _open_text(fileobj)
    try:
        yield from _records(csv.reader(text, delimiter=delimiter))
    finally:
        if not text.closed:
            text.detach()  # leave the underlying file open for the caller


def _records(reader) -> Iterator[tuple[int, list[str] | None, str]]:
    try:
        next(reader)
    except (StopIteration, csv.Error):
        return
    row_number = 1
    while True:
        row_number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = str(exc)
            if "field larger than field limit" in reason:
                reason = f"A cell is longer than {MAX_FIELD_CHARS:,} characters."
            yield row_number, None, f"This row could not be read: {reason}"
            continue
        yield row_number, cells, ""


def _check_utf8(fileobj) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    fileobj.seek(0)
    offset = 0
    for chunk in iter(lambda: fileobj.read(1024 * 1024), b""):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise ValidationError(
                f"The file is not UTF-8 text (a byte at position {offset + exc.start:,} cannot be "
                "read). In Excel choose “Save as → CSV UTF-8”, then upload it again."
            ) from None
        offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ValidationError(
            "The file ends in the middle of a character; it is not UTF-8."
        ) from None


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


@transaction.atomic
def import_upload(*, client: Client, actor: User, upload: UploadedFile) -> ImportJob:
    """Check the file (UTF-8, a header row, readable CSV) and keep it for mapping."""
    if upload.size == 0:
        raise ValidationError("The file is empty.")
    if upload.size > MAX_IMPORT_BYTES:
        raise ValidationError(
            f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it."
        )
    if b"\x00" in upload.read(8192):
        raise ValidationError("This is not a CSV file (it contains binary data).")
    _check_utf8(upload)
    text = _open_text(upload)
    sample = text.read(64 * 1024)
    text.detach()
    delimiter = _sniff_delimiter(sample)
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


def import_preview(job: ImportJob) -> list[list[str]]:
    rows = []
    with job.source.open("rb") as fileobj:
        for _, cells, error in iter_records(fileobj, job.delimiter):
            rows.append(cells if cells is not None else [error])
            if len(rows) == PREVIEW_ROWS:
                break
    return rows


@transaction.atomic
def import_start(
    *, job: ImportJob, actor: User, mapping: dict[str, str], on_duplicate: str
) -> ImportJob:
    """Validate the mapping and queue the job (the task starts once this commits)."""
    if job.status != ImportJob.Status.UPLOADED:
        raise ValidationError("This import has already started.")
    fields = import_fields(job.client)
    unknown_headers = set(mapping) - set(job.headers)
    if unknown_headers:
        raise ValidationError(f"The file has no column “{sorted(unknown_headers)[0]}”.")
    mapping = {h: f for h, f in mapping.items() if f}
    for target in mapping.values():
        if target not in fields:
            raise ValidationError(f"“{target}” is not a field a column can go to.")
    targets = [f for f in mapping.values() if f != "phones"]
    twice = {f for f in targets if targets.count(f) > 1}
    if twice:
        raise ValidationError(f"Two columns go to {fields[sorted(twice)[0]]}; choose one.")
    if "name" not in mapping.values():
        raise ValidationError("Choose the column that holds the prospect's name.")
    if on_duplicate not in ImportJob.OnDuplicate.values:
        raise ValidationError("Choose what to do with duplicates.")
    job.mapping, job.on_duplicate = mapping, on_duplicate
    job.status = ImportJob.Status.QUEUED
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["mapping", "on_duplicate", "status", "heartbeat_at"])
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from .tasks import prospects_import_run

    try:
        prospects_import_run.delay(job_id)
    except Exception:
        logger.warning("Could not enqueue import %s; the watchdog will start it", job_id)


# --- running ------------------------------------------------------------------


class _Lost(Exception):
    """Another run took the job over (this one was presumed dead)."""


def _claim(job_id: int) -> tuple[ImportJob, uuid.UUID] | None:
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update().select_related("client").filter(pk=job_id).first()
        )
        if job is None or job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
            return None
        now = timezone.now()
        alive = (
            job.status == ImportJob.Status.RUNNING
            and job.heartbeat_at
            and now - job.heartbeat_at < STALE_AFTER
        )
        if alive:
            return None  # a live run holds it
        if job.runs >= MAX_RUNS:
            job.status = ImportJob.Status.FAILED
            job.failure_reason = (
                f"The import stopped {job.runs} times and was given up after row "
                f"{job.processed_rows + 1}. Rows before it were imported; see the error report."
            )
            job.finished_at = now
            job.save()
            return None
        token = uuid.uuid4()
        job.run_token, job.runs = token, job.runs + 1
        job.status, job.heartbeat_at = ImportJob.Status.RUNNING, now
        job.started_at = job.started_at or now
        job.save()
        return job, token


def import_run(job_id: int) -> None:
    """Run (or resume) an import job. Safe to call twice: only one run holds the job."""
    claimed = _claim(job_id)
    if claimed is None:
        return
    job, token = claimed
    runner = _Runner(job, token)
    try:
        runner.run()
    except _Lost:
        logger.info("Import %s was taken over by another run", job_id)
    except Exception as exc:
        logger.exception("Import %s failed", job_id)
        ImportJob.objects.filter(pk=job_id, run_token=token).update(
            status=ImportJob.Status.FAILED,
            finished_at=timezone.now(),
            failure_reason=(
                f"An unexpected error stopped the import after row {runner.job.processed_rows + 1} "
                f"({type(exc).__name__}). The rows before it were imported."
            ),
        )


def imports_resume_stale() -> int:
    """Periodic: hand jobs whose run died (no heartbeat) to a new run. Returns how many."""
    cutoff = timezone.now() - STALE_AFTER
    stale = ImportJob.objects.filter(
        status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING], heartbeat_at__lt=cutoff
    ).values_list("pk", flat=True)
    ids = list(stale[:50])
    for job_id in ids:
        _enqueue(job_id)
    return len(ids)


class _Runner:
    def __init__(self, job: ImportJob, token: uuid.UUID):
        self.job, self.token, self.client = job, token, job.client
        self.definitions = custom_field_definitions(self.client)
        self.owners = active_owners_by_email(self.client)
        self.columns = [
            (i, job.mapping[h]) for i, h in enumerate(job.headers) if job.mapping.get(h)
        ]
        self.batch_size = settings.IMPORT_BATCH_SIZE
        self.actor = job.created_by

    def run(self) -> None:
        with self.job.source.open("rb") as fileobj:
            records = iter_records(fileobj, self.job.delimiter)
            for _ in range(self.job.processed_rows):  # resume: skip what is committed
                next(records, None)
            batch = []
            for record in records:
                batch.append(record)
                if len(batch) >= self.batch_size:
                    self._commit(batch)
                    batch = []
            self._commit(batch, last=True)

    def _raw(self, cells: list[str]) -> dict:
        raw: dict = {}
        for index, target in self.columns:
            value = cells[index] if index < len(cells) else ""
            if target == "phones":
                raw["phones"] = f"{raw['phones']};{value}" if raw.get("phones") else value
            else:
                raw[target] = value
        return raw

    def _commit(self, batch: list, *, last: bool = False) -> None:
        errors: list[ImportRowError] = []
        good: list[tuple[int, dict]] = []
        width = len(self.job.headers)
        for row_number, cells, error in batch:
            if cells is None:
                errors.append(self._error(row_number, error))
                continue
            if not any(c.strip() for c in cells):
                continue  # a blank line
            if len(cells) > width:
                errors.append(
                    self._error(
                        row_number,
                        f"The row has {len(cells)} cells but the header has {width} columns.",
                    )
                )
                continue
            try:
                data = clean_prospect(
                    self._raw(cells), definitions=self.definitions, owners_by_email=self.owners
                )
            except ValidationError as exc:
                reasons = "; ".join(
                    f"{BASE_FIELDS.get(f, f.removeprefix('custom.'))}: {' '.join(m)}"
                    for f, m in exc.message_dict.items()
                )
                errors.append(self._error(row_number, reasons))
                continue
            good.append((row_number, data))

        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=self.job.pk)
            if job.run_token != self.token:
                raise _Lost
            created, updated, skipped = self._write(good)
            ImportRowError.objects.bulk_create(errors)
            job.processed_rows = F("processed_rows") + len(batch)
            job.created_count = F("created_count") + created
            job.updated_count = F("updated_count") + updated
            job.skipped_count = F("skipped_count") + skipped
            job.error_count = F("error_count") + len(errors)
            job.heartbeat_at = timezone.now()
            if last:
                job.status, job.finished_at = ImportJob.Status.DONE, timezone.now()
            job.save()
            job.refresh_from_db()
            self.job = job

    def _error(self, row_number: int, reason: str) -> ImportRowError:
        return ImportRowError(
            client=self.client, job=self.job, row_number=row_number, reason=reason[:2000]
        )

    def _write(self, good: list[tuple[int, dict]]) -> tuple[int, int, int]:
        """Create new prospects, update or skip duplicates (same email or phone in the client)."""
        if not good:
            return 0, 0, 0
        emails = {d["email"] for _, d in good if d.get("email")}
        numbers = {n for _, d in good for n in d.get("phones", [])}
        scoped = Prospect.objects.for_client(self.client)
        by_email = {p.email: p for p in scoped.filter(email__in=emails)} if emails else {}
        phone_owner = dict(
            ProspectPhone.objects.for_client(self.client).filter(number__in=numbers).values_list("number", "prospect_id")
        ) if numbers else {}  # fmt: skip
        by_id = {p.pk: p for p in by_email.values()}
        missing = set(phone_owner.values()) - set(by_id)
        if missing:
            by_id.update({p.pk: p for p in scoped.filter(pk__in=missing)})
        existing_phones: dict[int, set] = {}
        for number, prospect_id in phone_owner.items():
            existing_phones.setdefault(prospect_id, set()).add(number)

        now = timezone.now()
        new: list[Prospect] = []
        changed: dict[int, Prospect] = {}
        numbers_of: dict[int, list[str]] = {}  # id(prospect) -> phone numbers to add
        skipped = 0
        pending_by_key: dict[str, Prospect] = {}  # prospects this batch touched, by email/phone
        for _, data in good:
            phones = data.pop("phones", [])
            keys = ([f"e:{data['email']}"] if data.get("email") else []) + [
                f"p:{n}" for n in phones
            ]
            match = by_email.get(data.get("email") or "")
            if match is None:
                match = next((by_id[phone_owner[n]] for n in phones if n in phone_owner), None)
            if match is None:
                match = next((pending_by_key[k] for k in keys if k in pending_by_key), None)
            if match is not None:
                if self.job.on_duplicate == ImportJob.OnDuplicate.SKIP:
                    skipped += 1
                    continue
                self._merge(match, data, now)
                if match.pk:
                    changed[match.pk] = match
                known = existing_phones.get(match.pk, set())
                adding = numbers_of.setdefault(id(match), [])
                adding += [n for n in phones if n not in known and n not in adding]
                for k in keys:  # later rows with this row's email or phones are the same prospect
                    pending_by_key.setdefault(k, match)
                continue
            custom = {k: v for k, v in data.pop("custom", {}).items() if v is not None}
            prospect = Prospect(
                client=self.client, custom=custom, created_by=self.actor, updated_by=self.actor,
                import_job=self.job, created_at=now, updated_at=now, **data,
            )  # fmt: skip
            prospect.refresh_derived()
            new.append(prospect)
            numbers_of[id(prospect)] = list(phones)
            for k in keys:
                pending_by_key[k] = prospect

        created = fast_insert(new)
        fast_insert(
            [
                ProspectPhone(client=self.client, prospect=p, number=n, digits=n[1:])
                for p in created
                for n in numbers_of[id(p)]
            ]
        )
        if changed:
            fast_update(list(changed.values()), UPDATED_FIELDS)
            ProspectEvent.objects.bulk_create(
                [
                    ProspectEvent(client=self.client, prospect=p, kind=ProspectEvent.Kind.IMPORTED, actor=self.actor,
                                  at=now, text=f"Updated from {self.job.original_name}")
                    for p in changed.values()
                ],
                batch_size=1000,
            )  # fmt: skip
            ProspectPhone.objects.bulk_create(
                [ProspectPhone(client=self.client, prospect=p, number=n, digits=n[1:]) for p in changed.values() for n in numbers_of.get(id(p), [])],
                batch_size=2000,
                ignore_conflicts=True,
            )  # fmt: skip
        return len(created), len(changed), skipped

    def _merge(self, prospect: Prospect, data: dict, now) -> None:
        """An import updates what its row says and leaves the rest: empty cells change nothing,
        tags are added, custom values merged."""
        for field, value in data.items():
            if field == "tags":
                prospect.tags = prospect.tags + [t for t in value if t not in prospect.tags]
            elif field == "custom":
                prospect.custom = {
                    **prospect.custom,
                    **{k: v for k, v in value.items() if v is not None},
                }
            elif value not in ("", None) and not (
                field == "status" and value == Prospect.Status.NEW
            ):
                setattr(prospect, field, value)
        prospect.updated_by, prospect.updated_at = self.actor, now
        prospect.refresh_derived()


UPDATED_FIELDS = [
    "name", "organisation", "email", "address_line1", "address_line2", "city", "state", "postal_code",
    "country", "latitude", "longitude", "status", "owner", "source", "tags", "notes", "custom",
    "name_key", "search_text", "updated_by", "updated_at",
]  # fmt: skip


def fast_insert(objs: list) -> list:
    """Insert new rows of one model; on PostgreSQL with COPY (ids drawn from the sequence first),
    three times faster than a multi-row INSERT at import sizes. Sets each object's pk."""
    if not objs:
        return objs
    model = type(objs[0])
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs, batch_size=1000)
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nextval(pg_get_serial_sequence('{meta.db_table}', 'id')) FROM generate_series(1, %s)",  # noqa: S608 (names from the model)
            [len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
        columns = ", ".join(["id", *(connection.ops.quote_name(f.column) for f in fields)])
        with cursor.cursor.copy(f"COPY {meta.db_table} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(
                    [
                        obj.pk,
                        *(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields),
                    ]
                )
    for obj in objs:
        obj._state.adding, obj._state.db = False, "default"
    return objs


def fast_update(objs: list, field_names: list[str]) -> None:
    """UPDATE ... WHERE id = %s for each object, sent in one pipeline (executemany); Django's
    bulk_update builds CASE expressions that PostgreSQL evaluates slowly for thousands of rows."""
    meta = type(objs[0])._meta
    fields = [meta.get_field(name) for name in field_names]
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    rows = [
        [*(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields), obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {meta.db_table} SET {assignments} WHERE id = %s", rows)  # noqa: S608


def error_report_rows(job: ImportJob) -> Iterator[list]:
    yield ["row", "reason"]
    for row_number, reason in (
        ImportRowError.objects.for_client(job.client_id)
        .filter(job=job)
        .order_by("row_number")
        .values_list("row_number", "reason")
        .iterator(2000)
    ):
        yield [row_number, reason]
