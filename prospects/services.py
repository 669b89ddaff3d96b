"""Every change of state of prospects, their notes and visits, custom fields and checklists.

Files and folders are in files.py, the CSV import in the importing package; the reads the
services share (custom field definitions, owners) in queries.py, the CSV export and the prospect
ZIP file built in exporting.py.
"""

import uuid
from collections.abc import Iterator
from typing import IO

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from clients import audit
from clients import cache as client_cache
from clients.models import Client

from . import exporting, files, queries, sensitive
from .models import (
    Checklist,
    CustomField,
    Prospect,
    ProspectEvent,
    ProspectPhone,
    StoredFile,
    Visit,
)
from .signals import prospect_erased, prospects_assigned, visit_changed
from .validation import clean_prospect, parse_number


def _event(prospect: Prospect, kind: str, actor: User | None, **fields) -> ProspectEvent:
    return ProspectEvent(
        client_id=prospect.client_id,
        prospect=prospect,
        kind=kind,
        actor=actor,
        at=fields.pop("at", None) or timezone.now(),
        **fields,
    )


def _set_phones(prospect: Prospect, numbers: list[str]) -> None:
    ProspectPhone.objects.filter(prospect=prospect).exclude(number__in=numbers).delete()
    existing = set(prospect.phones.values_list("number", flat=True))
    ProspectPhone.objects.bulk_create(
        ProspectPhone(client_id=prospect.client_id, prospect=prospect, number=n, digits=n[1:])
        for n in numbers
        if n not in existing
    )


def _check_owner(client: Client, owner: User | None) -> None:
    if owner is not None and (owner.client_id != client.pk or not owner.is_active):
        raise ValidationError({"owner": ["The owner must be an active user of your company."]})


@transaction.atomic
def prospect_create(
    *, client: Client, actor: User, raw: dict, public_id: uuid.UUID | None = None
) -> Prospect:
    """Create a prospect from raw field values (form or API), validated like an import row.
    `public_id`: the id the mobile app generated for it offline (else a new one)."""
    data = clean_prospect(raw, definitions=queries.custom_field_definitions(client))
    _check_owner(client, data.get("owner"))
    phones = data.pop("phones", [])
    custom = {k: v for k, v in data.pop("custom", {}).items() if v is not None}
    if public_id is not None:
        data["public_id"] = public_id
    prospect = Prospect(client=client, custom=custom, created_by=actor, updated_by=actor, **data)
    prospect.refresh_derived()
    prospect.save()
    _set_phones(prospect, phones)
    audit.record(
        actor=actor,
        action=audit.Action.PROSPECT_CREATED,
        target=prospect,
        changes={"status": (None, prospect.status)},
    )
    if prospect.owner_id is not None:
        prospects_assigned.send(
            sender=Prospect, prospects=[prospect], owner=prospect.owner, actor=actor
        )
    return prospect  # the timeline shows its creation from created_at / created_by


@transaction.atomic
def prospect_update(*, prospect: Prospect, actor: User, raw: dict) -> Prospect:
    """Change the fields present in `raw`; a status change is written to the timeline."""
    data = clean_prospect(
        raw, definitions=queries.custom_field_definitions(prospect.client), partial=True
    )
    if "owner" in data:
        _check_owner(prospect.client, data["owner"])
    old_status, old_owner_id = prospect.status, prospect.owner_id
    changed = {name: None for name in data}  # which fields, by name: values are personal
    if "phones" in data:
        _set_phones(prospect, data.pop("phones"))
    if "custom" in data:
        custom = {**prospect.custom, **data.pop("custom")}
        prospect.custom = {k: v for k, v in custom.items() if v is not None}
    for field, value in data.items():
        setattr(prospect, field, value)
    prospect.updated_by = actor
    prospect.refresh_derived()
    prospect.save()
    if prospect.status != old_status:
        text = f"{Prospect.Status(old_status).label} → {prospect.get_status_display()}"
        _event(prospect, ProspectEvent.Kind.STATUS, actor, text=text).save()
    else:
        _event(prospect, ProspectEvent.Kind.UPDATED, actor).save()
    if prospect.status != old_status:
        changed["status"] = (old_status, prospect.status)
    else:
        changed.pop("status", None)
    audit.record(
        actor=actor, action=audit.Action.PROSPECT_UPDATED, target=prospect, changes=changed
    )
    if prospect.owner_id is not None and prospect.owner_id != old_owner_id:
        prospects_assigned.send(
            sender=Prospect, prospects=[prospect], owner=prospect.owner, actor=actor
        )
    return prospect


@transaction.atomic
def prospect_add_note(*, prospect: Prospect, actor: User, text: str) -> ProspectEvent:
    text = text.strip()
    if not text:
        raise ValidationError({"text": ["Write something first."]})
    if len(text) > 10_000:
        raise ValidationError({"text": ["A note can be at most 10,000 characters."]})
    sensitive.check_text(text, field="The note")
    event = _event(prospect, ProspectEvent.Kind.NOTE, actor, text=text)
    event.save()
    Prospect.objects.filter(pk=prospect.pk).update(updated_at=timezone.now(), updated_by=actor)
    audit.record(actor=actor, action=audit.Action.PROSPECT_NOTE_ADDED, target=prospect)
    return event


def _bulk_targets(client: Client, public_ids: list) -> list[Prospect]:
    prospects = list(Prospect.objects.for_client(client).filter(public_id__in=public_ids))
    if not public_ids or len(prospects) != len(set(public_ids)):
        raise ValidationError("Some of the selected prospects do not exist; reload the page.")
    return prospects


@transaction.atomic
def prospects_bulk_assign(
    *, client: Client, actor: User, public_ids: list, owner: User | None
) -> int:
    _check_owner(client, owner)
    prospects = _bulk_targets(client, public_ids)
    newly_owned = [p for p in prospects if owner is not None and p.owner_id != owner.pk]
    now = timezone.now()
    Prospect.objects.filter(pk__in=[p.pk for p in prospects]).update(
        owner=owner, updated_by=actor, updated_at=now
    )
    text = f"Assigned to {owner}" if owner else "Unassigned"
    ProspectEvent.objects.bulk_create(
        _event(p, ProspectEvent.Kind.UPDATED, actor, text=text, at=now) for p in prospects
    )
    audit.record(
        actor=actor,
        action=audit.Action.PROSPECTS_BULK_ASSIGNED,
        client=client,
        changes={"owner": None},
        counts={"prospects": len(prospects)},
    )
    if newly_owned:
        prospects_assigned.send(sender=Prospect, prospects=newly_owned, owner=owner, actor=actor)
    return len(prospects)


@transaction.atomic
def prospects_bulk_status(*, client: Client, actor: User, public_ids: list, status: str) -> int:
    if status not in Prospect.Status.values:
        raise ValidationError("Choose a status.")
    prospects = [p for p in _bulk_targets(client, public_ids) if p.status != status]
    now = timezone.now()
    Prospect.objects.filter(pk__in=[p.pk for p in prospects]).update(
        status=status, updated_by=actor, updated_at=now
    )
    label = Prospect.Status(status).label
    ProspectEvent.objects.bulk_create(
        _event(
            p, ProspectEvent.Kind.STATUS, actor, at=now, text=f"{p.get_status_display()} → {label}"
        )
        for p in prospects
    )
    audit.record(
        actor=actor,
        action=audit.Action.PROSPECTS_BULK_STATUS,
        client=client,
        changes={"status": (None, status)},
        counts={"prospects": len(prospects)},
    )
    return len(prospects)


# --- visits -------------------------------------------------------------------


def _check_answers(visit: Visit, answers: dict, *, complete: bool) -> dict:
    """Validate checklist answers against the visit's checklist."""
    if visit.checklist is None:
        return {}
    errors, clean = {}, {}
    photo_ids = {
        str(pk)
        for pk in StoredFile.objects.for_client(visit.client_id)
        .filter(visit=visit)
        .values_list("public_id", flat=True)
    }
    for item in visit.checklist.items:
        key, label, kind = item["key"], item["label"], item["kind"]
        value = answers.get(key)
        if kind == Checklist.ItemKind.CHECK:
            clean[key] = bool(value) and str(value).lower() not in ("", "0", "false", "no", "off")
            if complete and item.get("required") and not clean[key]:
                errors[key] = f"“{label}” must be done."
            continue
        if value in (None, ""):
            if complete and item.get("required"):
                errors[key] = f"“{label}” is required."
            continue
        if kind == Checklist.ItemKind.NUMBER:
            try:
                clean[key] = float(parse_number(value, what=f"“{label}”", thousands=True))
            except ValidationError as exc:
                errors[key] = exc.messages[0]
        elif kind == Checklist.ItemKind.TEXT:
            text = str(value).strip()[:2000]
            try:
                sensitive.check_text(text, field=f"“{label}”")
            except ValidationError as exc:
                errors[key] = exc.messages[0]
            clean[key] = text
        elif kind == Checklist.ItemKind.PHOTO:
            if str(value) not in photo_ids:
                errors[key] = f"“{label}” needs a photo attached to this visit."
            clean[key] = str(value)
    if errors:
        raise ValidationError({f"answer.{k}": [v] for k, v in errors.items()})
    return clean


@transaction.atomic
def visit_plan(
    *,
    prospect: Prospect,
    actor: User,
    user: User,
    scheduled_at,
    checklist: Checklist | None = None,
    public_id: uuid.UUID | None = None,
) -> Visit:
    """`public_id`: the id the mobile app generated for the visit offline (else a new one)."""
    _check_owner(prospect.client, user)
    if checklist is not None and checklist.client_id != prospect.client_id:
        raise ValidationError({"checklist": ["Unknown checklist."]})
    visit = Visit.objects.create(
        **({"public_id": public_id} if public_id is not None else {}),
        client=prospect.client,
        prospect=prospect,
        user=user,
        scheduled_at=scheduled_at,
        checklist=checklist,
        created_by=actor,
    )
    when = (
        timezone.localtime(scheduled_at).strftime("%Y-%m-%d %H:%M")
        if scheduled_at
        else "unscheduled"
    )
    _event(
        prospect, ProspectEvent.Kind.VISIT_PLANNED, actor, visit=visit, text=f"{user} · {when}"
    ).save()
    audit.record(
        actor=actor,
        action=audit.Action.VISIT_PLANNED,
        target=visit,
        changes={"status": (None, visit.status)},
    )
    visit_changed.send(sender=Visit, visit=visit, actor=actor, change="planned")
    return visit


@transaction.atomic
def visit_check_in(*, visit: Visit, actor: User, latitude=None, longitude=None) -> Visit:
    if visit.status not in (Visit.Status.PLANNED,):
        raise ValidationError("Only a planned visit can be checked in.")
    visit.status = Visit.Status.IN_PROGRESS
    visit.checked_in_at = timezone.now()
    visit.check_in_latitude, visit.check_in_longitude = latitude, longitude
    visit.save(
        update_fields=[
            "status",
            "checked_in_at",
            "check_in_latitude",
            "check_in_longitude",
            "updated_at",
        ]
    )
    _event(visit.prospect, ProspectEvent.Kind.VISIT_CHECKED_IN, actor, visit=visit).save()
    audit.record(
        actor=actor,
        action=audit.Action.VISIT_CHECKED_IN,
        target=visit,
        changes={"status": (Visit.Status.PLANNED, visit.status)},
    )
    return visit


@transaction.atomic
def visit_complete(
    *,
    visit: Visit,
    actor: User,
    outcome: str,
    report: str,
    answers: dict,
    latitude=None,
    longitude=None,
) -> Visit:
    """Check out and file the report; required checklist items must be answered."""
    if visit.status in (Visit.Status.DONE, Visit.Status.CANCELLED):
        raise ValidationError("This visit is already closed.")
    if outcome not in Visit.Outcome.values:
        raise ValidationError({"outcome": ["Choose an outcome."]})
    report = report.strip()
    if len(report) > 20_000:
        raise ValidationError({"report": ["A report can be at most 20,000 characters."]})
    try:
        sensitive.check_text(report, field="The report")
    except ValidationError as exc:
        raise ValidationError({"report": exc.messages}) from None
    visit.answers = _check_answers(visit, answers, complete=True)
    old_status = visit.status
    now = timezone.now()
    visit.status = Visit.Status.DONE
    visit.checked_in_at = visit.checked_in_at or now
    visit.checked_out_at = now
    visit.check_out_latitude, visit.check_out_longitude = latitude, longitude
    visit.outcome, visit.report = outcome, report
    visit.save()
    text = f"{visit.get_outcome_display()}\n{report}".strip() if outcome else report
    _event(visit.prospect, ProspectEvent.Kind.VISIT_DONE, actor, visit=visit, text=text).save()
    Prospect.objects.filter(pk=visit.prospect_id).update(updated_at=now, updated_by=actor)
    audit.record(
        actor=actor,
        action=audit.Action.VISIT_COMPLETED,
        target=visit,
        # the report and the answers are what someone wrote: by name only
        changes={"status": (old_status, visit.status), "outcome": (None, outcome), "report": None}
        | ({"answers": None} if visit.answers else {}),
    )
    return visit


@transaction.atomic
def visit_attach_photo(
    *, visit: Visit, actor: User, upload: UploadedFile, item: str | None = None
) -> tuple[StoredFile, str | None]:
    """Keep a photo taken on the visit and answer a photo item of its checklist with it:
    `item` (a photo item's key), else the first photo item not answered yet, if any.
    Returns the stored file and the key of the item it answers (None: none).

    Only images: anything else is refused with code "not_an_image"."""
    try:
        content_type = files.detect_type(upload)
    except ValidationError as exc:
        raise ValidationError(exc.messages[0], code="not_an_image") from None
    if not content_type.startswith("image/"):
        raise ValidationError(
            f"“{upload.name}” is not a photo: attach a JPEG, PNG, GIF, WebP or HEIC image.",
            code="not_an_image",
        )
    photo_items = [
        i for i in (visit.checklist.items if visit.checklist else [])
        if i["kind"] == Checklist.ItemKind.PHOTO
    ]  # fmt: skip
    closed = visit.status in (Visit.Status.DONE, Visit.Status.CANCELLED)
    answered = None
    if item is not None:
        answered = next((i for i in photo_items if i["key"] == item), None)
        if answered is None:
            raise ValidationError(
                {"item": [f"This visit's checklist has no photo item “{item[:40]}”."]}
            )
        if closed:
            raise ValidationError({"item": ["This visit is closed; its answers cannot change."]})
    elif not closed:
        answered = next((i for i in photo_items if not visit.answers.get(i["key"])), None)
    stored = files.file_store(client=visit.client, actor=actor, upload=upload, visit=visit)
    if answered is None:
        return stored, None
    # The upload is the audited event (file.uploaded); the answer only points at it.
    visit.answers = {**visit.answers, answered["key"]: str(stored.public_id)}
    visit.save(update_fields=["answers", "updated_at"])
    return stored, answered["key"]


@transaction.atomic
def visit_cancel(*, visit: Visit, actor: User) -> Visit:
    if visit.status == Visit.Status.DONE:
        raise ValidationError("A done visit cannot be cancelled.")
    old_status = visit.status
    visit.status = Visit.Status.CANCELLED
    visit.save(update_fields=["status", "updated_at"])
    audit.record(
        actor=actor,
        action=audit.Action.VISIT_CANCELLED,
        target=visit,
        changes={"status": (old_status, visit.status)},
    )
    if old_status != Visit.Status.CANCELLED:
        visit_changed.send(sender=Visit, visit=visit, actor=actor, change="cancelled")
    return visit


# --- definitions by the client admin ----------------------------------------


@transaction.atomic
def custom_field_create(
    *,
    client: Client,
    actor: User,
    key: str,
    label: str,
    kind: str,
    choices: list[str],
    required: bool,
) -> CustomField:
    if CustomField.objects.for_client(client).filter(key=key).exists():
        raise ValidationError({"key": [f"There is already a field with the key “{key}”."]})
    if kind == CustomField.Kind.CHOICE and not choices:
        raise ValidationError({"choices": ["A choice field needs at least one choice."]})
    position = CustomField.objects.for_client(client).count()
    field = CustomField.objects.create(
        client=client, key=key, label=label, kind=kind, required=required,
        choices=choices if kind == CustomField.Kind.CHOICE else [], position=position,
    )  # fmt: skip
    client_cache.forget(client, queries.CUSTOM_FIELDS)
    audit.record(
        actor=actor,
        action=audit.Action.CUSTOM_FIELD_CREATED,
        target=field,  # no public id: the key says which
        changes={"key": (None, key), "kind": (None, kind), "required": (None, required)},
    )
    return field


@transaction.atomic
def custom_field_delete(*, field: CustomField, actor: User) -> None:
    """Remove the definition; values already stored stay in the JSON until edited."""
    audit.record(
        actor=actor,
        action=audit.Action.CUSTOM_FIELD_DELETED,
        target=field,
        changes={"key": (field.key, None)},
    )
    client_cache.forget(field.client_id, queries.CUSTOM_FIELDS)
    field.delete()


@transaction.atomic
def checklist_save(
    *, client: Client, actor: User, name: str, items: list[dict], checklist: Checklist | None = None
) -> Checklist:
    if not items:
        raise ValidationError({"items": ["A checklist needs at least one item."]})
    keys = set()
    for item in items:
        if item["kind"] not in Checklist.ItemKind.values:
            raise ValidationError({"items": [f"Unknown item kind “{item['kind']}”."]})
        if item["key"] in keys:
            raise ValidationError({"items": [f"Two items are called “{item['label']}”."]})
        keys.add(item["key"])
    created = checklist is None
    checklist = checklist or Checklist(client=client)
    checklist.name, checklist.items = name, items
    checklist.save()
    audit.record(
        actor=actor,
        action=audit.Action.CHECKLIST_SAVED,
        target=checklist,
        changes={"name": None, "items": None},
        counts={"items": len(items), "created": int(created)},
    )
    return checklist


# --- the client's own privacy duties -----------------------------------------


def prospects_export(
    *, client: Client, actor: User, qs: QuerySet[Prospect], definitions: list[CustomField]
) -> Iterator[str]:
    """The CSV lines of `qs` (exporting.export_rows), the export recorded in the audit trail
    first: personal data leaving OpsX is an action worth knowing about."""
    audit.record(actor=actor, action=audit.Action.PROSPECTS_EXPORTED, client=client)
    return exporting.export_rows(client, qs, definitions)


def prospect_export_archive(prospect: Prospect, *, actor: User) -> IO[bytes]:
    """Everything held about one prospect as a ZIP file (exporting.prospect_archive), the
    download recorded in the audit trail: an export of personal data, by `actor`."""
    archive, data = exporting.prospect_archive(prospect)
    audit.record(
        actor=actor,
        action=audit.Action.PROSPECT_DATA_EXPORTED,
        target=prospect,
        counts={"visits": len(data["visits"]), "files": len(data["files"])},
    )
    return archive


@transaction.atomic
def prospect_erase(*, prospect: Prospect, actor: User) -> dict:
    """Erase one prospect and everything attached to it: phones, visits, timeline, files
    (their bytes too, once the transaction commits). Returns what was removed, by kind."""
    attached = queries.attached_files(prospect=prospect)
    visit_ids = list(
        Visit.objects.for_client(prospect.client_id)
        .filter(prospect=prospect)
        .values_list("public_id", flat=True)
    )
    visits = len(visit_ids)
    prospect_erased.send(sender=Prospect, prospect=prospect, visit_ids=visit_ids)
    files.files_delete(client=prospect.client, files=attached, actor=actor, audited=False)
    audit.record(
        actor=actor,
        action=audit.Action.PROSPECT_ERASED,
        target=prospect,
        counts={"visits": visits, "files": len(attached)},
    )
    prospect.delete()
    return {"visits": visits, "files": len(attached)}
