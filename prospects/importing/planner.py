"""ImportPlanner: what each row of a batch does, and the rows it writes."""

import itertools

from django.utils import timezone
from uuid_utils import uuid7 as fast_uuid7

from opsx.bulk import copy_text, json_text

from ..models import ImportJob, ImportRowError, ProspectEvent
from .batches import Checked, Found, Plan
from .cells import names_agree, sources_of
from .writer import (
    COPIED,
    ERRORS,
    EVENTS,
    NEW_DEFAULTS,
    PHONES,
    PROSPECTS,
    STAGE,
    STAGED,
    UPDATED_COLUMNS,
    merge,
)

REFUSED, WARNING = ImportRowError.Level.REFUSED.value, ImportRowError.Level.WARNING.value
# The prospects holding one phone number that a row is compared with (names_agree): a number
# held by more (a company's switchboard on thousands of rows) is matched among its first ones.
MAX_HOLDERS = 50


class ImportPlanner:
    """Decides what each row does (create, update a duplicate, merge into a prospect this run
    already wrote, skip) and builds the rows to write, the row report's included. Pure
    Python: it runs in the import's helper thread.

    Rows are plain dicts keyed by column, never model instances: at 100,000 rows building
    models costs more than the database does."""

    def __init__(self, client_id: int, job: ImportJob, actor_id: int | None, copy: bool):
        self.client_id, self.job_id, self.actor_id, self.copy = client_id, job.pk, actor_id, copy
        self.job_name = job.original_name
        self.skip = job.on_duplicate == ImportJob.OnDuplicate.SKIP
        self.phones_column = sources_of(job.headers, job.mapping).get("phones", "")
        # The rows the last plan created or changed, which the database may not hold yet
        # when the next batch is looked up: by id, by email and by number.
        self.recent_ids: dict[int, dict] = {}
        self.recent_keys: dict[str, dict] = {}
        self.recent_phones: dict[str, list[dict]] = {}
        # Existing prospects this run updated: a later row for one of them is merged into it.
        # (A run resumed after a crash forgets them; its rows then count as updated again.)
        self.updated_ids: set[int] = set()

    def plan(self, checked: Checked, found: Found) -> Plan:
        plan = Plan(records=checked.records, refused=len(checked.errors))
        plan.errors = [(n, REFUSED, column, value, why) for n, column, value, why in checked.errors]
        recent, recent_phones = self.recent_keys, self.recent_phones
        rows = {pk: self.recent_ids.get(pk, row) for pk, row in found.rows.items()}
        by_email = {row["email"]: row for row in rows.values() if row["email"]}
        owners = found.phone_owners
        new: list[dict] = []
        touched: dict[int, dict] = {}  # id(row) -> row, for every row this plan writes
        seen: dict[str, dict] = {}  # this batch's rows by email
        seen_phones: dict[str, list[dict]] = {}  # and by number
        new_ids = iter(found.new_ids)

        def holders(number: str) -> list[dict]:
            # the prospects with this number (of the last plan, in the client, of this
            # batch), at most MAX_HOLDERS: a switchboard's number on thousands of rows would
            # otherwise have every row compared with every other
            every = itertools.chain(
                recent_phones.get(number, ()),
                (rows[pk] for pk in owners.get(number, ())),
                seen_phones.get(number, ()),
            )
            unique: dict[int, dict] = {}
            for row in every:
                unique.setdefault(id(row), row)
                if len(unique) == MAX_HOLDERS:
                    break
            return list(unique.values())

        def duplicate(email: str, phones: list[str], name: str) -> dict | None:
            # the same email (as before: whatever the name), else the same number held by a
            # prospect whose name agrees (a shop's landline is not one person)
            if email and (match := recent.get(email) or by_email.get(email) or seen.get(email)):
                return match
            for n in phones:
                for row in holders(n):
                    if names_agree(row["name"], name):
                        return row
            return None

        for row_number, data, warnings in checked.good:
            phones = data.pop("phones", [])
            email = data.get("email") or ""
            row = duplicate(email, phones, data["name"])
            if row is not None and self.skip:
                plan.skipped += 1
                continue
            shared = [(n, self._shared(n, data["name"], row, holders(n))) for n in phones]
            if row is None:
                row = {**NEW_DEFAULTS, "phones": set(), "_new": True, "_row": row_number}
                if self.copy:
                    row["id"] = next(new_ids)
                merge(row, data, new=True)
                new.append(row)
            else:
                earlier = (  # this run created or updated it already
                    row.get("_touched")
                    or row.get("import_job_id") == self.job_id
                    or row["id"] in self.updated_ids
                )
                if earlier:
                    plan.merged += 1
                else:
                    plan.updated += 1
                    self.updated_ids.add(row["id"])
                merge(row, data)
            row["_touched"] = True
            touched[id(row)] = row
            for n in phones:
                if n not in row["phones"]:
                    row["phones"].add(n)
                    if not row["_new"]:  # it may have the number by now: written with care
                        plan.changed_phones.append((row["id"], n))
                    seen_phones.setdefault(n, []).append(row)
            if email:  # later rows with this row's email are the same one
                seen.setdefault(email, row)
            warnings += [(self.phones_column, n, why) for n, why in shared if why]
            if warnings:
                plan.warned += 1
                plan.errors += [(row_number, WARNING, *warning) for warning in warnings]

        now = timezone.now()
        changed = [row for row in touched.values() if not row["_new"]]
        for row in changed:
            row.update(updated_by_id=self.actor_id, updated_at=now)
        plan.created = len(new)
        tables = self._copy_rows(new, changed, now) if self.copy else {}
        event = (ProspectEvent.Kind.IMPORTED, self.actor_id, now, f"Updated from {self.job_name}")
        tables[EVENTS] = [(self.client_id, row["id"], *event) for row in changed]
        tables[ERRORS] = [
            (self.client_id, self.job_id, n, level, column[:255], value[:200], why[:2000])
            for n, level, column, value, why in plan.errors
        ]
        if self.copy:
            plan.copies = {table: copy_text(rows) for table, rows in tables.items() if rows}
        else:  # the writer sets each row's id, then writes its phones
            plan.rows = tables
            plan.new = new
            plan.new_phones = [(row, n) for row in new for n in row["phones"]]
            plan.changed = [{c: row[c] for c in ("id", *UPDATED_COLUMNS)} for row in changed]
        # What the next batch must see even if its lookup runs before this plan is written.
        self.recent_ids = {row["id"]: row for row in touched.values() if "id" in row}
        self.recent_keys, self.recent_phones = {}, {}
        for row in touched.values():
            row["_new"] = False  # from now on a duplicate updates it
            if row["email"]:
                self.recent_keys[row["email"]] = row
            for n in row["phones"]:
                self.recent_phones.setdefault(n, []).append(row)
        return plan

    def _shared(self, number: str, name: str, row: dict | None, holders: list[dict]) -> str:
        """The warning for a number another person's prospect has too ("" if none has)."""
        for other in holders:
            if other is not row and not names_agree(other["name"], name):
                if "_row" in other:
                    where = f"row {other['_row']} of this file"
                elif other.get("import_job_id") == self.job_id:
                    where = "an earlier row of this file"
                else:
                    where = "already a prospect"
                return (
                    f"{number} is also the number of {other['name']} ({where}); the names "
                    "differ, so both were kept, each with this number."
                )
        return ""

    def _copy_rows(self, new: list[dict], changed: list[dict], now) -> dict[str, list[tuple]]:
        """The rows COPY writes for new and changed prospects, by table."""
        at = now.isoformat()
        client = self.client_id
        # Values the same for every row become text once; JSON is dumped once per row.
        tail = (self.actor_id, self.actor_id, self.job_id, at, at, client)
        return {
            PROSPECTS: [
                (row["id"], str(fast_uuid7()), *[row[c] for c in COPIED], json_text(row["tags"]),
                 json_text(row["custom"]), *tail)
                for row in new
            ],
            PHONES: [(client, row["id"], n, n[1:]) for row in new for n in row["phones"]],
            STAGE: [
                (row["id"], *[row[c] for c in STAGED], json_text(row["tags"]), json_text(row["custom"]))
                for row in changed
            ],
        }  # fmt: skip
