"""Client Data: prospects and everything field staff attach to them.

Every model here is a TenantModel (a direct `client` key) and is reached through
`Model.objects.for_client(client)` or an access helper in queries.py.
"""

import uuid

from django.conf import settings
from django.db import models
from uuid_utils.compat import uuid7

from clients.models import Client, TenantModel


def _provenance_key(to: str, **options) -> models.ForeignKey:
    """A key saying who or what made a row, read one row at a time: no index, and no database
    constraint (each costs a check per inserted row, half of an import's commit). Django still
    sets it to NULL when the user or the import is deleted (on_delete)."""
    return models.ForeignKey(
        to,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        **options,
    )


class Prospect(TenantModel):
    """A person or business the client sells to."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        CONTACTED = "contacted", "Contacted"
        INTERESTED = "interested", "Interested"
        CUSTOMER = "customer", "Customer"
        LOST = "lost", "Lost"

    # Every index costs each insert; these keys are covered by the composite indexes below
    # (which all start with client), or only looked up when a user or an import is deleted.
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Time-ordered (UUIDv7): new ids land at the end of the unique index instead of on a random
    # page of it, which keeps a 100,000-row import's index writes sequential.
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    name = models.CharField(max_length=200)
    organisation = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True)  # stored lower-case
    address_line1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code, e.g. IN")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    source = models.CharField(max_length=100, blank=True)
    tags = models.JSONField(default=list, blank=True)  # short lower-case labels
    notes = models.TextField(blank=True)
    # Values of the client's CustomField definitions, by key, validated by services.
    custom = models.JSONField(default=dict, blank=True)
    # Derived by services from the fields above: the name as it sorts, and the text searched
    # for any part of a name or organisation (emails are searched by their start, see queries).
    name_key = models.CharField(max_length=200, editable=False, default="")
    search_text = models.TextField(editable=False, default="")
    # Who and which import made it (the timeline says "imported from ...").
    created_by = _provenance_key(settings.AUTH_USER_MODEL)
    updated_by = _provenance_key(settings.AUTH_USER_MODEL)
    import_job = _provenance_key("ImportJob", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The id of the transaction that last wrote the row, set by a PostgreSQL trigger on every
    # insert and update (migration 0013), whoever writes it (a service, the import's COPY, a
    # bulk update): the mobile app's sync cursor and the version an offline edit is based on.
    sync_txid = models.BigIntegerField(default=0, editable=False)

    class Meta:
        # Keyset pagination walks these. On PostgreSQL migrations 0003 and 0006 add the name
        # and updated_at ones: with search_text (and, by name, status and owner) included, a
        # search or a filtered list in that order is an index-only scan. Search and JSON
        # indexes are PostgreSQL-only too (migration 0002).
        indexes = [
            models.Index(fields=["client", "created_at", "id"], name="prospect_created_idx"),
            models.Index(fields=["client", "owner", "sync_txid", "id"], name="prospect_sync_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def address_lines(self) -> list[str]:
        """The postal address as it is written on an envelope, without its empty lines."""
        town = " ".join(filter(None, [self.postal_code, self.city]))
        town = ", ".join(filter(None, [town, self.state]))
        lines = [self.address_line1, self.address_line2, town, self.country]
        return [line for line in lines if line]

    def refresh_derived(self) -> None:
        self.email = self.email.strip().lower()
        self.name_key = name_key_of(self.name)
        self.search_text = search_text_of(self.name_key, self.organisation)


def name_key_of(name: str) -> str:
    """How a prospect's name sorts."""
    return name.strip().lower()[:200]


def search_text_of(name_key: str, organisation: str) -> str:
    """What the trigram index holds for a prospect: its name as sorted, then its organisation."""
    organisation = organisation.lower()
    return f"{name_key} {organisation}" if organisation else name_key


class ProspectPhone(TenantModel):
    """One phone number of a prospect, in E.164, so the same number typed two ways is equal."""

    # Both keys lead an index already (phone_number_idx and the unique constraint). The client is
    # always the prospect's (whose key is checked), so it needs no database check of its own.
    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    prospect = models.ForeignKey(
        Prospect, on_delete=models.CASCADE, related_name="phones", db_index=False
    )
    number = models.CharField(max_length=20)  # E.164, e.g. +919876543210
    digits = models.CharField(max_length=20)  # the same without "+", searched by any part

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prospect", "number"], name="phone_unique_per_prospect")
        ]
        indexes = [models.Index(fields=["client", "number"], name="phone_number_idx")]

    def __str__(self) -> str:
        return self.number


class CustomField(TenantModel):
    """A field a client admin adds to their prospects ("any information you choose")."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        BOOLEAN = "boolean", "Yes/no"
        CHOICE = "choice", "Choice"

    key = models.SlugField(max_length=40, help_text="Used in CSV headers and filters.")
    label = models.CharField(max_length=80)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    choices = models.JSONField(default=list, blank=True)  # for kind=choice
    required = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="customfield_key_per_client")
        ]

    def __str__(self) -> str:
        return self.label


class Checklist(TenantModel):
    """A list of things to do or record on a visit, defined by a client admin."""

    class ItemKind(models.TextChoices):
        CHECK = "check", "Done / not done"
        NUMBER = "number", "Number"
        TEXT = "text", "Text"
        PHOTO = "photo", "Photo"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    # [{"key": "shelf", "label": "Shelf photo", "kind": "photo", "required": true}, ...]
    items = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Visit(TenantModel):
    """A planned or done visit by a user to a prospect, with its report."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "Checked in"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Outcome(models.TextChoices):
        NONE = "", "—"
        POSITIVE = "positive", "Positive"
        FOLLOW_UP = "follow_up", "Follow-up needed"
        ORDER = "order", "Order taken"
        NO_INTEREST = "no_interest", "Not interested"
        NOT_MET = "not_met", "Could not meet"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    prospect = models.ForeignKey(Prospect, on_delete=models.CASCADE, related_name="visits")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNED)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    check_in_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    check_in_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    check_out_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    check_out_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    report = models.TextField(blank=True)
    checklist = models.ForeignKey(Checklist, on_delete=models.SET_NULL, null=True, blank=True)
    answers = models.JSONField(default=dict, blank=True)  # checklist item key -> answer
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sync_txid = models.BigIntegerField(default=0, editable=False)  # as Prospect.sync_txid

    class Meta:
        indexes = [
            models.Index(fields=["client", "prospect", "scheduled_at"], name="visit_prospect_idx"),
            models.Index(fields=["client", "user", "scheduled_at"], name="visit_user_idx"),
            models.Index(fields=["client", "user", "sync_txid", "id"], name="visit_sync_idx"),
        ]

    def __str__(self) -> str:
        return f"Visit to {self.prospect_id}"


MAX_FOLDER_DEPTH = 20


class Folder(TenantModel):
    """A folder of the client's document library; folders nest (MAX_FOLDER_DEPTH deep)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    # The public ids of the folders above it, top first, each followed by "/". The breadcrumb is
    # one query by these ids, and a folder's subtree is the folders whose ancestry starts with
    # its own ancestry and id: one query too, however deep.
    ancestry = models.CharField(max_length=MAX_FOLDER_DEPTH * 37, editable=False, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "parent", "name"],
                condition=models.Q(parent__isnull=False),
                name="folder_name_unique_in_parent",
            ),
            models.UniqueConstraint(
                fields=["client", "name"],
                condition=models.Q(parent__isnull=True),
                name="folder_name_unique_at_top",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def ancestor_ids(self) -> list[str]:
        return self.ancestry.split("/")[:-1]

    @property
    def subtree_prefix(self) -> str:
        """What the ancestry of every folder below this one starts with."""
        return f"{self.ancestry}{self.public_id}/"


def _blob_path(instance, filename) -> str:
    # A random name: nothing about the file or its owner can be guessed from the path.
    return f"client-files/{instance.client.public_id}/{uuid.uuid4().hex}"


class StoredFile(TenantModel):
    """A file in the library (folder) or attached to a prospect or a visit."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=255)  # the name the user gave it
    content_type = models.CharField(max_length=100)  # detected from the content
    size = models.PositiveBigIntegerField()
    blob = models.FileField(upload_to=_blob_path, max_length=200)
    folder = models.ForeignKey(
        Folder, on_delete=models.CASCADE, null=True, blank=True, related_name="files"
    )
    prospect = models.ForeignKey(
        Prospect, on_delete=models.CASCADE, null=True, blank=True, related_name="files"
    )
    visit = models.ForeignKey(
        Visit, on_delete=models.CASCADE, null=True, blank=True, related_name="files"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["client", "folder", "name"], name="file_folder_idx"),
            models.Index(fields=["client", "prospect", "created_at"], name="file_prospect_idx"),
        ]
        constraints = [
            # A library file is not also a prospect's attachment.
            models.CheckConstraint(
                condition=models.Q(folder__isnull=True) | models.Q(prospect__isnull=True),
                name="file_in_folder_or_attached",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ProspectEvent(TenantModel):
    """One line of a prospect's timeline: what happened, who did it, when."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        STATUS = "status", "Status changed"
        NOTE = "note", "Note"
        VISIT_PLANNED = "visit_planned", "Visit planned"
        VISIT_CHECKED_IN = "visit_in", "Checked in"
        VISIT_DONE = "visit_done", "Visit report"
        FILE = "file", "File added"
        IMPORTED = "imported", "Imported"

    # event_timeline_idx starts with the client, so the key needs no index of its own.
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+", db_index=False)
    prospect = models.ForeignKey(Prospect, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField()
    text = models.TextField(blank=True)  # a note's body, a report, a status change
    visit = models.ForeignKey(
        Visit, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    file = models.ForeignKey(
        StoredFile, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["client", "prospect", "-at"], name="event_timeline_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.prospect_id}"


class ImportJob(TenantModel):
    """A CSV import: uploaded, mapped, then run by a Celery task in batches that can resume."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Waiting for column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Format(models.TextChoices):
        CSV = "csv", "CSV or text file"
        XLSX = "xlsx", "Excel workbook"
        VCF = "vcf", "vCard address book"

    class OnDuplicate(models.TextChoices):
        UPDATE = "update", "Update the existing prospect"
        SKIP = "skip", "Skip the row"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    source = models.FileField(upload_to=_blob_path, max_length=200)
    original_name = models.CharField(max_length=255)
    # How the stored file is read (detected at upload; the person may change encoding,
    # header row and sheet on the mapping page, which reads the file again).
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.CSV)
    encoding = models.CharField(max_length=40, default="utf-8")  # a Python codec name; CSV only
    delimiter = models.CharField(max_length=1, default=",")
    sheet = models.CharField(max_length=100, blank=True)  # .xlsx: the sheet read
    sheets = models.JSONField(default=list, blank=True)  # .xlsx: every sheet's name
    header_row = models.PositiveIntegerField(default=1)  # the file's row naming the columns
    # Column names as shown and mapped: blank ones named "Column N", repeated ones numbered.
    headers = models.JSONField(default=list)
    # Per column, from reading the whole file at upload: {"filled": rows with a value,
    # "values": [[value, rows], ...] the most frequent distinct values, "more": bool}.
    column_stats = models.JSONField(default=dict, blank=True)
    # The data rows column_stats was computed from: all of them for CSV; the first
    # SURVEY_ROWS of a large workbook or address book (reading those is slow: the rest are
    # counted, not read, at upload, and their values guessed as the rows are imported).
    surveyed_rows = models.PositiveIntegerField(default=0)
    # column header -> prospect field; several columns may feed name, email, phones, notes, tags
    mapping = models.JSONField(default=dict, blank=True)
    # field -> {value as found (casefolded) -> our value, "" = leave empty}: status, owner, country
    value_mapping = models.JSONField(default=dict, blank=True)
    on_duplicate = models.CharField(
        max_length=6, choices=OnDuplicate.choices, default=OnDuplicate.UPDATE
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    # Rows handled and committed so far; a resumed run starts after them.
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    # rows that went into a prospect an earlier row of the same file created or updated
    merged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)  # rows refused (not imported)
    warned_count = models.PositiveIntegerField(default=0)  # rows imported with warnings
    # The run that holds the job; a stale heartbeat lets the watchdog hand it to a new run.
    run_token = models.UUIDField(null=True, blank=True)
    runs = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["client", "-created_at"], name="import_client_idx"),
            models.Index(
                fields=["heartbeat_at"],
                condition=models.Q(status__in=["queued", "running"]),
                name="import_active_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Import {self.original_name}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0


class ImportRowError(TenantModel):
    # Rows are read by job (import_error_row_idx); a key of their own would only slow imports.
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+", db_index=False)
    job = models.ForeignKey(
        ImportJob, on_delete=models.CASCADE, related_name="row_errors", db_index=False
    )

    class Level(models.TextChoices):
        REFUSED = "refused", "Row not imported"
        WARNING = "warning", "Imported, cell left empty"

    row_number = models.PositiveIntegerField()  # the row in the file (the header's + 1 onward)
    reason = models.TextField()
    level = models.CharField(max_length=7, choices=Level.choices, db_default=Level.REFUSED)
    column = models.CharField(
        max_length=255, blank=True, db_default=""
    )  # the column's header, if one cell
    value = models.CharField(
        max_length=200, blank=True, db_default=""
    )  # that cell's value, shortened

    class Meta:
        ordering = ["row_number"]
        indexes = [models.Index(fields=["job", "row_number"], name="import_error_row_idx")]

    def __str__(self) -> str:
        return f"Row {self.row_number}: {self.reason}"


class SyncTombstone(TenantModel):
    """A prospect or visit that left a user's synced set: deleted, or given to someone else.
    Written by PostgreSQL triggers (migration 0013), so no way of deleting or reassigning is
    missed; the mobile app's sync pull hands them out so the phone drops its copy. Deleted
    after PROSPECTS_TOMBSTONE_DAYS (a phone that has not synced for longer pulls everything)."""

    class Kind(models.TextChoices):
        PROSPECT = "prospect", "Prospect"
        VISIT = "visit", "Visit"

    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    # Whose set it left. No database constraint: the trigger writes it while Django may be
    # deleting the user in the same transaction (erasure); Django's own cascade removes it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    public_id = models.UUIDField()
    sync_txid = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["client", "user", "sync_txid", "id"], name="tombstone_sync_idx"),
            models.Index(fields=["created_at"], name="tombstone_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"
