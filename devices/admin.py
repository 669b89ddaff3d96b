"""Django admin: HexCM staff see every client's devices and revoke them through the same
service as the client admins' pages (devices.services.device_revoke)."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from . import services
from .forms import RevokeForm
from .models import Device

# What staff see of a device. Never the session key (a live credential: whoever has it is
# signed in as the user) nor the push token (whoever has it can push to the phone).
_FIELDS = [
    "public_id",
    "user",
    "client",
    "installation_id",
    "platform",
    "device_model",
    "app_version",
    "status",
    "has_push_token",
    "signed_in",
    "created_at",
    "last_seen_at",
    "refused_attempts",
    "last_refused_at",
    "revoked_at",
    "revoked_by",
    "revoke_reason",
    "revoke_note",
]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "client",
        "platform",
        "device_model",
        "app_version",
        "status",
        "last_seen_at",
    ]
    list_filter = ["status", "platform", "client__device_policy", "client"]
    list_select_related = ["user", "client"]
    search_fields = ["installation_id", "user__email"]
    show_full_result_count = False  # one COUNT per page is enough
    fields = _FIELDS
    readonly_fields = _FIELDS
    actions = ["revoke_devices"]

    @admin.display(boolean=True, description="push token")
    def has_push_token(self, obj):
        return bool(obj.push_token)

    @admin.display(boolean=True, description="signed in")
    def signed_in(self, obj):
        return bool(obj.session_key)

    @admin.action(description="Revoke selected devices (signs them out)")
    def revoke_devices(self, request, queryset):
        """First a page asking the reason (shown to the client's admins), then each device
        through device_revoke; devices already revoked are skipped and counted."""
        applying = "apply" in request.POST
        form = RevokeForm(request.POST if applying else None)
        if applying and form.is_valid():
            revoked = skipped = 0
            for device in queryset:
                if device.status == Device.Status.REVOKED:
                    skipped += 1
                    continue
                try:
                    services.device_revoke(
                        device=device, actor=request.user, note=form.cleaned_data["reason"]
                    )
                except ValidationError:  # revoked meanwhile (by its admin, or a sign-in)
                    skipped += 1
                else:
                    revoked += 1
            if revoked:
                self.message_user(
                    request, f"{revoked} device(s) revoked and signed out.", messages.SUCCESS
                )
            if skipped:
                self.message_user(
                    request, f"{skipped} device(s) were already revoked: skipped.", messages.WARNING
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Revoke devices",
            "devices": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        status = 400 if form.errors else 200
        return TemplateResponse(request, "admin/devices/device/revoke.html", context, status=status)

    def has_add_permission(self, request):
        return False  # devices are created by signing in on the app

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the row is the record of who signed in where

    def has_change_permission(self, request, obj=None):
        # read-only pages, but the changelist's actions need the list to be "changeable"
        return obj is None and super().has_change_permission(request)
