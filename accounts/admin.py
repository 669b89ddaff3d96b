from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from . import services
from .models import Invitation, ProfileRevision, User


class ProfileRevisionInline(admin.TabularInline):
    model = ProfileRevision
    fk_name = "user"
    fields = ["field", "old_value", "new_value", "changed_at", "changed_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):  # one query for the list, not one per revision's author
        return super().get_queryset(request).select_related("changed_by")


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "full_name", "client", "role", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_active", "role", "is_staff", "client__status"]
    search_fields = ["email", "full_name", "client__name"]
    list_select_related = ["client"]
    autocomplete_fields = ["client"]
    readonly_fields = [
        "public_id",
        "last_login",
        "date_joined",
        "deactivated_at",
        "age_check_passed_at",
        "password",
    ]
    fieldsets = [
        (None, {"fields": ["public_id", "email", "full_name", "password"]}),
        ("Client", {"fields": ["client", "role"]}),
        (
            "Status",
            {
                "fields": [
                    "is_active",
                    "deactivated_at",
                    "age_check_passed_at",
                    "last_login",
                    "date_joined",
                ]
            },
        ),
        ("HexCM staff", {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]}),
    ]
    inlines = [ProfileRevisionInline]
    actions = ["deactivate_users"]

    @admin.action(description="Deactivate selected users (signs them out everywhere)")
    def deactivate_users(self, request, queryset):
        done = 0
        for user in queryset.select_related("client"):
            try:
                services.user_deactivate(target=user, acting_user=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{user}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                done += 1
        self.message_user(request, f"{done} user(s) deactivated.", messages.SUCCESS)


@admin.register(ProfileRevision)
class ProfileRevisionAdmin(admin.ModelAdmin):
    list_display = ["user", "field", "old_value", "new_value", "changed_at"]
    list_filter = ["field"]
    search_fields = ["user__email", "old_value", "new_value"]
    list_select_related = ["user"]
    readonly_fields = ["user", "field", "old_value", "new_value", "changed_at", "changed_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "client", "role", "status", "sent_at", "invited_by"]
    list_filter = ["status", "role"]
    search_fields = ["email", "client__name"]
    list_select_related = ["client", "invited_by"]
    readonly_fields = [
        "public_id",
        "client",
        "email",
        "role",
        "invited_by",
        "status",
        "created_at",
        "sent_at",
        "accepted_user",
    ]

    def has_add_permission(self, request):
        return False
