"""HexCM staff see imports' progress for support, never the prospects' data: Client Data is
the client's, and support reads it only through a user's support-access grant."""

from django.contrib import admin

from .models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "client",
        "status",
        "total_rows",
        "processed_rows",
        "error_count",
        "runs",
    ]
    list_filter = ["status"]
    search_fields = ["client__name"]
    list_select_related = ["client"]
    fields = [
        "client", "status", "total_rows", "processed_rows", "created_count", "updated_count",
        "skipped_count", "error_count", "runs", "heartbeat_at", "started_at", "finished_at",
        "failure_reason",
    ]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
