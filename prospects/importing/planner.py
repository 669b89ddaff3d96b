"""ImportPlanner: what each row of a batch does, and the rows it writes."""

from django.utils import timezone
from uuid_utils import uuid7 as fast_uuid7

from opsx.bulk import copy_text, json_text

from ..models import ImportJob, ProspectEvent
from .batches import Checked, Found, Plan
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

    def plan(self, checked: Checked, found: Found) -> Plan:
        plan = Plan(records=checked.records, errors=checked.errors)
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
                row = {**NEW_DEFAULTS, "phones": set(), "_new": True}
                if self.copy:
                    row["id"] = next(new_ids)
                merge(row, data, new=True)
                new.append(row)
            else:
                merge(row, data)
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
        tables[EVENTS] = [(self.client_id, row["id"], *event) for row in changed]
        tables[ERRORS] = [(self.client_id, self.job_id, n, why[:2000]) for n, why in plan.errors]
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
