"""Django admin: privacy policy versions. Staff write drafts, preview them and publish them;
a published version is read-only for good (it governs the data used while it was in effect)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef
from django.http import HttpResponseRedirect
from django.urls import reverse

from opsx import markdown

from .. import notices, policies
from ..models import NoticeDelivery, PolicyVersion

_FIELDS = ["label", "effective_on", "material", "summary", "body"]
_STATE = ["preview", "published_at", "published_by", "notified_at", "notices_sent"]


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = [
        "label",
        "effective_on",
        "material",
        "published_at",
        "notified_at",
        "notices_sent",
    ]
    list_filter = ["material", ("published_at", admin.EmptyFieldListFilter)]
    search_fields = ["label"]
    ordering = ["-effective_on", "-pk"]
    fields = _FIELDS + _STATE
    readonly_fields = _STATE
    actions = ["publish"]
    change_form_template = "admin/privacy/policyversion/change_form.html"

    def get_queryset(self, request):
        # The list in one query: the notices counted by a subquery (left out of the page
        # count), the bodies left behind (the change page reads its one body).
        return (
            super()
            .get_queryset(request)
            .select_related("published_by")
            .defer("body")
            .annotate(notice_count=notices.delivered_count(notice__policy_version=OuterRef("pk")))
        )

    # --- who may do what: drafts are edited and deleted, published versions only read ---

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.published_at is not None:
            return False  # the page shows it read-only, and a POST to it is refused
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.published_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        published = [str(obj) for obj in objs if obj.published_at is not None]
        if published:  # the bulk delete action: published versions are never deleted
            protected = [*protected, *published]
        return deleted, model_count, perms_needed, protected

    def save_model(self, request, obj, form, change):
        policies.policy_draft_save(version=obj, actor=request.user)

    # --- columns and read-only fields ---

    @admin.display(description="Users notified")
    def notices_sent(self, obj):
        count = getattr(obj, "notice_count", None)
        if count is None:
            return NoticeDelivery.objects.filter(notice__policy_version=obj).count()
        return count

    @admin.display(description="Preview")
    def preview(self, obj):
        return markdown.admin_preview(obj.body if obj is not None else "")

    # --- publishing ---

    def response_change(self, request, obj):
        """ "Save and publish": the draft is saved first (kept even when publishing is refused,
        with the reason shown on its page)."""
        if "_publish" not in request.POST:
            return super().response_change(request, obj)
        if self._publish_one(request, obj):
            return HttpResponseRedirect(reverse("admin:privacy_policyversion_changelist"))
        return HttpResponseRedirect(request.path)

    @admin.action(description="Publish the selected drafts (a material change mails every user)")
    def publish(self, request, queryset):
        for version in queryset.order_by("effective_on"):
            self._publish_one(request, version)

    def _publish_one(self, request, version) -> bool:
        try:
            policies.policy_publish(version=version, actor=request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return False
        told = " Every active user will be mailed a notice." if version.material else ""
        self.message_user(request, f"Version {version.label} is published.{told}", messages.SUCCESS)
        return True
