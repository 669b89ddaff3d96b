"""CSV import of prospects: upload, map columns, run in a Celery job that resumes.

The job reads the stored file as a stream and commits every IMPORT_BATCH_SIZE rows together
with `processed_rows`, so a run that dies is resumed after the last committed row by the
watchdog, and the progress bar moves as batches land. Bad rows are skipped and listed in
ImportRowError with their row number (the header is row 1).
"""

import codecs
import csv
import gc
import io
import itertools
import json
import logging
import sys
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from uuid_utils import uuid7 as fast_uuid7
from uuid_utils.compat import uuid7

from accounts.models import User
from clients import audit
from clients.models import Client
from clients.tenancy import scoped_iterator, tenant_scope

from .models import (
    CustomField,
    ImportJob,
    ImportRowError,
    Prospect,
    ProspectEvent,
    ProspectPhone,
    name_key_of,
    search_text_of,
)
from .queries import is_postgres
from .services import active_owners_by_email, custom_field_definitions
from .validation import clean_prospect

logger = logging.getLogger(__name__)

MAX_IMPORT_BYTES = 200 * 1024 * 1024
MAX_FIELD_CHARS = 100_000  # a longer cell makes its row an error, not the whole file
MAX_COLUMNS = 200
MAX_RUNS = 3  # a job whose run died this many times is marked failed
STALE_AFTER = timedelta(minutes=2)  # no heartbeat for this long: the run is dead
PREVIEW_ROWS = 5
UNSTARTED_KEPT = timedelta(days=7)  # an upload never started is forgotten after this
SWITCH_INTERVAL = 0.0002  # seconds; see _Runner.run
GC_THRESHOLD = 10_000  # allocations between young collections during a run (Python's: 700)

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


def _check_text(fileobj) -> None:
    """UTF-8 text without NUL bytes (binary data), read once in 1 MB chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    fileobj.seek(0)
    offset = 0
    for chunk in iter(lambda: fileobj.read(1024 * 1024), b""):
        if (nul := chunk.find(b"\x00")) >= 0:
            raise ValidationError(
                "This is not a CSV file (it contains binary data: a NUL byte at position "
                f"{offset + nul:,})."
            )
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
    _check_text(upload)
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
    audit.record(
        actor=actor,
        action=audit.Action.IMPORT_STARTED,
        target=job,
        changes={"on_duplicate": (None, on_duplicate)},
        counts={"rows": job.total_rows},
    )
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
    # Unrestricted (the task's connection role): the job is looked up by id before its client
    # is known. Everything after this runs in tenant_scope(job.client).
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
            _drop_source(job)
            job.save()
            _audit_end(job)
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
        with transaction.atomic(), tenant_scope(job.client_id):
            failed = (
                ImportJob.objects.select_for_update().filter(pk=job_id, run_token=token).first()
            )
            if failed is not None:  # still this run's job
                failed.status, failed.finished_at = ImportJob.Status.FAILED, timezone.now()
                failed.failure_reason = (
                    f"An unexpected error stopped the import after row "
                    f"{runner.job.processed_rows + 1} ({type(exc).__name__}). "
                    "The rows before it were imported."
                )
                _drop_source(failed)
                failed.save()
                _audit_end(failed)


def _audit_end(job: ImportJob) -> None:
    """One event for the whole job, with its counts (never one per row). The system ends it:
    the person who started it is on the import.started event and the job."""
    done = job.status == ImportJob.Status.DONE
    audit.record(
        actor=None,
        action=audit.Action.IMPORT_FINISHED if done else audit.Action.IMPORT_FAILED,
        target=job,
        changes={"status": (None, job.status)},
        counts={
            "rows": job.processed_rows,
            "created": job.created_count,
            "updated": job.updated_count,
            "skipped": job.skipped_count,
            "errors": job.error_count,
        },
    )


def _drop_source(job: ImportJob) -> None:
    """An ended job's CSV is not needed any more (its rows are prospects or listed errors, and it
    cannot be run again): the record forgets it now and the bytes go once that commits."""
    if job.source.name:
        _delete_on_commit(job.source)
        job.source = ""


def _delete_on_commit(source) -> None:
    name, storage = source.name, source.storage
    if name:
        transaction.on_commit(lambda: storage.delete(name))


@transaction.atomic
def import_delete(*, job: ImportJob, acting_user: User) -> None:
    """Delete an import job with its error report, and its stored CSV once that commits. A job
    that is queued or running is refused: its run would go on writing."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        raise ValidationError(
            "This import is still running. Wait until it ends, then delete it.", code="running"
        )
    _delete_on_commit(job.source)
    audit.record(
        actor=acting_user,
        action=audit.Action.IMPORT_DELETED,
        target=job,
        counts={"created": job.created_count, "errors": job.error_count},
    )
    job.delete()


def imports_forget_sources() -> int:
    """Periodic: delete the files of jobs that ended without forgetting them (a run killed
    between its end and the deletion) and the jobs uploaded but never started within
    UNSTARTED_KEPT. Returns how many files went."""
    ended = ImportJob.objects.filter(
        status__in=(ImportJob.Status.DONE, ImportJob.Status.FAILED)
    ).exclude(source="")
    unstarted = ImportJob.objects.filter(
        status=ImportJob.Status.UPLOADED, created_at__lt=timezone.now() - UNSTARTED_KEPT
    )
    count = 0
    for job in ended:
        with transaction.atomic():
            _drop_source(job)
            job.save(update_fields=["source"])
        count += 1
    for job in unstarted:
        with transaction.atomic():
            _delete_on_commit(job.source)
            job.delete()
        count += 1
    return count


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


@dataclass
class _Checked:
    """One batch of records after validation: what the planner needs, nothing from the DB."""

    records: int
    good: list[tuple[int, dict]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    emails: set[str] = field(default_factory=set)  # the keys its duplicates are found by
    numbers: set[str] = field(default_factory=set)


@dataclass
class _Found:
    """What the database holds for a batch: the prospects its rows duplicate (by id, as dicts
    of _LOADED plus "phones", their numbers among the batch's), and ids for its new rows."""

    rows: dict[int, dict]
    phone_owner: dict[str, int]
    new_ids: list[int]


@dataclass
class _Plan:
    """Everything one batch writes, decided and built (the writer only sends it)."""

    records: int
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    changed_phones: list[tuple[int, str]] = field(default_factory=list)
    # On PostgreSQL: COPY text by table (and for the staging table of the updates), built in
    # the helper thread, so the thread that feeds the database does no per-row work.
    copies: dict[str, str] = field(default_factory=dict)
    # Elsewhere (the ORM's bulk methods): the events and row errors as tuples in
    # COPY_COLUMNS order, the prospects as dicts (their phones and ids follow their insert).
    rows: dict[str, list[tuple]] = field(default_factory=dict)
    new: list[dict] = field(default_factory=list)
    new_phones: list[tuple[dict, str]] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)


class _Runner:
    """Runs an import as a pipeline over batches of rows; while this thread writes batch k:

        helper thread:  read and check batch k+2 (validation), then plan batch k+1 (dedupe
                        against what was looked up, rows built for COPY)
        this thread:    look up batch k+1's duplicates, then write batch k (COPY, UPDATE, commit)

    The helper never touches the database. This thread spends most of its time waiting for
    PostgreSQL, which releases the GIL, so Python work and database work overlap on two
    cores. Batch k+1 is looked up before batch k is written, so the planner keeps the rows of
    the batch it planned last and prefers them to what the database returned."""

    def __init__(self, job: ImportJob, token: uuid.UUID):
        self.job, self.token, self.client = job, token, job.client
        # Every transaction of the run is restricted to the job's client (row-level security):
        # a row planned with another client's id is refused by the database.
        with tenant_scope(self.client):
            self.definitions = custom_field_definitions(self.client)
            self.owners = active_owners_by_email(self.client)
        self.columns = [
            (i, job.mapping[h]) for i, h in enumerate(job.headers) if job.mapping.get(h)
        ]
        self.width = len(job.headers)
        self.batch_size = settings.IMPORT_BATCH_SIZE
        self.writer = ProspectWriter(self.client, job, job.created_by_id)
        self.planner = ImportPlanner(self.client.pk, job, job.created_by_id, self.writer.copy)

    def run(self) -> None:
        # After each database round trip this thread needs the GIL back from the helper;
        # by default it waits up to 5 ms for it, which would serialise the two threads.
        # The setting is process-wide; a worker process runs one task at a time.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        # Each row allocates a few dicts and lists, so the cyclic garbage collector would run
        # every few rows, each time walking everything the worker holds (Django, the
        # batches in flight): a third of the time spent validating. The rows hold no cycles;
        # the objects from before the run are set aside (gc.freeze) and the collector runs
        # less often.
        thresholds = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
        try:
            self._run()
        finally:
            sys.setswitchinterval(interval)
            gc.set_threshold(*thresholds)
            gc.unfreeze()

    def _run(self) -> None:
        with (
            self.job.source.open("rb") as fileobj,
            ThreadPoolExecutor(1, thread_name_prefix="import") as helper,
        ):
            records = iter_records(fileobj, self.job.delimiter)
            for _ in range(self.job.processed_rows):  # resume: skip what is committed
                next(records, None)
            # Only the helper reads the file (its tasks run one after the other).
            batches = iter(lambda: list(itertools.islice(records, self.batch_size)), [])
            checking = helper.submit(self._check_next, batches)
            planning = None  # the plan of the batch before, not written yet
            while True:
                try:
                    checked = checking.result()
                except Exception:
                    if planning is not None:  # keep what was ready before the failure
                        self._commit(planning.result())
                    raise
                if checked is None:
                    break
                checking = helper.submit(self._check_next, batches)
                if planning is not None and not self.writer.copy:
                    # Without COPY the database assigns ids as it writes: write first.
                    self._commit(planning.result())
                    planning = None
                with tenant_scope(self.client):
                    found = self.writer.find(checked)
                upcoming = helper.submit(self.planner.plan, checked, found)
                if planning is not None:
                    self._commit(planning.result())
                planning = upcoming
            self._commit(planning.result() if planning else _Plan(records=0), last=True)

    def _check_next(self, batches) -> "_Checked | None":
        batch = next(batches, None)
        return None if batch is None else self._check(batch)

    def _raw(self, cells: list[str]) -> dict:
        raw: dict = {}
        for index, target in self.columns:
            value = cells[index] if index < len(cells) else ""
            if target == "phones":
                raw["phones"] = f"{raw['phones']};{value}" if raw.get("phones") else value
            else:
                raw[target] = value
        return raw

    def _check(self, batch: list) -> _Checked:
        """Validate a batch (in the helper thread: no database access here)."""
        checked = _Checked(records=len(batch))
        for row_number, cells, error in batch:
            if cells is None:
                checked.errors.append((row_number, error))
                continue
            if not any(c.strip() for c in cells):
                continue  # a blank line
            if len(cells) > self.width:
                checked.errors.append(
                    (
                        row_number,
                        f"The row has {len(cells)} cells but the header has {self.width} columns.",
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
                checked.errors.append((row_number, reasons))
                continue
            checked.good.append((row_number, data))
            if data.get("email"):
                checked.emails.add(data["email"])
            checked.numbers.update(data.get("phones", ()))
        return checked

    def _commit(self, plan: _Plan, *, last: bool = False) -> None:
        with transaction.atomic(), tenant_scope(self.client):
            job = ImportJob.objects.select_for_update().get(pk=self.job.pk)
            if job.run_token != self.token:
                raise _Lost
            self.writer.write(plan)
            job.processed_rows = F("processed_rows") + plan.records
            job.created_count = F("created_count") + plan.created
            job.updated_count = F("updated_count") + plan.updated
            job.skipped_count = F("skipped_count") + plan.skipped
            job.error_count = F("error_count") + len(plan.errors)
            job.heartbeat_at = timezone.now()
            if last:
                job.status, job.finished_at = ImportJob.Status.DONE, timezone.now()
                _drop_source(job)
            job.save()
            job.refresh_from_db()
            self.job = job
            if last:
                _audit_end(job)


# Columns an import sets on a new prospect, with the value a row without them gets.
_NEW_DEFAULTS = {
    "name": "", "organisation": "", "email": "", "address_line1": "", "address_line2": "",
    "city": "", "state": "", "postal_code": "", "country": "", "latitude": None,
    "longitude": None, "status": Prospect.Status.NEW, "owner_id": None, "source": "",
    "tags": [], "notes": "", "custom": {},
}  # fmt: skip
# Columns an import may change on an existing prospect.
UPDATED_COLUMNS = [*_NEW_DEFAULTS, "name_key", "search_text", "updated_by_id", "updated_at"]
_LOADED = ["id", *_NEW_DEFAULTS]  # what a duplicate's merge reads
_COPIED = [c for c in _NEW_DEFAULTS if c not in ("tags", "custom")] + ["name_key", "search_text"]
_INSERTED_COLUMNS = [
    "id", "public_id", *_COPIED, "tags", "custom", "created_by_id", "updated_by_id",
    "import_job_id", "created_at", "updated_at", "client_id",
]  # fmt: skip
_STAGED = [c for c in UPDATED_COLUMNS if c not in ("tags", "custom")]
_STAGE_COLUMNS = [*_STAGED, "tags", "custom"]  # after "id", as ImportPlanner._copy_rows builds them
_PROSPECTS, _PHONES = Prospect._meta.db_table, ProspectPhone._meta.db_table
_EVENTS, _ERRORS = ProspectEvent._meta.db_table, ImportRowError._meta.db_table
_STAGE = "stage"  # the updates, COPYed into a temporary table first
COPY_COLUMNS = {
    _PROSPECTS: _INSERTED_COLUMNS,
    _PHONES: ["client_id", "prospect_id", "number", "digits"],
    _EVENTS: ["client_id", "prospect_id", "kind", "actor_id", "at", "text"],
    _ERRORS: ["client_id", "job_id", "row_number", "reason"],
}


class ImportPlanner:
    """Decides what each row does (create, update a duplicate, skip) and builds the rows to
    write. Pure Python: it runs in the import's helper thread.

    Rows are plain dicts keyed by column, never model instances: at 100,000 rows building
    models costs more than the database does."""

    def __init__(self, client_id: int, job: ImportJob, actor_id: int | None, copy: bool):
        self.client_id, self.job_id, self.actor_id, self.copy = client_id, job.pk, actor_id, copy
        self.job_name = job.original_name
        self.skip = job.on_duplicate == ImportJob.OnDuplicate.SKIP
        # The rows the last plan created or changed, which the database may not hold yet
        # when the next batch is looked up: by id and by "e:email" / "p:number".
        self.recent_ids: dict[int, dict] = {}
        self.recent_keys: dict[str, dict] = {}

    def plan(self, checked: _Checked, found: _Found) -> _Plan:
        plan = _Plan(records=checked.records, errors=checked.errors)
        recent = self.recent_keys
        rows = {pk: self.recent_ids.get(pk, row) for pk, row in found.rows.items()}
        by_email = {row["email"]: row for row in rows.values() if row["email"]}
        new: list[dict] = []
        touched: dict[int, dict] = {}  # id(row) -> row, for every row this plan writes
        seen: dict[str, dict] = {}  # this batch's rows by "e:email" / "p:number"
        new_ids = iter(found.new_ids)

        def duplicate(email: str, phones: list[str], keys: list[str]) -> dict | None:
            # the same email, else the same phone, in the client; else an earlier row
            if email and (match := recent.get(f"e:{email}") or by_email.get(email)):
                return match
            for n in phones:
                if match := recent.get(f"p:{n}"):
                    return match
                if (owner := found.phone_owner.get(n)) is not None:
                    return rows[owner]
            return next((seen[k] for k in keys if k in seen), None)

        for _, data in checked.good:
            phones = data.pop("phones", [])
            email = data.get("email") or ""
            keys = ([f"e:{email}"] if email else []) + [f"p:{n}" for n in phones]
            row = duplicate(email, phones, keys)
            if row is not None and self.skip:
                plan.skipped += 1
                continue
            if row is None:
                row = {**_NEW_DEFAULTS, "phones": set(), "_new": True}
                if self.copy:
                    row["id"] = next(new_ids)
                _merge(row, data, new=True)
                new.append(row)
            else:
                _merge(row, data)
            touched[id(row)] = row
            for n in phones:
                if n not in row["phones"]:
                    row["phones"].add(n)
                    if not row["_new"]:  # it may have the number by now: written with care
                        plan.changed_phones.append((row["id"], n))
            for k in keys:  # later rows with this row's email or phones are the same one
                seen.setdefault(k, row)

        now = timezone.now()
        changed = [row for row in touched.values() if not row["_new"]]
        for row in changed:
            row.update(updated_by_id=self.actor_id, updated_at=now)
        plan.created, plan.updated = len(new), len(changed)
        tables = self._copy_rows(new, changed, now) if self.copy else {}
        event = (ProspectEvent.Kind.IMPORTED, self.actor_id, now, f"Updated from {self.job_name}")
        tables[_EVENTS] = [(self.client_id, row["id"], *event) for row in changed]
        tables[_ERRORS] = [(self.client_id, self.job_id, n, why[:2000]) for n, why in plan.errors]
        if self.copy:
            plan.copies = {table: copy_text(rows) for table, rows in tables.items() if rows}
        else:  # the writer sets each row's id, then writes its phones
            plan.rows = tables
            plan.new = new
            plan.new_phones = [(row, n) for row in new for n in row["phones"]]
            plan.changed = [{c: row[c] for c in ("id", *UPDATED_COLUMNS)} for row in changed]
        # What the next batch must see even if its lookup runs before this plan is written.
        self.recent_ids = {row["id"]: row for row in touched.values() if "id" in row}
        self.recent_keys = {}
        for row in touched.values():
            row["_new"] = False  # from now on a duplicate updates it
            if row["email"]:
                self.recent_keys[f"e:{row['email']}"] = row
            for n in row["phones"]:
                self.recent_keys[f"p:{n}"] = row
        return plan

    def _copy_rows(self, new: list[dict], changed: list[dict], now) -> dict[str, list[tuple]]:
        """The rows COPY writes for new and changed prospects, by table."""
        at = now.isoformat()
        client = self.client_id
        # Values the same for every row become text once; JSON is dumped once per row.
        tail = (self.actor_id, self.actor_id, self.job_id, at, at, client)
        return {
            _PROSPECTS: [
                (row["id"], str(fast_uuid7()), *[row[c] for c in _COPIED], _json(row["tags"]),
                 _json(row["custom"]), *tail)
                for row in new
            ],
            _PHONES: [(client, row["id"], n, n[1:]) for row in new for n in row["phones"]],
            _STAGE: [
                (row["id"], *[row[c] for c in _STAGED], _json(row["tags"]), _json(row["custom"]))
                for row in changed
            ],
        }  # fmt: skip


class ProspectWriter:
    """The database side of an import: finds a batch's duplicates and writes plans.

    On PostgreSQL the plan's COPY text goes into temporary staging tables, then one INSERT ...
    SELECT (or UPDATE ... FROM) per table, under the job's tenant scope; elsewhere (the embedded SQLite default) through the ORM's bulk
    methods."""

    def __init__(self, client: Client, job: ImportJob, actor_id: int | None):
        self.client, self.job, self.actor_id = client, job, actor_id
        self.copy = is_postgres()
        self.sequence: str | None = None

    # --- reading: the duplicates of a batch -------------------------------------------

    def find(self, checked: _Checked) -> _Found:
        """The client's prospects with the same email or phone as a row of the batch."""
        emails, numbers = checked.emails, checked.numbers
        rows = {row["id"]: row for row in self._prospects("email", emails)} if emails else {}
        phone_owner = dict(self._phone_owners(numbers)) if numbers else {}
        missing = set(phone_owner.values()) - set(rows)
        if missing:
            rows.update({row["id"]: row for row in self._prospects("id", missing)})
        for row in rows.values():
            row["phones"], row["_new"] = set(), False
        for number, prospect_id in phone_owner.items():
            rows[prospect_id]["phones"].add(number)
        new_ids = []
        if self.copy and checked.good:
            new_ids = [pk for (pk,) in _fetch(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                [self._sequence(), len(checked.good)],
            )]  # fmt: skip
        return _Found(rows=rows, phone_owner=phone_owner, new_ids=new_ids)

    def _sequence(self) -> str:
        # Looked up once: in the statement it would be evaluated for every id.
        if self.sequence is None:
            (self.sequence,) = _fetch(
                "SELECT pg_get_serial_sequence(%s, 'id')", [Prospect._meta.db_table]
            )[0]
        return self.sequence

    def _prospects(self, column: str, values: set) -> list[dict]:
        """The client's prospects whose `column` is one of `values`, as dicts of _LOADED."""
        if not self.copy:
            scoped = Prospect.objects.for_client(self.client)
            return list(scoped.filter(**{f"{column}__in": values}).values(*_LOADED))
        cast = "::bigint[]" if column == "id" else ""
        rows = _fetch(
            f"SELECT {', '.join(_LOADED)} FROM prospects_prospect"  # noqa: S608 (fixed names)
            f" WHERE client_id = %s AND {column} = ANY({_KEYS}{cast})",
            [self.client.pk, _keys(values)],
        )
        found = [dict(zip(_LOADED, row, strict=True)) for row in rows]
        for row in found:  # Django's connection hands jsonb over as text
            row["tags"], row["custom"] = json.loads(row["tags"]), json.loads(row["custom"])
        return found

    def _phone_owners(self, numbers: set[str]) -> list[tuple[str, int]]:
        if not self.copy:
            phones = ProspectPhone.objects.for_client(self.client).filter(number__in=numbers)
            return list(phones.values_list("number", "prospect_id"))
        return _fetch(
            "SELECT number, prospect_id FROM prospects_prospectphone"  # noqa: S608 (fixed)
            f" WHERE client_id = %s AND number = ANY({_KEYS})",
            [self.client.pk, _keys(numbers)],
        )

    # --- writing ------------------------------------------------------------------------

    def write(self, plan: _Plan) -> None:
        if not self.copy:
            self._orm_write(plan)
            return
        for table, text in plan.copies.items():
            if table == _STAGE:
                update_from_stage(Prospect, self.client, _STAGE_COLUMNS, text)
            else:
                insert_from_stage(table, COPY_COLUMNS[table], text)
        if plan.changed_phones:  # it may have the number by now: no conflict
            ids, numbers = zip(*plan.changed_phones, strict=True)
            _fetch(
                "INSERT INTO prospects_prospectphone (client_id, prospect_id, number, digits)"
                " SELECT %s, u.id, u.number, substr(u.number, 2)"
                " FROM unnest(%b::bigint[], %b::text[]) AS u(id, number)"
                " ON CONFLICT (prospect_id, number) DO NOTHING",
                [self.client.pk, list(ids), list(numbers)],
                rows=False,
            )

    def _orm_write(self, plan: _Plan) -> None:
        client_id = self.client.pk
        if plan.new:
            self._orm_insert(plan.new, timezone.now())
        phones = [(client_id, row["id"], n, n[1:]) for row, n in plan.new_phones]
        self._bulk(ProspectPhone, _PHONES, phones)
        if plan.changed:
            objs = [Prospect(**row) for row in plan.changed]
            Prospect.objects.bulk_update(objs, UPDATED_COLUMNS, batch_size=500)
        if plan.changed_phones:
            objs = [
                ProspectPhone(client_id=client_id, prospect_id=pk, number=n, digits=n[1:])
                for pk, n in plan.changed_phones
            ]
            ProspectPhone.objects.bulk_create(objs, batch_size=1000, ignore_conflicts=True)
        self._bulk(ProspectEvent, _EVENTS, plan.rows.get(_EVENTS, []))
        self._bulk(ImportRowError, _ERRORS, plan.rows.get(_ERRORS, []))

    def _orm_insert(self, rows: list[dict], now) -> None:
        fields = {**_NEW_DEFAULTS, "name_key": "", "search_text": ""}
        objs = [
            Prospect(
                **{c: row[c] for c in fields},
                public_id=uuid7(),
                created_by_id=self.actor_id,
                updated_by_id=self.actor_id,
                import_job_id=self.job.pk,
                created_at=now,
                updated_at=now,
                client_id=self.client.pk,
            )
            for row in rows
        ]
        Prospect.objects.bulk_create(objs, batch_size=500)
        for row, obj in zip(rows, objs, strict=True):
            row["id"] = obj.pk

    @staticmethod
    def _bulk(model, table: str, rows: list[tuple]) -> None:
        columns = COPY_COLUMNS[table]
        objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model.objects.bulk_create(objs, batch_size=1000)


# A batch's lookup keys travel as one text parameter that the server splits: an array
# parameter is dumped element by element in Python, on the thread that feeds the database.
# Emails (validated), E.164 numbers and ids never contain a newline.
_KEYS = "string_to_array(%s, E'\\n')"


def _keys(values: Iterable) -> str:
    return "\n".join(map(str, values))


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False) if value else ("[]" if value == [] else "{}")


def _merge(row: dict, data: dict, *, new: bool = False) -> None:
    """Apply a cleaned CSV row to a prospect's columns. An import updates what its row says and
    leaves the rest: empty cells change nothing, tags are added, custom values merged."""
    for name, value in data.items():
        if name == "tags":
            row["tags"] = row["tags"] + [t for t in value if t not in row["tags"]]
        elif name == "custom":
            row["custom"] = {**row["custom"], **{k: v for k, v in value.items() if v is not None}}
        elif name == "owner":
            if value is not None:
                row["owner_id"] = value.pk
        elif new or (value not in ("", None) and not (name == "status" and value == "new")):
            row[name] = value
    row["name_key"] = name_key_of(row["name"])
    row["search_text"] = search_text_of(row["name_key"], row["organisation"])


# COPY's text format: tab-separated, \N for NULL, backslash escapes for \\, tab, newline and CR.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(rows: Iterable[tuple]) -> str:
    """Rows (tuples) as COPY text. Most lines need no escape, which a few scans of the joined
    line tell: no backslash but those of the NULLs, no newline, a tab only between cells."""
    lines = []
    for row in rows:
        cells = ["\\N" if v is None else v if v.__class__ is str else str(v) for v in row]
        line = "\t".join(cells)
        if (
            line.count("\\") != row.count(None)
            or "\n" in line
            or "\r" in line
            or line.count("\t") != len(cells) - 1
        ):
            line = "\t".join(
                c if v is None else c.translate(_COPY_ESCAPES)
                for c, v in zip(cells, row, strict=True)
            )
        lines.append(line)
    lines.append("")
    return "\n".join(lines)


def copy_text_into(table: str, columns: list[str], text: str) -> None:
    """COPY rows already in COPY text format into a table."""
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy,
    ):
        copy.write(text)


def insert_from_stage(table: str, columns: list[str], text: str) -> None:
    """Insert rows given as COPY text (PostgreSQL): COPY them into a temporary table, then one
    INSERT ... SELECT. PostgreSQL refuses COPY FROM into a table with row-level security for a
    role subject to it (the import runs as opsx_tenant); temporary tables have none, and the
    INSERT checks every row against the client's policy, so a row with another client's id
    fails the batch instead of landing in that client's data."""
    stage = f"{table}_import_new"
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} AS"
        cursor.execute(f"{create} SELECT {names} FROM {table} WITH NO DATA")  # noqa: S608
        copy_text_into(stage, columns, text)
        # TRUNCATE, not ON COMMIT DELETE ROWS: inside a longer transaction (tests) the
        # batches would pile up; nor DELETE: nothing vacuums a temporary table.
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage}; TRUNCATE {stage}"  # noqa: S608
        )


def _fetch(sql: str, params: list, *, rows: bool = True) -> list[tuple]:
    """Run a statement with server-side parameters on Django's connection (PostgreSQL).
    Django quotes parameters into the SQL text in Python, which costs milliseconds per query
    for the thousands of values of a batch; here a list travels as one (binary, %b) array."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if rows else []


def update_from_stage(model, client: Client, columns: list[str], text: str) -> None:
    """Update many rows of one client (PostgreSQL): COPY their new values (COPY text, id
    first, then `columns`) into a temporary table, then one UPDATE ... FROM it. Django's
    bulk_update builds CASE expressions that are slow at this size."""
    table = model._meta.db_table
    stage = f"{table}_import_stage"
    names = ", ".join(connection.ops.quote_name(c) for c in ["id", *columns])
    sets = ", ".join(
        f"{connection.ops.quote_name(c)} = s.{connection.ops.quote_name(c)}" for c in columns
    )
    with connection.cursor() as cursor:
        create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} AS"
        cursor.execute(f"{create} SELECT {names} FROM {table} WITH NO DATA")  # noqa: S608
        copy_text_into(stage, ["id", *columns], text)
        cursor.execute(
            f"UPDATE {table} SET {sets} FROM {stage} s"  # noqa: S608 (names from the model)
            f" WHERE {table}.id = s.id AND {table}.client_id = %s",
            [client.pk],
        )
        cursor.execute(f"TRUNCATE {stage}")  # the next call starts empty


def error_report_rows(job: ImportJob) -> Iterator[list]:
    yield ["row", "reason"]
    # Streamed after the view returned: its own transaction, restricted to the job's client.
    yield from scoped_iterator(
        job.client_id,
        (
            [row_number, reason]
            for row_number, reason in (
                ImportRowError.objects.for_client(job.client_id)
                .filter(job=job)
                .order_by("row_number")
                .values_list("row_number", "reason")
                .iterator(2000)
            )
        ),
    )
