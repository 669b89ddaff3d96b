"""Django admin: notices. Staff write a notice (title, Markdown text with a preview, to every
user or to the users of chosen clients, the banner's dates) and send it; the mailing runs in
a Celery task, its progress shown on the notice's page."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef
from django.http import HttpResponseRedirect
from django.utils.html import format_html

from opsx import markdown

from .. import notices
from ..models import Notice

_FIELDS = ["title", "body", "audience", "clients", "current_from", "current_until"]
_STATE = ["preview", "policy_version", "created_by", "sent_at", "progress"]


class NoticeForm(forms.ModelForm):
    """The service's rules across fields (privacy.notices), shown on the form's fields."""

    class Meta:
        model = Notice
        fields = _FIELDS

    def clean(self):
        data = super().clean()
        if data.get("audience") == Notice.Audience.CLIENTS and not data.get("clients"):
            self.add_error(
                "clients", "Choose the clients whose users are told, or send it to every user."
            )
        start, end = data.get("current_from"), data.get("current_until")
        if start and end and end <= start:
            self.add_error("current_until", "The banner must end after it starts.")
        return data


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["title", "audience", "sent_at", "current_from", "current_until", "delivered"]
    list_filter = ["audience", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["title"]
    autocomplete_fields = ["clients"]
    fields = _FIELDS + _STATE
    actions = ["send"]
    change_form_template = "admin/privacy/notice/change_form.html"
    form = NoticeForm

    def get_queryset(self, request):
        # The list in one query: deliveries counted by a subquery, the bodies left behind.
        return (
            super()
            .get_queryset(request)
            .select_related("created_by", "policy_version")
            .annotate(delivered_count=notices.delivered_count(notice=OuterRef("pk")))
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.sent_at is not None:
            # What users were told stays as told: only the banner's dates change.
            return ["title", "body", "audience", "clients", *_STATE]
        return _STATE

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.sent_at is not None:
            return False  # the record of who was told
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        clients = form.cleaned_data.get("clients")  # absent (read-only) once sent: kept
        notices.notice_save(notice=obj, actor=request.user, clients=clients)

    def save_related(self, request, form, formsets, change):
        pass  # the clients were set by notices.notice_save

    def response_change(self, request, obj):
        if "_send" in request.POST:
            self._send_one(request, obj)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    # --- columns and read-only fields ---

    @admin.display(description="Users mailed")
    def delivered(self, obj):
        count = getattr(obj, "delivered_count", None)
        return obj.deliveries.count() if count is None else count

    @admin.display(description="Progress")
    def progress(self, obj):
        if obj is None or obj.pk is None:
            return "Not sent."
        done = notices.notice_progress(obj)
        if obj.sent_at is None:
            return f"Not sent. It would be mailed to {done['audience']} users."
        return f"{done['delivered']} of {done['audience']} users mailed."

    @admin.display(description="Preview")
    def preview(self, obj):
        if obj is None or not obj.body:
            return "Save the notice to see how its text reads."
        return format_html('<div class="notice-preview">{}</div>', markdown.render(obj.body))

    # --- sending ---

    @admin.action(description="Send the selected notices (a legal notice to every user concerned)")
    def send(self, request, queryset):
        for notice in queryset.order_by("pk"):
            self._send_one(request, notice)

    def _send_one(self, request, notice) -> bool:
        try:
            notices.send_notice(notice, actor=request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return False
        self.message_user(
            request,
            f"“{notice.title}” is sent: its users are being mailed, and its banner is up.",
            messages.SUCCESS,
        )
        return True
