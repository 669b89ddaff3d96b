"""The run of an import: the two-thread pipeline over batches (Runner)."""

import gc
import itertools
import re
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clients.tenancy import tenant_scope

from ..models import CustomField, ImportJob
from ..queries import active_owners_by_email, custom_field_definitions
from ..validation import clean_prospect, is_email, normalise_phone
from .batches import Checked, Plan
from .cells import (
    EXCEL_LOST_DIGITS,
    SCIENTIFIC,
    decimal_comma,
    european_number,
    extension_of,
    normalise_row,
    sources_of,
    split_emails,
    split_phones,
)
from .ending import audit_end, drop_source
from .mapping import BASE_FIELDS
from .planner import ImportPlanner
from .reading import open_records
from .values import VALUE_FIELDS, ValueMapper
from .writer import ProspectWriter

SWITCH_INTERVAL = 0.0002  # seconds; see Runner.run
GC_THRESHOLD = 10_000  # allocations between young collections during a run (Python's: 700)
JOINERS = {"name": " ", "email": ", ", "phones": ";", "tags": ","}  # several columns, one field
SEVERAL = ("email", "phones", "tags")  # fields whose cell may hold several values


def _google_values(field: str, text: str) -> str:
    """Google Contacts puts several values in one cell with " ::: " between them (two mobile
    numbers, the groups “* myContacts ::: Friends”); its “* myContacts” group, which every
    contact is in, is no tag, and the “* ” that marks its own groups goes."""
    parts = (part.strip() for part in text.split(":::"))
    if field == "tags":
        parts = (p.removeprefix("* ") for p in parts if p.casefold() != "* mycontacts")
    return JOINERS[field].join(p for p in parts if p)


# Cells that need no taking apart: one email address as it is, numbers without labels,
# remarks or extensions.
_PLAIN_EMAIL = re.compile(r"[^\s<>,;:()\[\]\"']*")
_PLAIN_PHONES = frozenset("0123456789+ ().-;")


def _refuses(code: str | None) -> bool:
    """Whether a cell's error makes the whole row unusable: sensitive data, or a required
    custom field without a value (the client asks every prospect to have one)."""
    return bool(code) and (code.startswith("sensitive_") or code == "required")


def _shown(value) -> str:
    """A cell's value as the report shows it (the column holds 200 characters)."""
    text = "; ".join(value) if isinstance(value, list) else str(value or "")
    return text if len(text) <= 200 else f"{text[:199]}…"


def _note(raw: dict, line: str) -> None:
    """Add a line to the notes the row brings (what a field cannot hold is kept there)."""
    raw["notes"] = f"{raw['notes']}\n{line}" if raw.get("notes") else line


class Lost(Exception):
    """Another run took the job over (this one was presumed dead)."""


class Runner:
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
        # (field, [(index, header), ...]) in column order: one column for most fields, any
        # number for those that join theirs (MULTI_FIELDS, see _raw).
        fed: dict[str, list] = {}
        for index, header in enumerate(job.headers):
            if job.mapping.get(header):
                fed.setdefault(job.mapping[header], []).append((index, header))
        self.columns = [
            (field, sources[0][0]) for field, sources in fed.items() if len(sources) == 1
        ]
        self.joined = [(field, sources) for field, sources in fed.items() if len(sources) > 1]
        self.values = ValueMapper(job.value_mapping, self.owners)
        # (field, its cells already seen -> our value): one lookup per row and field
        self.mapped = [(field, self.values.seen[field]) for field in VALUE_FIELDS if field in fed]
        self.several = [field for field in SEVERAL if field in fed]
        self.width = len(job.headers)
        self.batch_size = settings.IMPORT_BATCH_SIZE
        self._cell_rules()
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
            records = open_records(self.job, fileobj)
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
            self._commit(planning.result() if planning else Plan(records=0), last=True)

    def _check_next(self, batches) -> "Checked | None":
        batch = next(batches, None)
        return None if batch is None else self._check(batch)

    def _raw(self, cells: list[str]) -> dict:
        """The fields of a row: one cell each, or the non-empty cells of several columns joined
        (a name's parts with spaces, emails with ", ", phones with ";", tags with ",", notes
        one "Header: value" line each), then the file's status, owner and country values
        turned into ours."""
        width = len(cells)
        raw = {field: cells[index] if index < width else "" for field, index in self.columns}
        for field, sources in self.joined:
            if field == "notes":
                raw[field] = "\n".join(
                    f"{header}: {cells[i].strip()}"
                    for i, header in sources
                    if i < width and cells[i].strip()
                )
            else:
                raw[field] = JOINERS[field].join(
                    cells[i].strip() for i, _ in sources if i < width and cells[i].strip()
                )
        for field in self.several:
            if ":::" in raw[field]:
                raw[field] = _google_values(field, raw[field])
        for field, seen in self.mapped:
            text = raw[field]
            raw[field] = seen[text] if text in seen else self.values(field, text)
        return raw

    def _cell_rules(self) -> None:
        """What _check needs to read the cells: the columns by field (for the report), where
        "NA" means Namibia, and the fields whose numbers may have decimal commas."""
        job = self.job
        self.sources = sources_of(job.headers, job.mapping)
        self.country_columns = {
            i for i, h in enumerate(job.headers) if job.mapping.get(h) == "country"
        }
        # (field, how its text is read): coordinates never have a thousands separator, so a
        # comma in one is a decimal comma; numbers have them only in files separated by ";"
        self.number_fields = [
            (field, decimal_comma)
            for field in ("latitude", "longitude")
            if field in job.mapping.values()
        ]
        if job.delimiter == ";":
            self.number_fields += [
                (f"custom.{d.key}", european_number)
                for d in self.definitions
                if d.kind == CustomField.Kind.NUMBER
            ]

    def _check(self, batch: list) -> Checked:
        """Validate a batch (in the helper thread: no database access here). A row is refused
        only for what makes it unusable (no name, sensitive data, a required custom field
        without a value, a row the file does not let us read); any other bad cell is left
        empty and reported as a warning."""
        checked = Checked(records=len(batch))
        country = self.country_columns
        for row_number, row_cells, error in batch:
            if row_cells is None:
                checked.errors.append((row_number, "", "", error))
                continue
            if len(row_cells) > self.width:
                why = f"The row has {len(row_cells)} cells but the header has {self.width} columns."
                checked.errors.append((row_number, "", "", why))
                continue
            raw = self._raw(normalise_row(row_cells, country))
            warnings: list[tuple[str, str, str]] = []
            email, phones = raw.get("email"), raw.get("phones")
            if (
                (email and not _PLAIN_EMAIL.fullmatch(email))
                or (phones and not _PLAIN_PHONES.issuperset(phones))
                or self.number_fields
            ):
                self._tidy(raw, warnings)
            try:  # most rows: at once
                data = clean_prospect(
                    raw, definitions=self.definitions, owners_by_email=self.owners
                )
            except ValidationError:
                data = self._clean(row_number, raw, warnings, checked)
                if data is None:
                    continue
            checked.good.append((row_number, data, warnings))
            if data.get("email"):
                checked.emails.add(data["email"])
            checked.numbers.update(data.get("phones", ()))
        return checked

    def _tidy(self, raw: dict, warnings: list) -> None:
        """Emails and phones as people write them, decimal commas: what clean_prospect reads."""
        email = raw.get("email")
        if email and not _PLAIN_EMAIL.fullmatch(email):
            found = split_emails(email)
            valid = [e for e in found if is_email(e)]
            if valid:
                raw["email"] = valid[0]
                if len(found) > 1:
                    _note(raw, "Other emails: " + ", ".join(e for e in found if e != valid[0]))
        phones = raw.get("phones")
        if phones and not _PLAIN_PHONES.issuperset(phones):
            numbers = []
            for number in split_phones(phones):
                if SCIENTIFIC.match(number):
                    reason = EXCEL_LOST_DIGITS.format(value=number)
                    warnings.append((self._column("phones"), number, reason))
                    continue
                number, extension = extension_of(number)
                if extension:
                    _note(raw, f"Phone {number} ext. {extension}")
                numbers.append(number)
            raw["phones"] = numbers
        for field, read in self.number_fields:
            if raw.get(field):
                raw[field] = read(raw[field])

    def _clean(self, row_number: int, raw: dict, warnings: list, checked: Checked) -> dict | None:
        """clean_prospect's data for a row it refused as it is: its bad optional cells left
        out (and listed in `warnings`), or None when the row is refused (listed in
        `checked.errors`)."""
        for _ in range(len(raw) + 1):  # each round leaves out at least one field
            try:
                return clean_prospect(
                    raw, definitions=self.definitions, owners_by_email=self.owners
                )
            except ValidationError as exc:
                problems = exc.error_dict
            refused = {f: e[0] for f, e in problems.items() if f == "name" or _refuses(e[0].code)}
            if refused:
                self._refuse(row_number, raw, refused, checked)
                return None
            for field, errors in problems.items():
                if field != "phones":
                    message = " ".join(m for e in errors for m in e.messages)
                    warnings.append((self._column(field), _shown(raw.pop(field, "")), message))
            if "phones" in problems:
                raw["phones"] = self._good_numbers(raw, warnings)
        raise AssertionError("clean_prospect kept refusing fields it was not given")

    def _good_numbers(self, raw: dict, warnings: list) -> list[str]:
        """The numbers of the row that are valid (with the row's country, if it has a valid
        one); each other one is reported."""
        phones = raw["phones"]
        parts = phones if isinstance(phones, list) else split_phones(phones)
        region = str(raw.get("country") or "").strip().upper()
        region = region if region in phonenumbers.SUPPORTED_REGIONS else None
        good = []
        for part in parts:
            try:
                normalise_phone(part, region)
            except ValidationError as exc:
                warnings.append((self._column("phones"), _shown(part), exc.messages[0]))
            else:
                good.append(part)
        return good

    def _refuse(self, row_number: int, raw: dict, refused: dict, checked: Checked) -> None:
        reason = "; ".join(
            f"{BASE_FIELDS.get(f, f.removeprefix('custom.'))}: {' '.join(e.messages)}"
            for f, e in refused.items()
        )
        column = value = ""
        if len(refused) == 1:
            ((field, error),) = refused.items()
            column = self._column(field)
            if not (error.code or "").startswith("sensitive_"):  # never copy such data
                value = _shown(raw.get(field))
        checked.errors.append((row_number, column, value, reason))

    def _column(self, field: str) -> str:
        return self.sources.get(field) or BASE_FIELDS.get(field, field.removeprefix("custom."))

    def _commit(self, plan: Plan, *, last: bool = False) -> None:
        with transaction.atomic(), tenant_scope(self.client):
            job = ImportJob.objects.select_for_update().get(pk=self.job.pk)
            if job.run_token != self.token:
                raise Lost
            self.writer.write(plan)
            job.processed_rows = F("processed_rows") + plan.records
            job.created_count = F("created_count") + plan.created
            job.updated_count = F("updated_count") + plan.updated
            job.merged_count = F("merged_count") + plan.merged
            job.skipped_count = F("skipped_count") + plan.skipped
            job.error_count = F("error_count") + plan.refused
            job.warned_count = F("warned_count") + plan.warned
            job.heartbeat_at = timezone.now()
            if last:
                job.status, job.finished_at = ImportJob.Status.DONE, timezone.now()
                drop_source(job)
            job.save()
            job.refresh_from_db()
            self.job = job
            if last:
                audit_end(job)
