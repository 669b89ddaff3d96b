"""Admin tasks: a client admin closes the company's account (clients.decorators
.client_admin_required: members get 403; everything is read through the client's scope)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clients.decorators import client_admin_required
from opsx.forms import posted

from .. import closure as services
from ..models import ClientClosure

TEMPLATE = "privacy/closure/close_account.html"


class CloseForm(forms.Form):
    company_name = forms.CharField(
        label="Type the company's name to confirm", max_length=200, strip=True
    )

    def __init__(self, *args, client, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = client

    def clean_company_name(self):
        typed = self.cleaned_data["company_name"]
        if typed.casefold() != self.client.name.strip().casefold():
            raise ValidationError(
                f"That is not the company's name: type “{self.client.name}” to confirm."
            )
        return typed


def _page(request, *, form=None, status=200, error=""):
    closure = services.open_closure(request.client)
    context = {
        "closure": closure,
        "form": form or CloseForm(client=request.client),
        "error": error,
        "grace_days": settings.CLIENT_CLOSURE_GRACE_DAYS,
        "building": closure is not None
        and closure.export_status == ClientClosure.ExportStatus.BUILDING,
    }
    return render(request, TEMPLATE, context, status=status)


@client_admin_required
def close_account(request):
    """What closing means, the confirm form; while scheduled: the date, the export, cancel."""
    form = CloseForm(posted(request), client=request.client)
    if request.method == "POST":
        if not form.is_valid():
            return _page(request, form=form, status=400)
        try:
            closure = services.closure_request(client=request.client, actor=request.user)
        except ValidationError as exc:
            return _page(request, form=form, status=400, error=" ".join(exc.messages))
        messages.success(
            request,
            f"The account will be deleted on {timezone.localtime(closure.delete_after):%d %B %Y}."
            " Every admin was told by email.",
        )
        return redirect("privacy:closure")
    return _page(request)


def _act(request, action, success: str):
    closure = services.open_closure(request.client)
    if closure is None:
        return _page(request, status=400, error="The account is not being closed.")
    try:
        action(closure)
    except ValidationError as exc:
        return _page(request, status=400, error=" ".join(exc.messages))
    messages.success(request, success)
    return redirect("privacy:closure")


@require_POST
@client_admin_required
def cancel(request):
    return _act(
        request,
        lambda closure: services.closure_cancel(closure=closure, actor=request.user),
        "The closure is cancelled: nothing will be deleted.",
    )


@require_POST
@client_admin_required
def export_build(request):
    return _act(
        request,
        lambda closure: services.closure_export(closure=closure, actor=request.user),
        "The export is being built; this page shows its progress.",
    )


@client_admin_required
def export_download(request):
    """The full export, streamed from storage as an attachment."""
    closure = services.open_closure(request.client)
    if closure is None or closure.export_status != ClientClosure.ExportStatus.READY:
        raise Http404("No export is ready.")
    try:
        blob = closure.export_file.open("rb")
    except FileNotFoundError:
        raise Http404("The export file is gone.") from None
    name = f"opsx-export-{request.client.slug}-{timezone.localdate():%Y-%m-%d}.zip"
    return FileResponse(blob, as_attachment=True, filename=name, content_type="application/zip")
