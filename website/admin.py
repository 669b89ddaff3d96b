"""Django admin: the subprocessors listed on the public /subprocessors/ page."""

from django.contrib import admin

from .models import Subprocessor


@admin.register(Subprocessor)
class SubprocessorAdmin(admin.ModelAdmin):
    list_display = ["name", "purpose", "location", "order", "active", "updated_at"]
    list_editable = ["order", "active"]
    list_filter = ["active"]
    search_fields = ["name", "purpose"]
    ordering = ["order", "name"]
    fields = ["name", "purpose", "data_processed", "location", "website", "order", "active"]
