"""Django admin: the subprocessors listed on the public /subprocessors/ page."""

from django import forms
from django.contrib import admin

from .models import Subprocessor, website_url_validator


class SubprocessorForm(forms.ModelForm):
    # An address typed without a scheme is taken as https; any scheme but http(s) is refused.
    website = forms.URLField(
        assume_scheme="https",
        max_length=300,
        validators=[website_url_validator],
        error_messages={"invalid": website_url_validator.message},
        help_text="The company's site, https://…",
    )

    class Meta:
        model = Subprocessor
        fields = ["name", "purpose", "data_processed", "location", "website", "order", "active"]


@admin.register(Subprocessor)
class SubprocessorAdmin(admin.ModelAdmin):
    form = SubprocessorForm
    list_display = ["name", "purpose", "location", "order", "active", "updated_at"]
    list_editable = ["order", "active"]
    list_filter = ["active"]
    search_fields = ["name", "purpose"]
    ordering = ["order", "name"]
    fields = ["name", "purpose", "data_processed", "location", "website", "order", "active"]
