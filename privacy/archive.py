"""The access archive: a copy of everything OpsX holds about a user, for an access request.

Its content comes from the personal data registry (opsx/personal_data.py) and nothing else:
for every holding, the rows about the user (a user key pointing at them, or an email field
holding one of their addresses), with the holding's `export` fields. A model that joins the
registry joins the archive; a test walks every installed model so none can be forgotten.

Who reads what. The build runs in a Celery task as the connection role, which bypasses
row-level security: the user's account, sessions, requests and audit events are read that way
(they are keyed to the user; several have no client key at all). Client Data holdings (the
tables of `clients.models.TenantModel`: prospects, visits, files, invitations, closures) are
read inside `tenant_scope(user.client)`, so row-level security keeps the read to the user's own
client even if a holding's filter were wrong. A consequence, wanted: an invitation another
company sent to the user's address is that company's data and is not in the copy. Staff
(no client) hold no Client Data, so those sections are empty for them.

Lifecycle: `archive_request` creates the row (BUILDING) and enqueues the build on commit;
`archive_build` (the task, idempotent) writes the ZIP, marks it READY, completes the access
request and mails the user; `archive_download` serves it until `expires_at`; `archive_expire`
(daily) deletes the files past it.
"""

import datetime
import decimal
import io
import json
import logging
import uuid
import zipfile
from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import ProfileRevision, User
from clients import audit
from clients.models import TenantModel
from clients.tenancy import tenant_scope
from opsx import mail
from opsx.models import OutboundMessage
from opsx.personal_data import Holding, holdings

from .models import AccessArchive, PrivacyRequest, PrivacyRequestEvent, SupportAccessLog
from .services import request_event, request_file, request_transition

logger = logging.getLogger(__name__)

Status = AccessArchive.Status
RequestStatus = PrivacyRequest.Status
Action = PrivacyRequestEvent.Action
ActorKind = PrivacyRequestEvent.ActorKind

SIGNING_SALT = "privacy.archive"
SUPPORT_VIEWS_TITLE = "Pages HexCM support viewed with your permission"
FAILED_MESSAGE = (
    "We could not build this copy. Your request stays open: HexCM support sees it and will "
    "build it again before its deadline."
)


def lifetime() -> timedelta:
    return timedelta(days=settings.PRIVACY_ARCHIVE_MAX_AGE_DAYS)


# --- what the archive holds ---------------------------------------------------------------


def user_addresses(user: User) -> list[str]:
    """Every address that is or was the user's, lower-case: the login, allauth's email
    addresses, and the old and new values of their email revisions (two queries)."""
    from allauth.account.models import EmailAddress

    addresses = {user.email}
    addresses.update(EmailAddress.objects.filter(user=user).values_list("email", flat=True))
    for old, new in ProfileRevision.objects.filter(
        user=user, field=ProfileRevision.Field.EMAIL
    ).values_list("old_value", "new_value"):
        addresses.update((old, new))
    return sorted({a.strip().lower() for a in addresses if a and a.strip()})


def _plain(value):
    """A value as JSON can hold it: dates and times in ISO 8601, ids as strings."""
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return value


@dataclass(frozen=True)
class _Column:
    name: str  # the export field's name: the key in data.json
    label: str  # its verbose name: the heading in index.html
    key: str  # what .values() returns it as
    public_key: str = ""  # for a key to a model with a public id: its public id
    to_user: bool = False  # a key to the user model: "you" when it is them


def _columns(model, holding: Holding) -> list[_Column]:
    columns = []
    for name in holding.export:
        field = model._meta.get_field(name)
        label = str(getattr(field, "verbose_name", name))
        if field.is_relation and (field.many_to_one or field.one_to_one):
            related = field.related_model
            has_public = any(f.name == "public_id" for f in related._meta.concrete_fields)
            columns.append(
                _Column(
                    name,
                    label,
                    key=name,
                    public_key=f"{name}__public_id" if has_public else "",
                    to_user=related._meta.label == settings.AUTH_USER_MODEL,
                )
            )
        else:
            columns.append(_Column(name, label, key=name))
    return columns


def _holding_rows(model, holding: Holding, user: User, addresses: list[str]) -> list[dict]:
    """The holding's rows about `user`, as {export field: plain value}: one query."""
    columns = _columns(model, holding)
    about = Q()
    for name in holding.user_fields:
        about |= Q(**{name: user.pk})
    qs = model._base_manager.all()  # every row we hold, whatever a default manager hides
    for i, name in enumerate(holding.email_fields):
        qs = qs.alias(**{f"_address_{i}": Lower(name)})
        about |= Q(**{f"_address_{i}__in": addresses})
    if not about:
        return []
    keys = {c.key for c in columns} | {c.public_key for c in columns if c.public_key}
    ways = (*holding.user_fields, *holding.email_fields)
    rows = []
    for values in qs.filter(about).values(*sorted(keys | set(ways))):
        row = {}
        for column in columns:
            value = values[column.key]
            if column.to_user and value == user.pk:
                value = "you"
            elif column.public_key and values[column.public_key] is not None:
                value = values[column.public_key]
            row[column.name] = _plain(value)
        if len(ways) > 1:  # which of its keys name the user, when there is a choice
            row["concerns_you_as"] = [
                name
                for name in ways
                if values[name] == user.pk
                or (name in holding.email_fields and (values[name] or "").lower() in addresses)
            ]
        rows.append(row)
    return rows


def _support_views(user: User) -> list[dict]:
    """Pages support viewed under the user's grants (the registry's SupportAccessLog entry
    is about staff's own views; these are the user's through their grants): one query."""
    rows = SupportAccessLog.objects.filter(grant__user=user).values(
        "grant__public_id", "at", "method", "path", "status_code"
    )
    return [
        {
            "grant": _plain(row["grant__public_id"]),
            "at": _plain(row["at"]),
            "method": row["method"],
            "path": row["path"],
            "status_code": row["status_code"],
        }
        for row in rows
    ]


def _is_client_data(model) -> bool:
    return issubclass(model, TenantModel)


def archive_data(user: User) -> dict:
    """Everything the registry says OpsX holds about `user`, grouped by holding title.

    Queries: 2 for the addresses, 1 per holding, 1 for support's page views, and 2 for the
    tenant scope of the Client Data holdings; never one per row."""
    addresses = user_addresses(user)
    entries = [(holding, apps.get_model(holding.model)) for holding in holdings()]
    rows: dict[str, list[dict]] = {}
    for holding, model in entries:
        if not _is_client_data(model):
            rows[holding.model] = _holding_rows(model, holding, user, addresses)
    client_data = [(h, m) for h, m in entries if _is_client_data(m)]
    if user.client_id is not None:
        with tenant_scope(user.client_id):
            for holding, model in client_data:
                rows[holding.model] = _holding_rows(model, holding, user, addresses)
    else:
        rows.update({holding.model: [] for holding, _ in client_data})

    client_name = user.client.name if user.client_id else ""
    sections = {}
    for holding, model in entries:
        title = holding.title or holding.model
        sections[title] = {
            "model": holding.model,
            "client_data": _is_client_data(model),
            "note": holding.note,
            "fields": {c.name: c.label for c in _columns(model, holding)},
            "rows": rows[holding.model],
        }
    sections[SUPPORT_VIEWS_TITLE] = {
        "model": "privacy.SupportAccessLog",
        "client_data": False,
        "note": "",
        "fields": {
            "grant": "grant",
            "at": "at",
            "method": "method",
            "path": "page",
            "status_code": "answer",
        },
        "rows": _support_views(user),
    }
    return {
        "about": {
            "generated_at": timezone.now().isoformat(),
            "user": str(user.public_id),
            "what": (
                "This is a copy of the personal data OpsX (run by HexCM) holds about you, made "
                "because you asked for it. data.json holds it for programs, index.html for "
                "reading. Each section is one place where we keep data about you."
            ),
            "client_data": (
                "Prospects, visits, files, imports and invitations belong to the company whose "
                f"account you use{f' ({client_name})' if client_name else ''}: this copy lists "
                "the ones you made or hold, by id and date, not their content. Ask that "
                "company for their content."
            ),
            "addresses": addresses,
        },
        "sections": sections,
    }


def archive_render_json(data: dict) -> str:
    return json.dumps(data, indent=2, default=str, ensure_ascii=False)


def _cell(value) -> str:
    if value is None or value == "":
        return "—"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def archive_render_html(data: dict) -> str:
    """The archive as one readable HTML page: self-contained (its styles inline, no link to
    anything outside it), every value escaped by the template."""
    sections = []
    for title, section in data["sections"].items():
        fields = list(section["fields"])
        headings = [section["fields"][f] for f in fields]
        with_ways = any("concerns_you_as" in row for row in section["rows"])
        if with_ways:
            headings.append("concerns you as")
        sections.append(
            {
                "title": title,
                "note": section["note"],
                "client_data": section["client_data"],
                "headings": headings,
                "rows": [
                    [_cell(row.get(f)) for f in fields]
                    + ([_cell(row.get("concerns_you_as"))] if with_ways else [])
                    for row in section["rows"]
                ],
            }
        )
    return render_to_string("privacy/archive.html", {"about": data["about"], "sections": sections})


def archive_zip(data: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", archive_render_json(data))
        archive.writestr("index.html", archive_render_html(data))
    return buffer.getvalue()


# --- signed links ---------------------------------------------------------------------


class ArchiveUnavailable(Exception):
    """Why an archive cannot be downloaded: `status` is the HTTP answer, the message says why
    in words for the person."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


def archive_token(archive: AccessArchive) -> str:
    return signing.dumps({"a": str(archive.public_id)}, salt=SIGNING_SALT)


def archive_link(archive: AccessArchive) -> str:
    return settings.SITE_URL + reverse("privacy:archive_signed", args=[archive_token(archive)])


def archive_from_token(token: str) -> AccessArchive:
    """The archive a signed link names, or ArchiveUnavailable (400) for a link that is
    broken, tampered with or older than an archive lives."""
    try:
        data = signing.loads(token[:500], salt=SIGNING_SALT, max_age=lifetime())
    except signing.SignatureExpired:
        raise ArchiveUnavailable(
            "This download link has expired. Sign in to OpsX and ask for a new copy of your "
            "data from your account's privacy page.",
            status=400,
        ) from None
    except signing.BadSignature:
        raise ArchiveUnavailable(
            "This download link is not valid. Check that you opened the whole link from the "
            "email, or sign in and download the copy from your account's privacy page.",
            status=400,
        ) from None
    archive = (
        AccessArchive.objects.select_related("request")
        .filter(public_id=data.get("a") if isinstance(data, dict) else None)
        .first()
    )
    if archive is None:
        raise ArchiveUnavailable(
            "This copy of your data no longer exists. Sign in to ask for a new one.", status=410
        )
    return archive


# --- the services -----------------------------------------------------------------------


def _enqueue_build(archive_id: int) -> None:
    from .tasks import privacy_archive_build

    try:
        privacy_archive_build.apply_async(args=[archive_id], retry=False)
    except Exception as exc:
        # The broker is down: the row stays BUILDING; the daily sweep enqueues it again.
        logger.warning(
            "Could not enqueue the build of archive %s (%s); the daily sweep retries it",
            archive_id,
            type(exc).__name__,
        )


@transaction.atomic
def archive_request(
    *, user: User, request: PrivacyRequest | None = None, actor: User | None
) -> AccessArchive:
    """Start building an archive of `user`'s data (for their access `request`, when there is
    one): the row, BUILDING, and the build task enqueued once this commits."""
    if request is not None:
        # Under the request's lock: a double click, or staff and the automatic start at
        # once, build one copy, not two.
        PrivacyRequest.objects.select_for_update().filter(pk=request.pk).first()
        if request.archives.filter(
            status__in=(AccessArchive.Status.BUILDING, AccessArchive.Status.READY)
        ).exists():
            raise ValidationError("The copy of the data for this request is already being made.")
        if request.kind != PrivacyRequest.Kind.ACCESS:
            raise ValidationError("Only an access request is answered with a copy of the data.")
        if not request.is_open:
            raise ValidationError(
                f"This request is {request.get_status_display().lower()}: no copy is built."
            )
        if request.status != RequestStatus.IN_PROGRESS:
            request_transition(
                request,
                to_status=RequestStatus.IN_PROGRESS,
                actor=actor,
                message="Building the copy of the data.",
            )
    archive = AccessArchive.objects.create(user=user, request=request)
    audit.record(
        actor=actor,
        action=audit.Action.ACCESS_ARCHIVE_REQUESTED,
        target=archive,
        client=audit.NO_CLIENT,
    )
    transaction.on_commit(lambda: _enqueue_build(archive.pk))
    return archive


@transaction.atomic
def archive_request_from_account(*, user: User) -> AccessArchive:
    """A signed-in user's "make a copy of my data": an access request, confirmed at once (they
    are signed in), whose filing starts the archive (privacy.services.request_file)."""
    already = PrivacyRequest.objects.filter(
        requester=user, kind=PrivacyRequest.Kind.ACCESS, status__in=PrivacyRequest.OPEN_STATUSES
    ).exists()
    if already:
        raise ValidationError(
            "Your copy is already being made: it appears below when it is ready, and we email "
            "you then."
        )
    request = request_file(
        kind=PrivacyRequest.Kind.ACCESS,
        channel=PrivacyRequest.Channel.ACCOUNT,
        requester=user,
        name="",
        email="",
        details="",
    )
    return request.archives.get()


def archive_build(*, archive: AccessArchive) -> AccessArchive:
    """Build the archive's ZIP (data.json + index.html) into storage, mark it READY until
    PRIVACY_ARCHIVE_MAX_AGE_DAYS from now, complete its access request and mail the user.

    Idempotent: the row is taken under `select_for_update(skip_locked=True)` while BUILDING,
    so a retry, a duplicate delivery or a second worker does nothing. If anything after the
    file is written fails, the file is deleted and the transaction rolls back."""
    with transaction.atomic():
        locked = (
            AccessArchive.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user__client", "request")
            .filter(pk=archive.pk, status=Status.BUILDING)
            .first()
        )
        if locked is None:
            return archive
        request = locked.request
        if request is not None and not request.is_open:
            return _fail(
                locked,
                reason=f"The request was {request.get_status_display().lower()} before the "
                "copy was built.",
            )
        data = archive_data(locked.user)
        content = archive_zip(data)
        now = timezone.now()
        locked.file.save("archive.zip", ContentFile(content), save=False)
        try:
            _ready(locked, data=data, size=len(content), now=now)
        except BaseException:
            locked.file.storage.delete(locked.file.name)
            raise
        return locked


def _ready(archive: AccessArchive, *, data: dict, size: int, now) -> None:
    archive.status = Status.READY
    archive.ready_at = now
    archive.expires_at = now + lifetime()
    archive.size = size
    archive.failure_reason = ""
    archive.save(
        update_fields=["file", "status", "ready_at", "expires_at", "size", "failure_reason"]
    )
    rows = sum(len(s["rows"]) for s in data["sections"].values())
    audit.record(
        actor=None,
        action=audit.Action.ACCESS_ARCHIVE_BUILT,
        target=archive,
        counts={"sections": len(data["sections"]), "rows": rows},
    )
    until = f"{archive.expires_at:%Y-%m-%d %H:%M} UTC"
    request = archive.request
    if request is not None:
        request_event(
            request,
            action=Action.ARCHIVE_BUILT,
            actor=None,
            message=f"The copy of the data was built; it can be downloaded until {until}.",
        )
        request.outcome = (
            f"A copy of your data was made. Download it from your account's privacy page, or "
            f"with the link we emailed you, until {until}."
        )
        request_transition(
            request,
            to_status=RequestStatus.DONE,
            actor=None,
            action=Action.DONE,
            message="Answered with the copy of the data.",
            update_fields=("outcome",),
        )
    mail.queue(
        to=archive.user.email,
        template="privacy-archive-ready",
        context={
            "user": archive.user,
            "archive": archive,
            "until": until,
            "account_url": settings.SITE_URL + reverse("privacy:archives"),
            "link": archive_link(archive),
            "days": settings.PRIVACY_ARCHIVE_MAX_AGE_DAYS,
        },
        category=OutboundMessage.Category.ACCOUNT,
        secret_ttl=lifetime(),
    )


def _fail(archive: AccessArchive, *, reason: str) -> AccessArchive:
    archive.status = Status.FAILED
    archive.failure_reason = reason[:300]
    archive.save(update_fields=["status", "failure_reason"])
    audit.record(actor=None, action=audit.Action.ACCESS_ARCHIVE_FAILED, target=archive)
    if archive.request is not None:
        request_event(
            archive.request, action=Action.NOTE, actor=None, message=f"Archive failed: {reason}"
        )
    return archive


def archive_run(archive_id: int) -> str:
    """The build task's body: build the archive, or mark it FAILED with a clear message when
    the build raises (logged with its traceback for staff; the user reads the message)."""
    archive = AccessArchive.objects.filter(pk=archive_id).first()
    if archive is None or archive.status != Status.BUILDING:
        return "skipped"
    try:
        archive = archive_build(archive=archive)
    except Exception:
        logger.exception("Building access archive %s failed", archive_id)
        with transaction.atomic():
            locked = (
                AccessArchive.objects.select_for_update(of=("self",))
                .select_related("request")
                .filter(pk=archive_id, status=Status.BUILDING)
                .first()
            )
            if locked is not None:
                _fail(locked, reason=FAILED_MESSAGE)
        return Status.FAILED
    return archive.status


def archive_check(archive: AccessArchive, *, now=None) -> None:
    """Raise ArchiveUnavailable unless the archive can be downloaded now."""
    now = now or timezone.now()
    if archive.status == Status.EXPIRED or (
        archive.status == Status.READY and archive.expires_at and archive.expires_at <= now
    ):
        raise ArchiveUnavailable(
            f"This copy of your data expired on {archive.expires_at:%Y-%m-%d} and was deleted "
            f"(a copy is kept for {settings.PRIVACY_ARCHIVE_MAX_AGE_DAYS} days). Ask for a new "
            "one from your account's privacy page.",
            status=410,
        )
    if archive.status == Status.FAILED:
        raise ArchiveUnavailable(archive.failure_reason or FAILED_MESSAGE, status=404)
    if archive.status != Status.READY:
        raise ArchiveUnavailable(
            "This copy is still being made. We email you when it is ready.", status=404
        )


@transaction.atomic
def archive_download(*, archive: AccessArchive, actor: User | None, by_link: bool = False):
    """Open the archive's file for download, recorded: downloaded_at, an audit event and a
    line on the request's timeline. `actor`: the signed-in user, or None for the emailed link
    (whoever holds it). Raises ArchiveUnavailable when it cannot be downloaded."""
    archive_check(archive)
    try:
        content = archive.file.open("rb")
    except FileNotFoundError:
        raise ArchiveUnavailable(
            "The file of this copy is missing. Ask for a new one from your account's privacy page.",
            status=410,
        ) from None
    archive.downloaded_at = timezone.now()
    archive.save(update_fields=["downloaded_at"])
    audit.record(
        actor=actor,
        action=audit.Action.ACCESS_ARCHIVE_DOWNLOADED,
        target=archive,
        client=audit.NO_CLIENT,
    )
    if archive.request_id is not None:
        request_event(
            archive.request,
            action=Action.ARCHIVE_DOWNLOADED,
            actor=actor,
            actor_kind=ActorKind.REQUESTER,
            message="Downloaded with the emailed link." if by_link else "Downloaded.",
        )
    return content


def archive_expire(*, now=None) -> int:
    """Delete the files of archives past their expiry and mark them EXPIRED (daily task).
    The rows stay (the user's list says it expired); the files go once this commits.
    Returns how many expired."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            AccessArchive.objects.select_for_update(skip_locked=True)
            .filter(status=Status.READY, expires_at__lte=now)
            .values_list("pk", "file")
        )
        if not due:
            return 0
        AccessArchive.objects.filter(pk__in=[pk for pk, _ in due]).update(
            status=Status.EXPIRED, file=""
        )
        audit.record(
            actor=None, action=audit.Action.ACCESS_ARCHIVES_EXPIRED, counts={"archives": len(due)}
        )
        names = [name for _, name in due if name]
        transaction.on_commit(lambda: [default_storage.delete(name) for name in names])
    return len(due)


def archives_resume_stale(*, older_than: timedelta = timedelta(hours=1)) -> int:
    """Enqueue again the builds still BUILDING long after they were asked for (the broker was
    down when they were enqueued, or the worker died). The build is idempotent."""
    stale = list(
        AccessArchive.objects.filter(
            status=Status.BUILDING, created_at__lt=timezone.now() - older_than
        ).values_list("pk", flat=True)
    )
    for archive_id in stale:
        _enqueue_build(archive_id)
    return len(stale)


def archives_of(user: User, *, limit: int = 50) -> list[AccessArchive]:
    """The user's archives, newest first (the account page's list): one query."""
    return list(AccessArchive.objects.filter(user=user).order_by("-created_at")[:limit])
