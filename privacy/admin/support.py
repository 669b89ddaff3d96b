"""Django admin: support access. Staff see the grants users gave (never make one: only the
user grants access to their account) and the log of pages viewed; from an active grant they
start a read-only support view of the user's area (privacy/support.py)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from .. import support
from ..models import SupportAccessLog, SupportGrant


class _ReadOnly(admin.ModelAdmin):
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SupportGrant)
class SupportGrantAdmin(_ReadOnly):
    list_display = (
        "user_email",
        "granted_at",
        "expires_at",
        "revoked_at",
        "active",
        "allow_downloads",
        "view_as",
    )
    list_select_related = ("user",)
    list_filter = ("allow_downloads",)
    search_fields = ("user__email",)
    fields = ("user", "granted_at", "expires_at", "revoked_at", "allow_downloads", "note")
    readonly_fields = fields
    date_hierarchy = "granted_at"

    @admin.display(description="user", ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    @admin.display(boolean=True, description="active")
    def active(self, obj):
        return support.grant_is_active(obj)

    @admin.display(description="support view")
    def view_as(self, obj):
        if not support.grant_is_active(obj):
            return "—"
        url = reverse("admin:privacy_supportgrant_view_as", args=[obj.public_id])
        return format_html('<a class="button" href="{}">View as user (read-only)</a>', url)

    def get_urls(self):
        view = self.admin_site.admin_view(self.view_as_view)
        urls = [
            path("<uuid:public_id>/view-as/", view, name="privacy_supportgrant_view_as"),
        ]
        return urls + super().get_urls()

    def view_as_view(self, request, public_id):
        """GET: a confirmation; POST: start the support view. Without an active grant, 403."""
        context = {**self.admin_site.each_context(request), "opts": self.model._meta}
        if request.method == "POST":
            try:
                grant = support.support_view_start(grant_id=public_id, staff=request.user)
            except PermissionDenied as exc:
                context["reason"] = str(exc)
                return render(
                    request, "admin/privacy/supportgrant/refused.html", context, status=403
                )
            support.view_enter(request, grant)
            return redirect("dashboard")
        grant = SupportGrant.objects.select_related("user").filter(public_id=public_id).first()
        if grant is None or not support.grant_is_active(grant):
            context["reason"] = "There is no active support access grant for this account."
            return render(request, "admin/privacy/supportgrant/refused.html", context, status=403)
        context.update({"grant": grant, "title": "Start a support view", "now": timezone.now()})
        return TemplateResponse(request, "admin/privacy/supportgrant/view_as.html", context)


@admin.register(SupportAccessLog)
class SupportAccessLogAdmin(_ReadOnly):
    list_display = ("at", "staff", "grant_user", "method", "path", "status_code")
    list_select_related = ("staff", "grant__user")
    list_filter = ("method",)
    search_fields = ("grant__user__email", "staff__email", "path")
    date_hierarchy = "at"

    @admin.display(description="account viewed")
    def grant_user(self, obj):
        return obj.grant.user.email
