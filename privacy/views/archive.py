"""Access archives in the account pages: the list, "make a copy of my data", the download,
and the download by the signed link of the "your copy is ready" email (no sign-in)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from opsx.forms import flash_refusal

from .. import archive as service
from ..decorators import account_required
from ..models import AccessArchive


def _refused(request, exc: service.ArchiveUnavailable):
    return render(
        request, "privacy/archive_unavailable.html", {"reason": str(exc)}, status=exc.status
    )


def _attachment(content, archive: AccessArchive) -> FileResponse:
    response = FileResponse(
        content,
        as_attachment=True,
        filename=f"opsx-my-data-{archive.ready_at:%Y-%m-%d}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _head(archive: AccessArchive) -> HttpResponse:
    """A HEAD (a mail program or a scanner checking the link) answers as the download would,
    without the file and without counting as one: only a GET is recorded as a download."""
    service.archive_check(archive)
    response = HttpResponse(content_type="application/zip")
    response["Content-Disposition"] = (
        f'attachment; filename="opsx-my-data-{archive.ready_at:%Y-%m-%d}.zip"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
@account_required
def archives(request):
    if request.method == "POST":
        try:
            service.archive_request_from_account(user=request.user)
        except ValidationError as exc:
            flash_refusal(request, exc)
        else:
            messages.success(
                request, "We are making a copy of your data. We email you when it is ready."
            )
        return redirect("privacy:archives")
    rows = service.archives_of(request.user)
    building = any(a.status == AccessArchive.Status.BUILDING for a in rows)
    context = {
        "archives": rows,
        "building": building,
        "max_age_days": settings.PRIVACY_ARCHIVE_MAX_AGE_DAYS,
    }
    return render(request, "privacy/archives.html", context)


@require_safe
@account_required
def archive_download(request, public_id):
    archive = get_object_or_404(
        AccessArchive.objects.filter(user=request.user).select_related("request"),
        public_id=public_id,
    )
    try:
        if request.method == "HEAD":
            return _head(archive)
        content = service.archive_download(archive=archive, actor=request.user)
    except service.ArchiveUnavailable as exc:
        return _refused(request, exc)
    return _attachment(content, archive)


@require_safe
def archive_signed(request, token):
    try:
        archive = service.archive_from_token(token)
        if request.method == "HEAD":
            return _head(archive)
        content = service.archive_download(archive=archive, actor=None, by_link=True)
    except service.ArchiveUnavailable as exc:
        response = _refused(request, exc)
        response["Cache-Control"] = "private, no-store"
        return response
    return _attachment(content, archive)
