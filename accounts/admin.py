from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction

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


class StaffUserForm(forms.ModelForm):
    """What support may change on a user: the name, the role and whether they are active. Each
    change is made by the service the app uses (save_model), so it keeps its revision, its
    sessions ending and its last-admin rule; this form only asks the services' question first so
    a refusal shows on the form."""

    class Meta:
        model = User
        fields = ["full_name", "role", "is_active"]

    def clean(self):
        data = super().clean()
        target = self.instance
        if target.pk and target.client_id and not self.errors:
            current = User.objects.select_related("client").get(pk=target.pk)
            try:
                services.user_check_change(
                    target=current, role=data["role"], is_active=data["is_active"]
                )
            except ValidationError as exc:
                raise ValidationError(exc.messages) from None
        return data


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    form = StaffUserForm
    list_display = ["email", "full_name", "client", "role", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_active", "role", "is_staff", "client__status"]
    search_fields = ["email", "full_name", "client__name"]
    list_select_related = ["client"]
    # The client, the address and staff rights are not edited here: a user never moves between
    # clients (they own that client's records), an address changes only through its verified
    # change, and HexCM staff accounts come from the staff commands.
    readonly_fields = [
        "public_id",
        "email",
        "client",
        "last_login",
        "date_joined",
        "deactivated_at",
        "age_check_passed_at",
        "is_staff",
        "is_superuser",
    ]
    fieldsets = [
        (None, {"fields": ["public_id", "email", "full_name"]}),
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
        ("HexCM staff", {"fields": ["is_staff", "is_superuser"]}),
    ]
    inlines = [ProfileRevisionInline]
    actions = ["deactivate_users"]

    def has_add_permission(self, request):
        return False  # people join by sign-up or invitation; staff by the staff commands

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead; erasing a person is a privacy request

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        """Apply the form through the services, never by saving the form's instance."""
        target = (
            User.objects.select_for_update(of=("self",)).select_related("client").get(pk=obj.pk)
        )
        data = form.cleaned_data
        staff = request.user
        if "full_name" in form.changed_data:
            services.user_update_name(user=target, full_name=data["full_name"], acting_user=staff)
        if "role" in form.changed_data:
            services.user_change_role(target=target, role=data["role"], acting_user=staff)
        if "is_active" in form.changed_data:
            change_status = (
                services.user_reactivate if data["is_active"] else services.user_deactivate
            )
            change_status(target=target, acting_user=staff)
        obj.refresh_from_db()

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

    def has_delete_permission(self, request, obj=None):
        return False  # the history is what the user was promised


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

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # cancel instead: the record of who was invited stays

    actions = ["cancel_invitations"]

    @admin.action(description="Cancel selected pending invitations (their links stop working)")
    def cancel_invitations(self, request, queryset):
        done = 0
        for invitation in queryset.filter(status=Invitation.Status.PENDING):
            services.invitation_cancel(invitation=invitation, acting_user=request.user)
            done += 1
        self.message_user(request, f"{done} invitation(s) cancelled.", messages.SUCCESS)


# --- allauth's own tables: seen by support, changed only through the account flows ----------
# allauth registers editable admins for them; each change there (verifying an address, deleting
# an authenticator or a session row) would skip our services and, for sessions, not even end the
# session. Support sees them read-only; the TOTP secret and recovery codes are never shown.


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


for _model in (EmailAddress, Authenticator, UserSession):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(EmailAddress)
class EmailAddressAdmin(_ReadOnly):
    list_display = ["email", "user", "primary", "verified"]
    list_filter = ["primary", "verified"]
    search_fields = ["email", "user__email"]
    list_select_related = ["user"]
    fields = ["email", "user", "primary", "verified"]


@admin.register(Authenticator)
class AuthenticatorAdmin(_ReadOnly):
    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    fields = ["user", "type", "created_at", "last_used_at"]  # never `data`: the secret


@admin.register(UserSession)
class UserSessionAdmin(_ReadOnly):
    list_display = ["user", "created_at", "last_seen_at", "ip", "user_agent"]
    search_fields = ["user__email", "ip"]
    list_select_related = ["user"]
    fields = ["user", "created_at", "last_seen_at", "ip", "user_agent"]
    actions = ["end_sessions"]

    @admin.action(description="End selected sessions (signs those browsers out)")
    def end_sessions(self, request, queryset):
        ended = services.sessions_end(
            sessions=list(queryset.select_related("user")), acting_user=request.user
        )
        self.message_user(request, f"{ended} session(s) ended.", messages.SUCCESS)
