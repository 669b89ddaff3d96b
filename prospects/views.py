"""Client Data pages. Every object comes through an access helper in queries.py (404 for
another client's id); every change goes through a service."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import User
from clients.decorators import client_admin_required, client_member_required
from opsx.forms import flash_refusal, posted

from . import exporting, files, importing, queries, services
from .forms import (
    BulkForm,
    ChecklistForm,
    CustomFieldForm,
    FolderForm,
    ImportMappingForm,
    ImportReadForm,
    ImportUploadForm,
    ImportValuesForm,
    NoteForm,
    PositionForm,
    ProspectForm,
    UploadForm,
    VisitPlanForm,
    VisitReportForm,
    apply_errors,
)
from .models import Checklist, ImportJob, Prospect


def _next_url(request, default: str) -> str:
    """The form's `next` if it is a path on this site, else the default page."""
    url = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()})
    if url.startswith("/") and allowed:  # a path, never a word redirect() would take for a view
        return url
    return reverse(default)


def _status(form) -> int:
    return 400 if form.is_bound and form.errors else 200


# --- prospects ----------------------------------------------------------------


@client_member_required
def prospect_list(request):
    filters = queries.ProspectFilters.from_query(request.GET)
    # the custom-field and owner filters' choices (the bulk form's owners too)
    definitions, users = queries.list_choices(request.client)
    qs = queries.prospect_list(request.client, filters, user=request.user, definitions=definitions)
    try:
        page = queries.prospect_page(
            qs,
            filters.sort,
            after=request.GET.get("after", ""),
            before=request.GET.get("before", ""),
        )
    except ValidationError as exc:
        filters.errors.append(exc.messages[0])
        page = queries.prospect_page(qs, filters.sort)
    for error in filters.errors:
        messages.warning(request, error)
    context = {
        "page": page,
        "filters": filters,
        "query": filters.as_query(),
        "statuses": Prospect.Status.choices,
        "definitions": definitions,
        "bulk_form": BulkForm(users=users) if request.user.is_client_admin else None,
        "users": users,
    }
    return render(request, "prospects/list.html", context)


@require_POST
@client_admin_required
def prospect_bulk(request):
    form = BulkForm(request.POST, users=User.objects.for_client(request.client).active())
    back = _next_url(request, "prospects:list")
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(back)
    data = form.cleaned_data
    try:
        if data["action"] == "assign":
            n = services.prospects_bulk_assign(
                client=request.client,
                actor=request.user,
                public_ids=data["selected"],
                owner=data["owner"],
            )
        else:
            n = services.prospects_bulk_status(
                client=request.client,
                actor=request.user,
                public_ids=data["selected"],
                status=data["status"],
            )
    except ValidationError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, f"{n} prospect(s) updated.")
    return redirect(back)


@client_member_required
def prospect_export(request):
    filters = queries.ProspectFilters.from_query(request.GET)
    definitions = queries.custom_field_definitions(request.client)
    qs = queries.prospect_list(request.client, filters, user=request.user, definitions=definitions)
    rows = services.prospects_export(
        client=request.client, actor=request.user, qs=qs, definitions=definitions
    )
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="prospects-{stamp}.csv"'
    return response


@client_member_required
def prospect_create(request):
    definitions = queries.custom_field_definitions(request.client)
    form = ProspectForm(
        posted(request),
        client=request.client,
        definitions=definitions,
    )
    if request.method == "POST" and form.is_valid():
        try:
            prospect = services.prospect_create(
                client=request.client, actor=request.user, raw=form.raw()
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"{prospect.name} was added.")
            return redirect("prospects:detail", prospect.public_id)
    return render(request, "prospects/form.html", {"form": form}, status=_status(form))


@client_member_required
def prospect_detail(request, public_id):
    prospect = queries.access_prospect(request.client, public_id)
    definitions = queries.custom_field_definitions(request.client)
    context = {
        "prospect": prospect,
        "phones": list(prospect.phones.all()),
        "custom_values": [
            (d.label, prospect.custom[d.key]) for d in definitions if d.key in prospect.custom
        ],
        "timeline": queries.prospect_timeline(prospect),
        "visits": queries.prospect_visits(prospect)[:50],
        "attachments": queries.attached_files(prospect=prospect)[::-1],  # newest first
        "note_form": NoteForm(),
        "visit_form": VisitPlanForm(client=request.client, initial={"user": request.user.pk}),
        "upload_form": UploadForm(),
    }
    return render(request, "prospects/detail.html", context)


@client_member_required
def prospect_edit(request, public_id):
    prospect = queries.access_prospect(request.client, public_id)
    definitions = queries.custom_field_definitions(request.client)
    form = ProspectForm(
        posted(request),
        client=request.client,
        definitions=definitions,
        initial=ProspectForm.initial_for(prospect),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.prospect_update(prospect=prospect, actor=request.user, raw=form.raw())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("prospects:detail", prospect.public_id)
    return render(
        request, "prospects/form.html", {"form": form, "prospect": prospect}, status=_status(form)
    )


@require_POST
@client_member_required
def prospect_note(request, public_id):
    prospect = queries.access_prospect(request.client, public_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.prospect_add_note(
                prospect=prospect, actor=request.user, text=form.cleaned_data["text"]
            )
        except ValidationError as exc:
            flash_refusal(request, exc)
        else:
            messages.success(request, "Note added.")
    else:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect("prospects:detail", prospect.public_id)


@require_POST
@client_member_required
def prospect_upload(request, public_id):
    prospect = queries.access_prospect(request.client, public_id)
    _upload(request, prospect=prospect)
    return redirect("prospects:detail", prospect.public_id)


def _upload(request, **target) -> None:
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a file to upload.")
        return
    try:
        stored = files.file_store(
            client=request.client, actor=request.user, upload=form.cleaned_data["file"], **target
        )
    except ValidationError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, f"{stored.name} uploaded.")


@client_admin_required
def prospect_data_export(request, public_id):
    """Everything held about one prospect, files included, as a ZIP file for the client's own
    access requests."""
    prospect = queries.access_prospect(request.client, public_id)
    return FileResponse(
        services.prospect_export_archive(prospect, actor=request.user),
        as_attachment=True,
        filename=f"prospect-{prospect.public_id}.zip",
        content_type="application/zip",
    )


@client_admin_required
def prospect_erase(request, public_id):
    prospect = queries.access_prospect(request.client, public_id)
    if request.method == "POST":
        if request.POST.get("confirm_name", "").strip() != prospect.name:
            messages.error(request, "Type the prospect's name exactly to confirm.")
        else:
            counts = services.prospect_erase(prospect=prospect, actor=request.user)
            messages.success(
                request,
                f"{prospect.name} was erased with {counts['visits']} visit(s) and {counts['files']} file(s).",
            )
            return redirect("prospects:list")
    return render(request, "prospects/erase.html", {"prospect": prospect})


# --- visits -------------------------------------------------------------------


@require_POST
@client_member_required
def visit_plan(request, public_id):
    prospect = queries.access_prospect(request.client, public_id)
    form = VisitPlanForm(request.POST, client=request.client)
    if form.is_valid():
        try:
            visit = services.visit_plan(prospect=prospect, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            flash_refusal(request, exc)
        else:
            messages.success(request, "Visit planned.")
            return redirect("prospects:visit", visit.public_id)
    else:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect("prospects:detail", prospect.public_id)


@client_member_required
def visit_detail(request, public_id):
    visit = queries.access_visit(request.client, public_id)
    attachments = queries.attached_files(visit=visit)
    form = VisitReportForm(
        posted(request),
        visit=visit,
        files=attachments,
        initial={"outcome": visit.outcome, "report": visit.report},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_complete(
                visit=visit,
                actor=request.user,
                outcome=form.cleaned_data["outcome"],
                report=form.cleaned_data["report"],
                answers=form.answers(),
                latitude=form.cleaned_data["latitude"],
                longitude=form.cleaned_data["longitude"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Visit report saved.")
            return redirect("prospects:detail", visit.prospect.public_id)
    context = {
        "visit": visit,
        "form": form,
        "position_form": PositionForm(),
        "upload_form": UploadForm(),
        "attachments": attachments,
    }
    return render(request, "prospects/visit.html", context, status=_status(form))


@require_POST
@client_member_required
def visit_check_in(request, public_id):
    visit = queries.access_visit(request.client, public_id)
    form = PositionForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "The position sent by the browser is not valid; check in without it."
        )
        return redirect("prospects:visit", visit.public_id)
    try:
        services.visit_check_in(visit=visit, actor=request.user, **form.cleaned_data)
    except ValidationError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, "Checked in.")
    return redirect("prospects:visit", visit.public_id)


@require_POST
@client_member_required
def visit_cancel(request, public_id):
    visit = queries.access_visit(request.client, public_id)
    try:
        services.visit_cancel(visit=visit, actor=request.user)
    except ValidationError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, "Visit cancelled.")
    return redirect("prospects:detail", visit.prospect.public_id)


@require_POST
@client_member_required
def visit_upload(request, public_id):
    visit = queries.access_visit(request.client, public_id)
    _upload(request, visit=visit)
    return redirect("prospects:visit", visit.public_id)


# --- files and folders ----------------------------------------------------------


@client_member_required
def library(request, public_id=None):
    folder = queries.access_folder(request.client, public_id) if public_id else None
    folders, stored = queries.folder_contents(request.client, folder)
    context = {
        "folder": folder,
        "path": queries.folder_path(folder),
        "folders": folders,
        "files": stored,
        "folder_form": FolderForm(),
        "upload_form": UploadForm(),
    }
    return render(request, "prospects/library.html", context)


def _library_redirect(folder):
    return (
        redirect("prospects:folder", folder.public_id) if folder else redirect("prospects:library")
    )


@require_POST
@client_member_required
def folder_create(request, public_id=None):
    parent = queries.access_folder(request.client, public_id) if public_id else None
    form = FolderForm(request.POST)
    if form.is_valid():
        try:
            folder = files.folder_create(
                client=request.client,
                actor=request.user,
                name=form.cleaned_data["name"],
                parent=parent,
            )
        except ValidationError as exc:
            flash_refusal(request, exc)
        else:
            return _library_redirect(folder)
    else:
        messages.error(request, "Give the folder a name of at most 120 characters.")
    return _library_redirect(parent)


@require_POST
@client_admin_required
def folder_delete(request, public_id):
    folder = queries.access_folder(request.client, public_id)
    parent = folder.parent
    files.folder_delete(folder=folder, actor=request.user)
    messages.success(request, f"Folder {folder.name} and everything in it was deleted.")
    return _library_redirect(parent)


@require_POST
@client_member_required
def library_upload(request, public_id=None):
    folder = queries.access_folder(request.client, public_id) if public_id else None
    _upload(request, folder=folder)
    return _library_redirect(folder)


@client_member_required
def file_download(request, public_id):
    stored = queries.access_file(request.client, public_id)
    try:
        content = stored.blob.open("rb")
    except FileNotFoundError:
        raise Http404("The content of this file is missing from storage.") from None
    response = FileResponse(
        content,
        as_attachment=True,
        filename=stored.name,
        content_type=stored.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@client_member_required
def file_delete(request, public_id):
    stored = queries.access_file(request.client, public_id)
    if not (request.user.is_client_admin or stored.uploaded_by_id == request.user.pk):
        messages.error(request, "Only the person who uploaded a file, or an admin, can delete it.")
    else:
        files.files_delete(client=request.client, files=[stored], actor=request.user)
        messages.success(request, f"{stored.name} was deleted.")
    return redirect(_next_url(request, "prospects:library"))


# --- definitions (client admins) ------------------------------------------------


@client_admin_required
def custom_fields(request):
    form = CustomFieldForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.custom_field_create(
                client=request.client, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Field added.")
            return redirect("prospects:custom_fields")
    context = {"form": form, "definitions": queries.custom_field_definitions(request.client)}
    return render(request, "prospects/custom_fields.html", context, status=_status(form))


@require_POST
@client_admin_required
def custom_field_delete(request, key):
    field = queries.access_custom_field(request.client, key)
    services.custom_field_delete(field=field, actor=request.user)
    messages.success(request, f"Field {field.label} removed.")
    return redirect("prospects:custom_fields")


@client_admin_required
def checklists(request):
    context = {"checklists": Checklist.objects.for_client(request.client)}
    return render(request, "prospects/checklists.html", context)


@client_admin_required
def checklist_edit(request, public_id=None):
    checklist = queries.access_checklist(request.client, public_id) if public_id else None
    initial = (
        {"name": checklist.name, "items": ChecklistForm.items_text(checklist)}
        if checklist
        else None
    )
    form = ChecklistForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.checklist_save(
                client=request.client, actor=request.user, checklist=checklist, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Checklist saved.")
            return redirect("prospects:checklists")
    return render(
        request,
        "prospects/checklist_form.html",
        {"form": form, "checklist": checklist},
        status=_status(form),
    )


# --- import -----------------------------------------------------------------------


@client_member_required
def import_new(request):
    form = ImportUploadForm(
        posted(request),
        posted(request, files=True),
    )
    if request.method == "POST" and form.is_valid():
        try:
            job = importing.import_upload(
                client=request.client, actor=request.user, upload=form.cleaned_data["file"]
            )
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            return redirect("prospects:import_map", job.public_id)
    recent = ImportJob.objects.for_client(request.client).select_related("created_by")[:10]
    return render(
        request, "prospects/import_new.html", {"form": form, "recent": recent}, status=_status(form)
    )


@client_member_required
def import_map(request, public_id):
    job = queries.access_import(request.client, public_id)
    if job.status != ImportJob.Status.UPLOADED:
        return redirect("prospects:import_detail", job.public_id)
    try:
        preview, file_rows = importing.import_rows_shown(job)
    except importing.SourceMissing:
        return _import_gone(request, job)
    fields = importing.import_fields(request.client)
    form = ImportMappingForm(posted(request), job=job, fields=fields)
    if request.method == "POST" and form.is_valid():
        try:
            job = importing.import_choose_columns(
                job=job,
                actor=request.user,
                mapping=form.mapping(job),
                on_duplicate=form.cleaned_data["on_duplicate"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if job.status == ImportJob.Status.UPLOADED:
                return redirect("prospects:import_values", job.public_id)
            return redirect("prospects:import_detail", job.public_id)
    columns = [form[name] for name in form.column_fields]
    context = {
        "job": job,
        "form": form,
        "columns": columns,
        "preview": preview,
        "read_form": ImportReadForm(job=job),
        "file_rows": file_rows,
        "encoding_label": importing.encoding_label(job.encoding),
        "delimiter_label": importing.DELIMITERS.get(job.delimiter, f"“{job.delimiter}”"),
        "empty_columns": importing.empty_columns(job),
        "nothing_ignored": all(column.value() for column in columns),
    }
    return render(request, "prospects/import_map.html", context, status=_status(form))


@require_POST
@client_member_required
def import_reread(request, public_id):
    """The mapping page's "read the file differently": encoding, header row or sheet."""
    job = queries.access_import(request.client, public_id)
    if job.status != ImportJob.Status.UPLOADED:
        return redirect("prospects:import_detail", job.public_id)
    form = ImportReadForm(request.POST, job=job)
    if not form.is_valid():
        flash_refusal(request, ValidationError([e for errs in form.errors.values() for e in errs]))
        return redirect("prospects:import_map", job.public_id)
    try:
        importing.import_reread(
            job=job,
            actor=request.user,
            encoding=form.cleaned_data.get("encoding") or None,
            header_row=form.cleaned_data.get("header_row"),
            sheet=form.cleaned_data.get("sheet") or None,
        )
    except importing.SourceMissing:
        return _import_gone(request, job)
    except ValidationError as exc:
        flash_refusal(request, exc)
    return redirect("prospects:import_map", job.public_id)


@client_member_required
def import_values(request, public_id):
    """The values step: each status, owner and country value of the file mapped to ours."""
    job = queries.access_import(request.client, public_id)
    if job.status != ImportJob.Status.UPLOADED:
        return redirect("prospects:import_detail", job.public_id)
    owners = queries.active_owners_by_email(request.client)
    found = importing.found_values(job, owners)
    form = ImportValuesForm(posted(request), found=found, choices=importing.value_choices(owners))
    if request.method == "POST" and form.is_valid():
        try:
            importing.import_start(
                job=job,
                actor=request.user,
                mapping=job.mapping,
                on_duplicate=job.on_duplicate,
                value_mapping=form.value_mapping(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("prospects:import_detail", job.public_id)
    context = {"job": job, "form": form, "rows": [(v, form[name]) for v, name in form.rows]}
    return render(request, "prospects/import_values.html", context, status=_status(form))


def _import_gone(request, job: ImportJob):
    """410 Gone: the upload's file is not there any more; the person has to upload it again."""
    context = {"job": job, "kept_days": importing.UNSTARTED_KEPT.days}
    return render(request, "prospects/import_gone.html", context, status=410)


@client_member_required
def import_detail(request, public_id):
    job = queries.access_import(request.client, public_id)
    # an upload waiting for its mapping needs its file; an ended job has dropped it on purpose
    if job.status == ImportJob.Status.UPLOADED and not importing.import_source_readable(job):
        return _import_gone(request, job)
    return render(request, "prospects/import_detail.html", {"job": job})


@client_member_required
def import_progress(request, public_id):
    job = queries.access_import(request.client, public_id)
    return JsonResponse(
        {
            "status": job.status,
            "status_label": job.get_status_display(),
            "percent": job.percent,
            "processed": job.processed_rows,
            "total": job.total_rows,
            "created": job.created_count,
            "updated": job.updated_count,
            "merged": job.merged_count,
            "skipped": job.skipped_count,
            "errors": job.error_count,
            "warned": job.warned_count,
            "failure": job.failure_reason,
            "finished": job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED),
        }
    )


@client_member_required
def import_errors(request, public_id):
    job = queries.access_import(request.client, public_id)
    rows = exporting.csv_lines(importing.error_report_rows(job))
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-report-{job.public_id}.csv"'
    return response
