"""HexCM staff see imports' progress for support, never the prospects' data: Client Data is
the client's, and support reads it only through a user's support-access grant."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from . import importing
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

    @admin.action(description="Delete selected ended imports (and their stored files)")
    def delete_imports(self, request, queryset):
        done = 0
        for job in queryset:
            try:
                importing.import_delete(job=job, acting_user=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{job}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                done += 1
        self.message_user(request, f"{done} import(s) deleted.", messages.SUCCESS)

    actions = ["delete_imports"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a bulk SQL delete would leave the files behind
        return actions

    def has_delete_permission(self, request, obj=None):
        return obj is None or obj.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)

    def delete_model(self, request, obj):
        importing.import_delete(job=obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        for job in queryset:
            importing.import_delete(job=job, acting_user=request.user)
