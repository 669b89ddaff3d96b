"""Django admin: the suppression list. It holds only keyed hashes, so staff cannot browse
addresses; they type one in ("is this address suppressed?") and may lift it from there
(privacy.suppression, audited). Entries are never added or edited by hand: bounces and
complaints arrive from the provider (opsx.mail_events), referral removals from the friend."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from opsx.models import Suppression

from ..suppression import suppression_entries, suppression_lift


class SuppressionCheckForm(forms.Form):
    address = forms.EmailField(max_length=254, label="Email address")


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "reason", "scope"]
    list_filter = ["reason", "scope"]
    date_hierarchy = "created_at"
    fields = readonly_fields = ["reason", "scope", "created_at"]
    change_list_template = "admin/opsx/suppression/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # lifted by address (check_view), audited; never row by row

    def get_urls(self):
        own = [
            path(
                "check/",
                self.admin_site.admin_view(self.check_view),
                name="opsx_suppression_check",
            )
        ]
        return own + super().get_urls()

    def check_view(self, request):
        """GET: the form. POST: look the address up; with `lift`, take it off the list first.
        The address travels in the POST body only, never in a URL (logs keep URLs)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = SuppressionCheckForm(request.POST or None)
        entries = None
        status = 200
        if request.method == "POST":
            if form.is_valid():
                address = form.cleaned_data["address"]
                if "lift" in request.POST:
                    if not request.user.has_perm("opsx.delete_suppression"):
                        raise PermissionDenied
                    removed = suppression_lift(address=address, actor=request.user)
                    messages.success(
                        request,
                        f"Lifted: {removed} entr{'y' if removed == 1 else 'ies'} removed."
                        if removed
                        else "That address was not suppressed; nothing changed.",
                    )
                entries = suppression_entries(address)
            else:
                status = 400
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Is this address suppressed?",
            "form": form,
            "entries": entries,
            "may_lift": request.user.has_perm("opsx.delete_suppression"),
        }
        return TemplateResponse(
            request, "admin/opsx/suppression/check.html", context, status=status
        )
