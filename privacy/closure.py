"""Closing a client account: a client admin asks, every admin is told, the grace period runs
(anyone of them, or HexCM staff, may cancel), a full export can be built and downloaded
meanwhile, then a task deletes all the client's data and users in chunks and leaves a nameless
tombstone of the Client row.

What stays once a client is deleted, and why:
- the Client row itself, as a tombstone (status CLOSED, no name, no contact): the audit trail
  and, with issue 21, the billing records the law requires point to it;
- its audit events (clients.AuditEvent): they name nobody (record() never copies a name, and
  erasing each user clears them as actor), and the table's trigger refuses any DELETE;
- the ClientClosure row: when it was asked, by whom (cleared when that user is erased), what
  was deleted (its progress), when it finished;
- privacy requests about the client's prospects: kept as proof that they were answered, closed
  (done) if still open, and detached from the client (client=None), since the client and
  everything it held about the requester is gone.
Everything else with a `client` key is deleted, the order derived from the models' keys
(`deletion_order`), and every user goes through privacy.erasure.user_erase.
"""

import csv
import io
import logging
import re
import shutil
import tempfile
import zipfile
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files import File
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.services import user_end_sessions
from clients import audit
from clients.models import Client
from clients.tenancy import tenant_scope
from opsx import mail
from opsx.models import OutboundMessage
from prospects import exporting
from prospects.models import CustomField, Folder, Prospect, StoredFile

from . import erasure
from .models import ClientClosure, PrivacyRequest
from .services import request_transition

log = logging.getLogger(__name__)

Status = ClientClosure.Status
ExportStatus = ClientClosure.ExportStatus
OPEN = (Status.SCHEDULED, Status.DELETING)

DELETE_CHUNK = 2000  # rows per transaction while deleting
EXPORT_PROGRESS_EVERY = 50  # items written to the ZIP between two progress updates
FILES_CHUNK = 200  # file rows read per query while exporting
# A closure DELETING for longer than this is taken up again by the daily task (its run died).
DELETING_STALE = timedelta(hours=1)
# In ClientClosure.progress, next to the per-model counts: the last user erased (users are
# erased in key order, so a resumed run starts after it whatever erasure leaves behind).
USER_CURSOR = "last_user_id"

# Models with a client key that the deletion does not delete row by row (see the docstring).
_NOT_DELETED = {
    "clients.auditevent",  # the trail stays, nameless; its trigger refuses DELETE
    "accounts.user",  # erased through privacy.erasure.user_erase, one person at a time
    "privacy.clientclosure",  # the record of this closure
    "privacy.privacyrequest",  # kept as proof, detached from the client
    # Accounting records the law makes us keep (GST: 72 months), with their PDFs; only staff
    # reach them once the client is closed.
    "clients.invoice",
}

# Rows PostgreSQL triggers write when rows of other models are deleted: deleted after those
# (the sync tombstones of prospects and visits, prospects migration 0014), or the closure
# would leave the ones its own deletions wrote.
_WRITTEN_BY_DELETES = {"prospects.synctombstone": ("prospects.prospect", "prospects.visit")}


# --- who may -------------------------------------------------------------------------------


def _is_staff(actor: User) -> bool:
    return actor.is_staff and actor.client_id is None


def _check_admin(actor: User, client: Client) -> None:
    if not (actor.is_client_admin and actor.client_id == client.pk):
        raise ValidationError("Only an admin of the company can do this.", code="forbidden")


def _admins(client: Client) -> list[User]:
    return list(
        User.objects.for_client(client).filter(role=User.Role.ADMIN, is_active=True).order_by("pk")
    )


def _mail_admins(client: Client, template: str, context: dict) -> None:
    for admin in _admins(client):
        mail.queue(
            to=admin.email,
            template=template,
            context={"client": client, "admin": admin, **context},
            category=OutboundMessage.Category.ACCOUNT,
        )


def open_closure(client: Client) -> ClientClosure | None:
    """The client's closure in its grace period or being deleted, if any."""
    return ClientClosure.objects.for_client(client).filter(status__in=OPEN).first()


# --- request and cancel --------------------------------------------------------------------


@transaction.atomic
def closure_request(*, client: Client, actor: User) -> ClientClosure:
    """An admin closes the client account: deletion is scheduled after the grace period
    (CLIENT_CLOSURE_GRACE_DAYS), every admin of the client is told by mail. Refused when a
    closure is already open, and for a client that is not active."""
    client = Client.objects.select_for_update().get(pk=client.pk)  # one request at a time
    _check_admin(actor, client)
    if not client.is_active:
        raise ValidationError("This company account is not active.", code="inactive")
    if open_closure(client) is not None:
        raise ValidationError("This company account is already being closed.", code="open")
    now = timezone.now()
    closure = ClientClosure.objects.create(
        client=client,
        requested_by=actor,
        requested_at=now,
        delete_after=now + timedelta(days=settings.CLIENT_CLOSURE_GRACE_DAYS),
    )
    _mail_admins(client, "closure-requested", {"closure": closure, "requested_by": actor})
    audit.record(actor=actor, action=audit.Action.CLIENT_CLOSURE_REQUESTED, target=client)
    return closure


@transaction.atomic
def closure_cancel(*, closure: ClientClosure, actor: User) -> ClientClosure:
    """Cancel a closure in its grace period: any admin of the client, or HexCM staff. The
    admins are told. A full export built meanwhile is deleted (it is every piece of the
    client's data; the client keeps using OpsX and can build a new one when closing again)."""
    closure = ClientClosure.objects.select_for_update().select_related("client").get(pk=closure.pk)
    if not _is_staff(actor):
        _check_admin(actor, closure.client)
    if closure.status != Status.SCHEDULED:
        raise ValidationError(
            f"This closure is {closure.get_status_display().lower()}: it cannot be cancelled.",
            code="not_scheduled",
        )
    closure.status = Status.CANCELLED
    closure.cancelled_at = timezone.now()
    closure.cancelled_by = actor
    fields = ["status", "cancelled_at", "cancelled_by"]
    if closure.export_file:
        _delete_on_commit(closure.export_file.storage, [closure.export_file.name])
        closure.export_file = ""
        closure.export_status = ExportStatus.NONE
        fields += ["export_file", "export_status"]
    closure.save(update_fields=fields)
    _mail_admins(closure.client, "closure-cancelled", {"closure": closure, "cancelled_by": actor})
    audit.record(
        actor=actor,
        action=audit.Action.CLIENT_CLOSURE_CANCELLED,
        target=closure.client,
        changes={"status": (Status.SCHEDULED, Status.CANCELLED)},
    )
    return closure


def _delete_on_commit(storage, names: list[str]) -> None:
    names = [n for n in names if n]
    if names:
        transaction.on_commit(lambda: [storage.delete(name) for name in names])


# --- the full export -----------------------------------------------------------------------


@transaction.atomic
def closure_export(*, closure: ClientClosure, actor: User) -> ClientClosure:
    """An admin asks for the full export (every prospect as CSV and every file, one ZIP),
    built by a task (privacy.tasks.privacy_closure_export). A new one replaces the last."""
    from . import tasks  # tasks import this module

    closure = ClientClosure.objects.select_for_update().select_related("client").get(pk=closure.pk)
    _check_admin(actor, closure.client)
    if closure.status != Status.SCHEDULED:
        raise ValidationError("The export is offered only until the deletion starts.")
    if closure.export_status == ExportStatus.BUILDING:
        raise ValidationError("The export is being built already.", code="building")
    closure.export_status = ExportStatus.BUILDING
    closure.export_done = closure.export_total = 0
    closure.save(update_fields=["export_status", "export_done", "export_total"])
    closure_id, actor_id = closure.pk, actor.pk
    transaction.on_commit(lambda: tasks.privacy_closure_export.delay(closure_id, actor_id))
    return closure


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\<>:"|?*]')


def safe_name(name: str, *, limit: int = 100) -> str:
    """A name usable as one segment of a path in the ZIP on any system: no separators, no
    control characters, no "." or "..", no dot or space at either end."""
    name = _UNSAFE.sub("_", name).strip().strip(".").strip()
    return name[:limit] or "unnamed"


def _file_path(stored: StoredFile, folder_names: dict[str, str]) -> str:
    """Where a file goes in the export: the library under its folders, an attachment under its
    prospect (and visit). The id's start keeps two files of the same name apart."""
    leaf = f"{stored.public_id.hex[:8]}-{safe_name(stored.name, limit=150)}"
    if stored.folder is not None:
        folder = stored.folder
        names = [folder_names.get(a, a) for a in folder.ancestor_ids] + [folder.name]
        return "/".join(["files", "library", *(safe_name(n) for n in names), leaf])
    if stored.prospect is not None:
        prospect = stored.prospect
        base = f"files/prospects/{safe_name(prospect.name)}-{prospect.public_id.hex[:8]}"
        if stored.visit is not None:
            return f"{base}/visits/{stored.visit.public_id.hex[:8]}/{leaf}"
        return f"{base}/{leaf}"
    return f"files/library/{leaf}"


def _progress(closure: ClientClosure, done: int) -> None:
    ClientClosure.objects.filter(pk=closure.pk).update(export_done=done)


def closure_export_build(*, closure_id: int, actor_id: int | None = None) -> None:
    """Build the export the admin asked for (the task's body): prospects.csv (the streamed
    prospect export's rows), files/ (every stored file, under its folder path or prospect),
    files.csv (where each one went) in one ZIP written to a temporary file, then to storage as
    closure.export_file. export_done / export_total move every EXPORT_PROGRESS_EVERY items.
    Reads run restricted to the client (tenant_scope). Does nothing unless the closure's
    export is BUILDING (so a repeated task is harmless)."""
    closure = ClientClosure.objects.select_related("client").filter(pk=closure_id).first()
    if closure is None or closure.export_status != ExportStatus.BUILDING:
        return
    client = closure.client
    try:
        counts = _write_export(closure, client)
    except Exception:
        log.exception("client export %s failed", closure.pk)
        ClientClosure.objects.filter(pk=closure.pk, export_status=ExportStatus.BUILDING).update(
            export_status=ExportStatus.FAILED
        )
        raise
    with transaction.atomic():
        locked = ClientClosure.objects.select_for_update().get(pk=closure.pk)
        if locked.status != Status.SCHEDULED:  # cancelled (or deleting) meanwhile: drop it
            closure.export_file.storage.delete(closure.export_file.name)
            ClientClosure.objects.filter(pk=closure.pk).update(export_status=ExportStatus.NONE)
            return
        if locked.export_file and locked.export_file.name != closure.export_file.name:
            _delete_on_commit(locked.export_file.storage, [locked.export_file.name])
        locked.export_file = closure.export_file.name
        locked.export_status = ExportStatus.READY
        locked.export_done = locked.export_total = counts["prospects"] + counts["files"]
        locked.save(update_fields=["export_file", "export_status", "export_done", "export_total"])
        actor = User.objects.filter(pk=actor_id).first() if actor_id else None
        audit.record(
            actor=actor,
            action=audit.Action.CLIENT_EXPORT_BUILT,
            target=client,
            client=client,
            counts=counts,
        )


def _write_export(closure: ClientClosure, client: Client) -> dict:
    with tenant_scope(client):
        prospects_total = Prospect.objects.for_client(client).count()
        files_total = StoredFile.objects.for_client(client).count()
        definitions = list(CustomField.objects.for_client(client).order_by("position", "pk"))
        folder_names = {
            str(pk): name
            for pk, name in Folder.objects.for_client(client).values_list("public_id", "name")
        }
    ClientClosure.objects.filter(pk=closure.pk).update(
        export_total=prospects_total + files_total, export_done=0
    )
    done = 0
    with tempfile.TemporaryFile() as archive:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            with zf.open("prospects.csv", "w", force_zip64=True) as dst:
                rows = exporting.export_rows(
                    client, Prospect.objects.for_client(client), definitions
                )
                for i, text in enumerate(rows):
                    dst.write(text.encode("utf-8"))
                    if i:  # after the header, each piece is one chunk of rows
                        done = min(prospects_total, done + exporting.CHUNK)
                        _progress(closure, done)
            missing = _write_files(zf, closure, client, folder_names, done)
        archive.seek(0)
        closure.export_file.save("export.zip", File(archive, name="export.zip"), save=False)
    return {"prospects": prospects_total, "files": files_total, "missing_files": missing}


def _write_files(zf, closure, client, folder_names: dict[str, str], done: int) -> int:
    """Every stored file of the client into files/, and files.csv saying where each went.
    Returns how many had lost their bytes (listed, not fatal)."""
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(["path", "name", "type", "size", "uploaded_at", "missing"])
    missing = after = 0
    while True:
        with tenant_scope(client):
            chunk = list(
                StoredFile.objects.for_client(client)
                .filter(pk__gt=after)
                .select_related("folder", "prospect", "visit")
                .order_by("pk")[:FILES_CHUNK]
            )
        if not chunk:
            break
        after = chunk[-1].pk
        for stored in chunk:
            path = _file_path(stored, folder_names)
            lost = ""
            try:
                with stored.blob.open("rb") as src, zf.open(path, "w", force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
            except FileNotFoundError:  # its bytes were lost: say so rather than fail
                lost, missing = "yes", missing + 1
            cells = (path, stored.name, stored.content_type, stored.size, stored.created_at, lost)
            writer.writerow([exporting.safe_cell(c) for c in cells])
            done += 1
            if done % EXPORT_PROGRESS_EVERY == 0:
                _progress(closure, done)
    zf.writestr("files.csv", "\ufeff" + manifest.getvalue())
    return missing


# --- deletion ------------------------------------------------------------------------------


def client_key_models() -> list[type[models.Model]]:
    """Every model with a direct `client` key to Client (clients.checks.tenant_tables' rule)."""
    return [
        model
        for model in apps.get_models()
        if not model._meta.proxy
        and any(
            f.name == "client" and f.many_to_one and f.related_model is Client
            for f in model._meta.concrete_fields
        )
    ]


def deletion_order() -> list[type[models.Model]]:
    """The models whose rows a closure deletes, each after every model with a key to it
    (children before parents), so deleting a chunk never cascades into a table still to come,
    and each after the models whose deletes write its rows (_WRITTEN_BY_DELETES). Derived from
    the models' foreign keys, so a model a later issue adds takes its place by itself. Raises ImproperlyConfigured on a cycle of keys (which needs a decision)."""
    todo = {
        m._meta.label_lower: m
        for m in client_key_models()
        if m._meta.label_lower not in _NOT_DELETED
    }
    # label -> labels of the models that point to it (to be deleted first)
    pointed_by: dict[str, set[str]] = {label: set() for label in todo}
    for label, model in todo.items():
        for f in model._meta.concrete_fields:
            target = f.related_model._meta.label_lower if f.is_relation else None
            if target in todo and target != label:
                pointed_by[target].add(label)
    for label, writers in _WRITTEN_BY_DELETES.items():
        if label in pointed_by:
            pointed_by[label].update(w for w in writers if w in todo)
    order = []
    while pointed_by:
        ready = sorted(label for label, refs in pointed_by.items() if not refs)
        if not ready:
            raise ImproperlyConfigured(f"Foreign keys form a cycle among {sorted(pointed_by)}")
        for label in ready:
            order.append(todo[label])
            del pointed_by[label]
        for refs in pointed_by.values():
            refs.difference_update(ready)
    return order


def _after_chunk(closure: ClientClosure, label: str) -> None:
    """Called after each committed chunk (a seam for the tests' simulated crash)."""


def _delete_chunk(closure: ClientClosure, model: type[models.Model]) -> int:
    """Delete up to DELETE_CHUNK rows of `model` of the closure's client, and add the counts
    to closure.progress, in one transaction restricted to the client. The stored bytes of
    the deleted rows' file fields go once it commits. Returns the rows deleted."""
    client = closure.client
    file_fields = [f.name for f in model._meta.concrete_fields if isinstance(f, models.FileField)]
    with transaction.atomic(), tenant_scope(client):
        locked = ClientClosure.objects.select_for_update().get(pk=closure.pk)
        # Any rows of the client, no order: the client's index finds them, a sort would not help.
        rows = model._base_manager.filter(client=client).order_by()[:DELETE_CHUNK]
        if file_fields:
            found = list(rows.values_list("pk", *file_fields))
            pks = [row[0] for row in found]
            names = [name for row in found for name in row[1:]]
        else:
            pks, names = list(rows.values_list("pk", flat=True)), []
        if not pks:
            return 0
        _, per_model = model._base_manager.filter(pk__in=pks).delete()
        for label, count in per_model.items():
            if not count:
                continue
            key = label.lower()
            locked.progress[key] = locked.progress.get(key, 0) + count
        locked.save(update_fields=["progress"])
        closure.progress = locked.progress
        if names:
            storage = model._meta.get_field(file_fields[0]).storage
            _delete_on_commit(storage, names)
    return len(pks)


def _close_prospect_requests(client: Client) -> int:
    """Privacy requests about the client's prospects: an open one is answered (done: the
    client and everything it held are deleted; a confirmed requester is told by mail), then
    every one is detached from the client and kept as proof."""
    open_requests = PrivacyRequest.objects.filter(
        client=client, status__in=PrivacyRequest.OPEN_STATUSES
    )
    for request in open_requests:
        request.outcome = (
            "The company closed its OpsX account: everything it held, including any data "
            "about you, has been deleted."
        )
        request_transition(
            request,
            to_status=PrivacyRequest.Status.DONE,
            actor=None,
            message="The company closed its OpsX account; its data is deleted.",
            update_fields=("outcome",),
        )
        # Told only once their identity is confirmed: nothing goes to an unconfirmed address.
        confirmed = request.channel != PrivacyRequest.Channel.PUBLIC or request.verified_at
        if request.requester_email and confirmed:
            mail.queue(
                to=request.requester_email,
                template="closure-prospect-request",
                context={"request": request},
                category=OutboundMessage.Category.ACCOUNT,
            )
    return PrivacyRequest.objects.filter(client=client).update(client=None)


def _start(closure: ClientClosure) -> bool:
    """SCHEDULED and due -> DELETING: the client is CLOSED (its users cannot sign in) and
    every session of its users ends. True when the deletion may run (now or resumed)."""
    with transaction.atomic():
        locked = (
            ClientClosure.objects.select_for_update().select_related("client").get(pk=closure.pk)
        )
        if locked.status == Status.DELETING:
            return True
        if locked.status != Status.SCHEDULED or locked.delete_after > timezone.now():
            return False
        locked.status = Status.DELETING
        locked.deletion_started_at = timezone.now()
        locked.save(update_fields=["status", "deletion_started_at"])
        client = locked.client
        # CLOSED refuses sign-in and every page as SUSPENDED does (ClientMiddleware, the
        # allauth adapter); the final audit event records the change.
        Client.objects.filter(pk=client.pk).update(status=Client.Status.CLOSED)
        for user in User.objects.for_client(client):
            user_end_sessions(user)
        requests = _close_prospect_requests(client)
        if requests:
            locked.progress["privacy.privacyrequest.detached"] = requests
            locked.save(update_fields=["progress"])
    return True


def closure_delete(*, closure: ClientClosure) -> ClientClosure:
    """Delete everything of a closed client once its grace period is over (the task's body;
    the system acts, so there is no actor). Idempotent and resumable: each chunk commits with
    its progress, a run that died is started again (privacy_closures_due) and goes on with
    what is left. Does nothing for a closure that is not due, cancelled or done.

    Steps: DELETING (the client CLOSED, its sessions ended, its prospect requests closed and
    detached); every model of deletion_order() in chunks of DELETE_CHUNK; every user of the
    client through erasure.user_erase, in key order (progress[USER_CURSOR] says how far); the
    Client row becomes a tombstone, the export file goes, audit CLIENT_DELETED with the counts,
    closure DONE."""
    if not _start(closure):
        return closure
    closure = ClientClosure.objects.select_related("client").get(pk=closure.pk)
    for model in deletion_order():
        label = model._meta.label_lower
        while _delete_chunk(closure, model):
            _after_chunk(closure, label)
    while True:
        with transaction.atomic():
            # Locked first, the cursor read from the locked row: two runs at once (the daily
            # task taking up a slow one) never erase the same person twice.
            locked = ClientClosure.objects.select_for_update().get(pk=closure.pk)
            after = locked.progress.get(USER_CURSOR, 0)
            users = User.objects.for_client(closure.client).filter(pk__gt=after).order_by("pk")
            user = users.first()
            if user is None:
                break
            user_id = user.pk  # erasure may delete the row (and Django then clears user.pk)
            erasure.user_erase(user=user, actor=None, reason="client_closure")
            locked.progress[USER_CURSOR] = user_id
            locked.progress["accounts.user"] = locked.progress.get("accounts.user", 0) + 1
            locked.save(update_fields=["progress"])
            closure.progress = locked.progress
        _after_chunk(closure, "accounts.user")
    return _finish(closure)


TOMBSTONE_NAME = "Closed client"


@transaction.atomic
def _finish(closure: ClientClosure) -> ClientClosure:
    closure = ClientClosure.objects.select_for_update().select_related("client").get(pk=closure.pk)
    if closure.status != Status.DELETING:
        return closure
    client = closure.client
    # Billing records the law requires (issue 21) stay here, reduced to their minimum fields,
    # attached to the tombstone; none exist yet.
    client.name = TOMBSTONE_NAME
    client.slug = f"closed-{client.pk}"
    client.contact_email = ""
    client.status = Client.Status.CLOSED
    client.storage_bytes = 0
    client.save(update_fields=["name", "slug", "contact_email", "status", "storage_bytes"])
    if closure.export_file:
        _delete_on_commit(closure.export_file.storage, [closure.export_file.name])
    closure.export_file = ""
    closure.export_status = ExportStatus.NONE
    closure.status = Status.DONE
    closure.deleted_at = timezone.now()
    closure.save(update_fields=["export_file", "export_status", "status", "deleted_at"])
    audit.record(
        actor=None,
        action=audit.Action.CLIENT_DELETED,
        target=client,
        client=client,
        changes={"status": (Client.Status.ACTIVE, Client.Status.CLOSED)},
        counts=deleted_counts(closure),
    )
    return closure


def deleted_counts(closure: ClientClosure) -> dict[str, int]:
    """The closure's progress without its cursor: rows deleted (or detached) per model."""
    return {k: v for k, v in closure.progress.items() if k != USER_CURSOR}


def progress_summary(closure: ClientClosure) -> str:
    """ "1,200 prospects, 3 users, ..." for staff: counts only, never what was deleted."""
    parts = []
    for label, count in deleted_counts(closure).items():
        try:
            name = apps.get_model(label)._meta.verbose_name_plural
        except (LookupError, ValueError):
            name = label
        parts.append(f"{count:,} {name}")
    return ", ".join(parts)


def closures_due(*, now=None) -> dict[str, list[int]]:
    """The closures the daily task starts (grace period over) or takes up again (DELETING
    since more than DELETING_STALE: the run died). Returns their ids by what happens."""
    now = now or timezone.now()
    due = ClientClosure.objects.filter(status=Status.SCHEDULED, delete_after__lte=now)
    stale = ClientClosure.objects.filter(
        Q(status=Status.DELETING) & Q(deletion_started_at__lt=now - DELETING_STALE)
    )
    return {
        "started": list(due.order_by("pk").values_list("pk", flat=True)),
        "resumed": list(stale.order_by("pk").values_list("pk", flat=True)),
    }


def closures_start_due(*, now=None) -> dict[str, list[int]]:
    """The daily run: enqueue (on commit) the deletion of every closure closures_due finds,
    recorded in the audit trail as one retention event with counts."""
    from .tasks import privacy_closure_delete  # the tasks module calls this one

    found = closures_due(now=now)
    ids = found["started"] + found["resumed"]
    with transaction.atomic():
        if ids:
            audit.record(
                actor=None,
                action=audit.Action.RETENTION_APPLIED,
                counts={f"closures_{k}": len(v) for k, v in found.items()},
            )
        for closure_id in ids:
            transaction.on_commit(lambda pk=closure_id: privacy_closure_delete.delay(pk))
    return found
