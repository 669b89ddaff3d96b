"""Django admin: the newsletter. Staff write an issue (Markdown), preview it, mail a test to
themselves, then send it to every confirmed subscriber; the change page shows the send's
progress. Subscribers are listed read-only: signing up, confirming and leaving go through their
own links (privacy.newsletter), never through admin."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from opsx import markdown

from .. import newsletter
from ..models import NewsletterIssue, NewsletterSubscriber

_STATE = ["preview", "status", "progress", "recipients", "send_started_at", "created_by"]


@admin.register(NewsletterIssue)
class NewsletterIssueAdmin(admin.ModelAdmin):
    # The list: one query for its rows (bodies deferred, the author joined); progress figures
    # are on the change page only, so the list costs the same whatever the issues' sizes.
    list_display = ["subject", "status", "recipients", "send_started_at", "created_by"]
    list_filter = ["status"]
    fields = ["subject", "body", *_STATE]
    readonly_fields = _STATE
    change_form_template = "admin/privacy/newsletterissue/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by").defer("body")

    # --- a sent issue is read-only for good ---

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status != NewsletterIssue.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status != NewsletterIssue.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        sent = [str(obj) for obj in objs if obj.status != NewsletterIssue.Status.DRAFT]
        if sent:  # the bulk delete action: a sent issue is kept
            protected = [*protected, *sent]
        return deleted, model_count, perms_needed, protected

    def save_model(self, request, obj, form, change):
        newsletter.issue_save(issue=obj, actor=request.user)

    # --- read-only fields ---

    @admin.display(description="Preview")
    def preview(self, obj):
        return markdown.admin_preview(obj.body if obj is not None else "")

    @admin.display(description="Progress")
    def progress(self, obj):
        figures = newsletter.issue_progress(obj) if obj is not None else None
        if figures is None:
            return "Not sent yet."
        return (
            f"{figures['sent']} sent, {figures['pending']} pending, {figures['failed']} failed, "
            f"{figures['suppressed']} not sent (unsubscribed or suppressed), "
            f"of {figures['total']}"
        )

    # --- test and send ---

    def response_change(self, request, obj):
        """ "Save and send me a test": the draft is saved, then mailed to the staff member."""
        if "_send_test" in request.POST:
            newsletter.issue_send_test(issue=obj, actor=request.user)
            self.message_user(
                request,
                f"A test of this issue is on its way to {request.user.email}.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def get_urls(self):
        own = [
            path(
                "<int:object_id>/send/",
                self.admin_site.admin_view(self.send_view),
                name="privacy_newsletterissue_send",
            ),
        ]
        return own + super().get_urls()

    @staticmethod
    def _change_url(issue):
        return reverse("admin:privacy_newsletterissue_change", args=[issue.pk])

    def send_view(self, request, object_id):
        """GET: what sending means and to how many. POST: send (privacy.newsletter.send_issue;
        a second POST changes nothing)."""
        return _send_view(self, request, object_id)


def _send_view(model_admin, request, object_id):
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    issue = get_object_or_404(NewsletterIssue, pk=object_id)
    if request.method == "POST":
        if not model_admin.has_change_permission(request):
            raise PermissionDenied
        try:
            issue = newsletter.send_issue(issue, request.user)
        except ValidationError as exc:
            model_admin.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            model_admin.message_user(
                request,
                f"Sending to {issue.recipients} confirmed subscribers: progress shows below.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(model_admin._change_url(issue))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": NewsletterIssue._meta,
        "title": f"Send {issue.subject}",
        "issue": issue,
        "subscribers": newsletter.confirmed_subscribers().count(),
        "back": model_admin._change_url(issue),
    }
    return TemplateResponse(request, "admin/privacy/newsletterissue/send.html", context)


@admin.register(NewsletterSubscriber)
class NewsletterSubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "status", "source", "created_at", "consented_at"]
    list_filter = ["status", "source"]
    search_fields = ["=email"]  # the whole address: the unique index answers it
    fields = [
        "public_id",
        "email",
        "name",
        "user",
        "status",
        "source",
        "created_at",
        "consented_at",
        "consent_text",
    ]
    readonly_fields = fields
    ordering = ["-id"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("consent_text")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
