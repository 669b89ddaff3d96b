"""The database side of an import: the columns it writes and ProspectWriter."""

import json

from django.utils import timezone
from uuid_utils.compat import uuid7

from clients.models import Client
from opsx.bulk import KEYS, fetch, insert_from_stage, keys, update_from_stage

from ..models import (
    ImportJob,
    ImportRowError,
    Prospect,
    ProspectEvent,
    ProspectPhone,
    name_key_of,
    search_text_of,
)
from ..queries import is_postgres
from .batches import Checked, Found, Plan

# Columns an import sets on a new prospect, with the value a row without them gets.
NEW_DEFAULTS = {
    "name": "", "organisation": "", "email": "", "address_line1": "", "address_line2": "",
    "city": "", "state": "", "postal_code": "", "country": "", "latitude": None,
    "longitude": None, "status": Prospect.Status.NEW, "owner_id": None, "source": "",
    "tags": [], "notes": "", "custom": {},
}  # fmt: skip
# Columns an import may change on an existing prospect.
UPDATED_COLUMNS = [*NEW_DEFAULTS, "name_key", "search_text", "updated_by_id", "updated_at"]
# What a duplicate's merge reads, and whether this job created it (a later row merges into it).
_LOADED = ["id", *NEW_DEFAULTS, "import_job_id"]
COPIED = [c for c in NEW_DEFAULTS if c not in ("tags", "custom")] + ["name_key", "search_text"]
_INSERTED_COLUMNS = [
    "id", "public_id", *COPIED, "tags", "custom", "created_by_id", "updated_by_id",
    "import_job_id", "created_at", "updated_at", "client_id",
]  # fmt: skip
STAGED = [c for c in UPDATED_COLUMNS if c not in ("tags", "custom")]
_STAGE_COLUMNS = [*STAGED, "tags", "custom"]  # after "id", as ImportPlanner._copy_rows builds them
PROSPECTS, PHONES = Prospect._meta.db_table, ProspectPhone._meta.db_table
EVENTS, ERRORS = ProspectEvent._meta.db_table, ImportRowError._meta.db_table
STAGE = "stage"  # the updates, COPYed into a temporary table first
COPY_COLUMNS = {
    PROSPECTS: _INSERTED_COLUMNS,
    PHONES: ["client_id", "prospect_id", "number", "digits"],
    EVENTS: ["client_id", "prospect_id", "kind", "actor_id", "at", "text"],
    ERRORS: ["client_id", "job_id", "row_number", "level", "column", "value", "reason"],
}


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

    def find(self, checked: Checked) -> Found:
        """The client's prospects with the same email or phone as a row of the batch."""
        emails, numbers = checked.emails, checked.numbers
        rows = {row["id"]: row for row in self._prospects("email", emails)} if emails else {}
        phone_owners: dict[str, list[int]] = {}
        for number, prospect_id in self._phone_owners(numbers) if numbers else ():
            phone_owners.setdefault(number, []).append(prospect_id)
        missing = {pk for ids in phone_owners.values() for pk in ids} - set(rows)
        if missing:
            rows.update({row["id"]: row for row in self._prospects("id", missing)})
        for row in rows.values():
            row["phones"], row["_new"] = set(), False
        for number, ids in phone_owners.items():
            for prospect_id in ids:
                rows[prospect_id]["phones"].add(number)
        new_ids = []
        if self.copy and checked.good:
            new_ids = [pk for (pk,) in fetch(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                [self._sequence(), len(checked.good)],
            )]  # fmt: skip
        return Found(rows=rows, phone_owners=phone_owners, new_ids=new_ids)

    def _sequence(self) -> str:
        # Looked up once: in the statement it would be evaluated for every id.
        if self.sequence is None:
            (self.sequence,) = fetch(
                "SELECT pg_get_serial_sequence(%s, 'id')", [Prospect._meta.db_table]
            )[0]
        return self.sequence

    def _prospects(self, column: str, values: set) -> list[dict]:
        """The client's prospects whose `column` is one of `values`, as dicts of _LOADED."""
        if not self.copy:
            scoped = Prospect.objects.for_client(self.client)
            return list(scoped.filter(**{f"{column}__in": values}).values(*_LOADED))
        cast = "::bigint[]" if column == "id" else ""
        rows = fetch(
            f"SELECT {', '.join(_LOADED)} FROM prospects_prospect"  # noqa: S608 (fixed names)
            f" WHERE client_id = %s AND {column} = ANY({KEYS}{cast})",
            [self.client.pk, keys(values)],
        )
        found = [dict(zip(_LOADED, row, strict=True)) for row in rows]
        for row in found:  # Django's connection hands jsonb over as text
            row["tags"], row["custom"] = json.loads(row["tags"]), json.loads(row["custom"])
        return found

    def _phone_owners(self, numbers: set[str]) -> list[tuple[str, int]]:
        if not self.copy:
            phones = ProspectPhone.objects.for_client(self.client).filter(number__in=numbers)
            return list(phones.values_list("number", "prospect_id"))
        return fetch(
            "SELECT number, prospect_id FROM prospects_prospectphone"  # noqa: S608 (fixed)
            f" WHERE client_id = %s AND number = ANY({KEYS})",
            [self.client.pk, keys(numbers)],
        )

    # --- writing ------------------------------------------------------------------------

    def write(self, plan: Plan) -> None:
        if not self.copy:
            self._orm_write(plan)
            return
        for table, text in plan.copies.items():
            if table == STAGE:
                update_from_stage(Prospect, self.client, _STAGE_COLUMNS, text)
            else:
                insert_from_stage(table, COPY_COLUMNS[table], text)
        if plan.changed_phones:  # it may have the number by now: no conflict
            ids, numbers = zip(*plan.changed_phones, strict=True)
            fetch(
                "INSERT INTO prospects_prospectphone (client_id, prospect_id, number, digits)"
                " SELECT %s, u.id, u.number, substr(u.number, 2)"
                " FROM unnest(%b::bigint[], %b::text[]) AS u(id, number)"
                " ON CONFLICT (prospect_id, number) DO NOTHING",
                [self.client.pk, list(ids), list(numbers)],
                rows=False,
            )

    def _orm_write(self, plan: Plan) -> None:
        client_id = self.client.pk
        if plan.new:
            self._orm_insert(plan.new, timezone.now())
        phones = [(client_id, row["id"], n, n[1:]) for row, n in plan.new_phones]
        self._bulk(ProspectPhone, PHONES, phones)
        if plan.changed:
            objs = [Prospect(**row) for row in plan.changed]
            Prospect.objects.bulk_update(objs, UPDATED_COLUMNS, batch_size=500)
        if plan.changed_phones:
            objs = [
                ProspectPhone(client_id=client_id, prospect_id=pk, number=n, digits=n[1:])
                for pk, n in plan.changed_phones
            ]
            ProspectPhone.objects.bulk_create(objs, batch_size=1000, ignore_conflicts=True)
        self._bulk(ProspectEvent, EVENTS, plan.rows.get(EVENTS, []))
        self._bulk(ImportRowError, ERRORS, plan.rows.get(ERRORS, []))

    def _orm_insert(self, rows: list[dict], now) -> None:
        fields = {**NEW_DEFAULTS, "name_key": "", "search_text": ""}
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


def merge(row: dict, data: dict, *, new: bool = False) -> None:
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
