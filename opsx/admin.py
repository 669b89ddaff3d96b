from django.contrib import admin

from .models import OutboundMessage

# What staff see of a message: who, what, when and how it ended. Never the body or headers: an
# account mail's body holds a live password-reset or invitation link (whoever reads it can take
# the account over), and any body is personal data.
_METADATA_FIELDS = [
    "id",
    "category",
    "to_email",
    "from_email",
    "subject",
    "status",
    "attempts",
    "last_error",
    "next_attempt_at",
    "expires_at",
    "created_at",
    "sent_at",
    "event",
    "event_at",
]


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    """Read-only, metadata only: no add, change or delete, and the body is never loaded."""

    list_display = [
        "created_at",
        "to_email",
        "category",
        "subject",
        "status",
        "attempts",
        "sent_at",
        "event",
    ]
    # Status shows what we did (sent, failed for good, not sent: suppressed or opted out);
    # event what the provider reported afterwards (bounce, complaint, soft bounce).
    list_filter = ["status", "event", "category"]
    search_fields = ["to_email", "subject"]
    date_hierarchy = "created_at"
    fields = _METADATA_FIELDS
    readonly_fields = _METADATA_FIELDS

    def get_queryset(self, request):
        return super().get_queryset(request).only(*_METADATA_FIELDS)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
