"""Files and folders of Client Data: upload checks, storage, the byte count per client.

Files are stored through Django's storage API under random names and are never published:
views.file_download checks the tenant and sends them as attachments.
"""

import datetime
import os

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from accounts.models import User
from clients import audit
from clients.models import Client

from .models import (
    MAX_FOLDER_DEPTH,
    Folder,
    ImportJob,
    Prospect,
    ProspectEvent,
    StoredFile,
    Visit,
)

# Detected MIME type -> the name endings that may carry it.
ALLOWED_TYPES = {
    "image/jpeg": {".jpg", ".jpeg"},
    "image/png": {".png"},
    "image/gif": {".gif"},
    "image/webp": {".webp"},
    "image/heic": {".heic"},
    "application/pdf": {".pdf"},
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {".docx"},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {".xlsx"},
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": {".pptx"},
    "application/vnd.oasis.opendocument.text": {".odt"},
    "application/vnd.oasis.opendocument.spreadsheet": {".ods"},
    "text/plain": {".txt"},
    "text/csv": {".csv"},
}
TEXT_TYPES = {".txt": "text/plain", ".csv": "text/csv"}
ALLOWED_ENDINGS = sorted({e for endings in ALLOWED_TYPES.values() for e in endings})


def _size(n_bytes: int) -> str:
    return filesizeformat(n_bytes).replace("\xa0", " ")  # a message is plain text


def detect_type(upload: UploadedFile) -> str:
    """The MIME type of the upload, from its content, checked against its name.

    Raises ValidationError for a type outside the allowlist, or content that does not match
    the name (a program renamed to .pdf, a picture called .docx).
    """
    name = upload.name or ""
    ending = os.path.splitext(name)[1].lower()
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None:
        # No magic bytes: only plain text is allowed, and it must be text.
        if ending in TEXT_TYPES and b"\x00" not in head:
            try:
                head.decode("utf-8")
            except UnicodeDecodeError as exc:
                if exc.start < len(head) - 4:  # not just a character cut at the 8 KB mark
                    raise ValidationError(
                        f"“{name}” is not UTF-8 text. Save it as UTF-8 and upload it again."
                    ) from None
            return TEXT_TYPES[ending]
        raise ValidationError(
            f"“{name}” is not a file type OpsX accepts. Allowed: {', '.join(ALLOWED_ENDINGS)}."
        )
    mime = kind.mime
    if mime == "application/zip" and ending in (".docx", ".xlsx", ".pptx", ".odt", ".ods"):
        mime = next(m for m, e in ALLOWED_TYPES.items() if ending in e)  # office files are zips
    if mime not in ALLOWED_TYPES:
        raise ValidationError(
            f"“{name}” is a {kind.extension.upper()} file, which OpsX does not accept. "
            f"Allowed: {', '.join(ALLOWED_ENDINGS)}."
        )
    if ending not in ALLOWED_TYPES[mime]:
        raise ValidationError(
            f"“{name}” does not match its content: it is really a {kind.extension.upper()} file. "
            "Rename it or upload the right file."
        )
    return mime


def _check_size(upload: UploadedFile) -> None:
    limit = settings.MAX_UPLOAD_BYTES
    if upload.size > limit:
        raise ValidationError(
            f"“{upload.name}” is {_size(upload.size)}; the limit is {_size(limit)}."
        )
    if upload.size == 0:
        raise ValidationError(f"“{upload.name}” is empty.")


def _clean_name(name: str) -> str:
    name = os.path.basename(name.replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    return name[:255] or "file"


@transaction.atomic
def file_store(
    *,
    client: Client,
    actor: User,
    upload: UploadedFile,
    folder: Folder | None = None,
    prospect: Prospect | None = None,
    visit: Visit | None = None,
) -> StoredFile:
    """Check and keep an uploaded file in the library (folder) or on a prospect or visit."""
    for owner in (folder, prospect, visit):
        if owner is not None and owner.client_id != client.pk:
            raise ValidationError("Unknown folder, prospect or visit.")
    if visit is not None:
        prospect = visit.prospect
    _check_size(upload)
    content_type = detect_type(upload)
    stored = StoredFile(
        client=client,
        name=_clean_name(upload.name),
        content_type=content_type,
        size=upload.size,
        folder=folder,
        prospect=prospect,
        visit=visit,
        uploaded_by=actor,
    )
    stored.blob.save("upload", upload, save=False)
    try:
        stored.save()
        Client.objects.filter(pk=client.pk).update(storage_bytes=F("storage_bytes") + stored.size)
        if prospect is not None:
            ProspectEvent.objects.create(
                client=client,
                prospect=prospect,
                kind=ProspectEvent.Kind.FILE,
                actor=actor,
                at=stored.created_at,
                file=stored,
                visit=visit,
                text=stored.name,
            )
    except Exception:
        stored.blob.storage.delete(stored.blob.name)  # no row, so no bytes either
        raise
    audit.record(
        actor=actor,
        action=audit.Action.FILE_UPLOADED,
        target=stored,
        counts={"bytes": stored.size},
    )
    return stored


@transaction.atomic
def files_delete(
    *, client: Client, files: list[StoredFile], actor: User, audited: bool = True
) -> int:
    """Delete rows now and the bytes once the deletion has committed. `audited=False`: the
    caller (a folder's or a prospect's deletion) records one event for all of it."""
    files = [f for f in files if f.client_id == client.pk]
    if not files:
        return 0
    total = sum(f.size for f in files)
    names = [f.blob.name for f in files]
    storage = files[0].blob.storage
    StoredFile.objects.filter(pk__in=[f.pk for f in files]).delete()
    Client.objects.filter(pk=client.pk).update(storage_bytes=F("storage_bytes") - total)
    transaction.on_commit(lambda: [storage.delete(name) for name in names])
    if audited:
        audit.record(
            actor=actor,
            action=audit.Action.FILES_DELETED,
            target=files[0] if len(files) == 1 else None,
            client=client,
            counts={"files": len(files), "bytes": total},
        )
    return len(files)


BLOB_ROOT = "client-files"  # _blob_path puts every client's files under it, a folder each
ORPHAN_GRACE = datetime.timedelta(hours=1)


def files_sweep_orphans(*, grace: datetime.timedelta = ORPHAN_GRACE) -> int:
    """Delete stored bytes that no file or import record names, and return how many.

    file_store writes the bytes before its row, inside the request's transaction: when that
    transaction rolls back later (an error after the upload), the bytes stay with no record to
    count, list or erase them. Bytes younger than `grace` are left alone, since their row may
    not have committed yet. Two queries per client folder, whatever it holds.
    """
    storage = StoredFile._meta.get_field("blob").storage
    try:
        folders, _ = storage.listdir(BLOB_ROOT)
    except FileNotFoundError:  # nothing was ever stored
        return 0
    client_ids = {str(p): pk for p, pk in Client.objects.values_list("public_id", "pk")}
    cutoff = timezone.now() - grace
    removed = 0
    for folder in folders:
        _, names = storage.listdir(f"{BLOB_ROOT}/{folder}")
        client_id = client_ids.get(folder)
        known = set()
        if client_id is not None:  # its files, and the CSV files of its imports
            known.update(StoredFile.objects.for_client(client_id).values_list("blob", flat=True))
            known.update(ImportJob.objects.for_client(client_id).values_list("source", flat=True))
        for name in names:
            path = f"{BLOB_ROOT}/{folder}/{name}"
            if path not in known and storage.get_modified_time(path) < cutoff:
                storage.delete(path)
                removed += 1
    return removed


@transaction.atomic
def folder_create(*, client: Client, actor: User, name: str, parent: Folder | None) -> Folder:
    name = " ".join(name.split())
    if not name or len(name) > 120 or "/" in name:
        raise ValidationError({"name": ["A folder name has 1 to 120 characters and no “/”."]})
    if parent is not None and parent.client_id != client.pk:
        raise ValidationError("Unknown folder.")
    if parent is not None and len(parent.ancestor_ids) + 1 >= MAX_FOLDER_DEPTH:
        raise ValidationError(
            f"Folders nest at most {MAX_FOLDER_DEPTH} levels deep; create this one higher up."
        )
    siblings = Folder.objects.for_client(client).filter(parent=parent)
    if siblings.filter(name__iexact=name).exists():
        raise ValidationError({"name": [f"There is already a folder called “{name}” here."]})
    folder = Folder.objects.create(
        client=client,
        name=name,
        parent=parent,
        ancestry=parent.subtree_prefix if parent is not None else "",
        created_by=actor,
    )
    audit.record(actor=actor, action=audit.Action.FOLDER_CREATED, target=folder)
    return folder


@transaction.atomic
def folder_delete(*, folder: Folder, actor: User) -> None:
    """Delete a folder with its subfolders and files (bytes removed after commit)."""
    below = Folder.objects.for_client(folder.client).filter(
        ancestry__startswith=folder.subtree_prefix
    )
    ids = [folder.pk, *below.values_list("pk", flat=True)]
    files = list(StoredFile.objects.for_client(folder.client).filter(folder_id__in=ids))
    files_delete(client=folder.client, files=files, actor=actor, audited=False)
    audit.record(
        actor=actor,
        action=audit.Action.FOLDER_DELETED,
        target=folder,
        counts={"folders": len(ids), "files": len(files)},
    )
    folder.delete()
