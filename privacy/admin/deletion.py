"""Django admin actions for account deletion and child-data reports, for the privacy request
admin (privacy/admin/requests.py) to attach:

    from . import deletion

    class PrivacyRequestAdmin(admin.ModelAdmin):
        actions = [*deletion.admin_actions()]

Each action calls one service of privacy/deletion.py per selected request and reports what
it did or why it refused. The erasure itself runs in a Celery task.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from .. import deletion


def _each(modeladmin, request, queryset, service, done_words: str) -> None:
    done = 0
    for privacy_request in queryset:
        try:
            service(privacy_request)
        except ValidationError as exc:
            modeladmin.message_user(
                request, f"{privacy_request}: {' '.join(exc.messages)}", messages.ERROR
            )
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{done} request(s) {done_words}.", messages.SUCCESS)


@admin.action(description="Schedule the account deletion (waiting period, user can cancel)")
def schedule_deletion(modeladmin, request, queryset):
    _each(
        modeladmin,
        request,
        queryset,
        lambda r: deletion.deletion_schedule(request=r, actor=request.user),
        "scheduled",
    )


@admin.action(description="Approve the account deletion: erase now")
def approve_deletion(modeladmin, request, queryset):
    _each(
        modeladmin,
        request,
        queryset,
        lambda r: deletion.deletion_approve(request=r, actor=request.user),
        "approved: the erasure runs now",
    )


@admin.action(description="Cancel the account deletion")
def cancel_deletion(modeladmin, request, queryset):
    _each(
        modeladmin,
        request,
        queryset,
        lambda r: deletion.deletion_cancel(request=r, actor=request.user),
        "cancelled",
    )


@admin.action(description="Confirm the reported account is under 16: erase it now")
def confirm_child_data(modeladmin, request, queryset):
    def confirm(privacy_request):
        if privacy_request.subject_user is None:
            raise ValidationError("Set the account the report is about (subject user) first.")
        deletion.child_data_confirm(
            request=privacy_request, user=privacy_request.subject_user, actor=request.user
        )

    _each(modeladmin, request, queryset.select_related("subject_user"), confirm, "confirmed")


def admin_actions() -> list:
    """The actions to add to the privacy request admin's `actions`."""
    return [schedule_deletion, approve_deletion, cancel_deletion, confirm_child_data]
