"""Django admin: client closures. HexCM staff follow each closure and its deletion's progress
(counts only: no Client Data is shown), and may cancel one in its grace period."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from .. import closure as services
from ..models import ClientClosure


@admin.register(ClientClosure)
class ClientClosureAdmin(admin.ModelAdmin):
    list_display = ["client", "status", "requested_at", "delete_after", "export", "progress_text"]
    list_filter = ["status", "export_status"]
    list_select_related = ["client"]
    search_fields = ["client__name", "client__slug"]
    date_hierarchy = "requested_at"
    fields = [
        "client",
        "status",
        "requested_by",
        "requested_at",
        "delete_after",
        "cancelled_at",
        "cancelled_by",
        "export_status",
        "export_done",
        "export_total",
        "deletion_started_at",
        "deleted_at",
        "progress_text",
    ]
    readonly_fields = fields
    actions = ["cancel_closures"]

    @admin.display(description="export")
    def export(self, obj):
        if obj.export_status == ClientClosure.ExportStatus.BUILDING:
            return f"{obj.export_done} of {obj.export_total}"
        return obj.get_export_status_display()

    @admin.display(description="deleted so far")
    def progress_text(self, obj):
        return services.progress_summary(obj) or "—"

    @admin.action(description="Cancel the selected closures (in their grace period)")
    def cancel_closures(self, request, queryset):
        done = 0
        for closure in queryset:
            try:
                services.closure_cancel(closure=closure, actor=request.user)
            except ValidationError as exc:
                self.message_user(
                    request, f"{closure.client}: {' '.join(exc.messages)}", messages.ERROR
                )
            else:
                done += 1
        if done:
            self.message_user(
                request, f"{done} closure(s) cancelled; the admins were told.", messages.SUCCESS
            )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # read-only pages, but the changelist's actions need the list to be "changeable"
        return obj is None and super().has_change_permission(request)
