"""Django admin: privacy requests, for HexCM support.

The list puts open child-data reports first, then overdue requests, then the rest by deadline.
A request's page is read-only: its status and deadline change only through the services, by
the action forms under it (verify, assign to me, extend, refuse, mark done, add a note), and a
request on someone's behalf is filed through "Add", which calls request_file.

A prospect data request is answered by the client's admins in Admin tasks: here staff see that
it exists, its client, status and deadline, never the requester's name, address or details,
nor what the admins wrote (reasons, outcome, timeline messages)."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.models import User
from clients.models import Client

from .. import archive, deletion, queries, removals, services, testimonials
from ..models import PrivacyRequest, PrivacyRequestEvent
from ..request_forms import NoteForm, OutcomeForm, ReasonForm

Kind = PrivacyRequest.Kind

# Fields every request shows, and the personal ones shown only when HexCM answers it.
COMMON_FIELDS = [
    "public_id",
    "kind",
    "status",
    "channel",
    "client",
    "received_at",
    "due_at",
    "verification_sent_at",
    "verified_at",
    "closed_at",
]
PERSONAL_FIELDS = [
    "requester",
    "requester_name",
    "requester_email",
    "subject_user",
    "removal_target",
    "reference",
    "details",
    "assignee",
    "filed_by",
    "extended_at",
    "extension_reason",
    "refusal_reason",
    "outcome",
    "notes",
]


def _hides_personal(obj) -> bool:
    return obj is not None and obj.kind == Kind.PROSPECT_DATA


class EventInline(admin.TabularInline):
    model = PrivacyRequestEvent
    extra = 0
    can_delete = False
    verbose_name_plural = "Timeline"

    def get_fields(self, request, obj=None):
        fields = ["at", "action", "actor_kind", "actor", "from_status", "to_status", "message"]
        if _hides_personal(obj):  # the client's admins wrote these: they may name the prospect
            fields = [f for f in fields if f not in ("actor", "message")]
        return fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class StaffFileForm(forms.Form):
    """A request staff take on someone's behalf (a letter, a call), once they checked who asks."""

    kind = forms.ChoiceField(choices=Kind.choices)
    name = forms.CharField(max_length=150, label="Requester's name")
    email = forms.EmailField(max_length=254, label="Requester's email address")
    details = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    removal_target = forms.ChoiceField(
        choices=[("", "---------"), *PrivacyRequest.RemovalTarget.choices], required=False
    )
    reference = forms.CharField(max_length=500, required=False)
    client = forms.ModelChoiceField(
        queryset=Client.objects.filter(status=Client.Status.ACTIVE).only("name"),
        required=False,
        help_text="For prospect data: the company that holds the data (its admins answer).",
    )


class ChildAccountForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        label="Email address of the account the report is about",
        help_text="Its owner was found to be under 16: the account and everything about it is "
        "erased at once.",
    )

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        user = User.objects.filter(email=email, client__isnull=False).first()
        if user is None:
            raise ValidationError("No client user has this address.")
        self.cleaned_data["user"] = user
        return email


class CorrectionForm(forms.Form):
    full_name = forms.CharField(max_length=150, label="The corrected name")


ACTIONS = {
    # action: (title, its form or None when it takes no input)
    "verify": ("Confirm the requester's identity", None),
    "assign": ("Assign to me", None),
    "start": ("Mark in progress", None),
    "extend": ("Extend the deadline (once)", ReasonForm),
    "refuse": ("Refuse", ReasonForm),
    "done": ("Mark done", OutcomeForm),
    "note": ("Add a note", NoteForm),
    "archive": ("Build the copy of the data (archive)", None),
    "schedule_deletion": ("Schedule the deletion (waiting period)", None),
    "approve_deletion": ("Approve the deletion: erase now", None),
    "cancel_deletion": ("Cancel the deletion", None),
    "child_confirm": ("Confirm the account is a child's: erase it now", ChildAccountForm),
    "correct_name": ("Correct the requester's name", CorrectionForm),
    "remove_referrals": ("Remove the referral data and stop referral mail", None),
    "withdraw_testimonials": ("Withdraw the requester's testimonials (off the site now)", None),
}


def _action(name: str, pr: PrivacyRequest) -> tuple[str, type[forms.Form] | None] | None:
    """(title, form class) of an action; the removal action comes from privacy.removals, for
    the request's target. None: no such action for this request."""
    if name == removals.ACTION:
        removal = removals.for_target(pr.removal_target) if pr.kind == Kind.REMOVAL else None
        return (removal.title, removal.form_class) if removal else None
    return ACTIONS.get(name)


def _run(action: str, pr: PrivacyRequest, staff, data: dict):
    if action == removals.ACTION:
        removals.for_target(pr.removal_target).handler(request=pr, data=data, actor=staff)
    elif action == "verify":
        if not services.request_verify(request=pr, actor=staff):
            raise ValidationError("The requester's identity is already confirmed.")
    elif action == "assign":
        services.request_assign(request=pr, assignee=staff, actor=staff)
    elif action == "start":
        services.request_start(request=pr, actor=staff)
    elif action == "extend":
        services.request_extend(request=pr, reason=data["reason"], actor=staff)
    elif action == "refuse":
        services.request_refuse(request=pr, reason=data["reason"], actor=staff)
    elif action == "done":
        services.request_complete(request=pr, outcome=data["outcome"], actor=staff)
    elif action == "note":
        services.request_note(request=pr, note=data["note"], actor=staff)
    elif action == "archive":
        if pr.requester is None:
            raise ValidationError("This request names no account: there is nothing to copy.")
        archive.archive_request(user=pr.requester, request=pr, actor=staff)
    elif action == "schedule_deletion":
        deletion.deletion_schedule(request=pr, actor=staff)
    elif action == "approve_deletion":
        deletion.deletion_approve(request=pr, actor=staff)
    elif action == "cancel_deletion":
        deletion.deletion_cancel(request=pr, actor=staff)
    elif action == "child_confirm":
        deletion.child_data_confirm(request=pr, user=data["user"], actor=staff)
    elif action == "correct_name":
        services.request_correct_name(request=pr, full_name=data["full_name"], actor=staff)
    elif action == "remove_referrals":
        services.request_remove_referrals(request=pr, actor=staff)
    elif action == "withdraw_testimonials":
        address = pr.requester_email or (pr.requester.email if pr.requester else "")
        if not testimonials.withdraw_for_address(address, actor=staff):
            raise ValidationError(
                "No testimonial of this address is left to withdraw: mark the request done, "
                "saying so."
            )


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(admin.ModelAdmin):
    list_display = ["kind", "requester_column", "time_left", "status", "assignee", "due_at"]
    list_filter = [
        "status",
        "kind",
        "channel",
        ("assignee", admin.RelatedOnlyFieldListFilter),
    ]
    search_help_text = "An email address (not of prospect data requests) or a request's id."
    search_fields = ["requester_email"]  # the search itself: get_search_results
    inlines = [EventInline]
    list_per_page = 50

    class Media:
        css = {"all": ["css/privacy-admin.css"]}

    # --- the list ---

    def get_queryset(self, request):
        return queries.staff_request_list()

    def get_ordering(self, request):
        return ["priority", "due_at"]  # open child data, then overdue, then by deadline

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(public_id=uuid.UUID(term)), False
        except ValueError:
            pass
        # A prospect's address is theirs and their company's business: not searchable here.
        matches = queryset.filter(requester_email__icontains=term[:254]).exclude(
            kind=Kind.PROSPECT_DATA
        )
        return matches, False

    @admin.display(description="Requester")
    def requester_column(self, obj):
        if _hides_personal(obj):
            return f"answered by {obj.client.name if obj.client else 'the client'}'s admins"
        return obj.requester_email or "-"

    @admin.display(description="Time left", ordering="due_at")
    def time_left(self, obj):
        left = queries.deadline(obj)
        return format_html('<span class="deadline {}">{}</span>', left.css, left.label)

    # --- the read-only page and its actions ---

    def get_fields(self, request, obj=None):
        if _hides_personal(obj):
            return COMMON_FIELDS
        return COMMON_FIELDS + PERSONAL_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        return False  # no raw editing: the actions below call the services

    def has_delete_permission(self, request, obj=None):
        return False  # a request is the proof that it was answered

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra = {"privacy_actions": self._actions_for(obj)} if obj is not None else {}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _actions_for(self, obj) -> list[dict]:
        """The next steps staff may take, each with its (empty) form; none for a closed
        request, or for prospect data (the client's admins answer it)."""
        if _hides_personal(obj) or not obj.is_open:
            return []
        names = []
        if obj.verified_at is None:
            names.append("verify")
        names.append("assign")
        if obj.verified_at is not None and obj.status != PrivacyRequest.Status.IN_PROGRESS:
            names.append("start")
        if obj.extended_at is None:
            names.append("extend")
        names.append("refuse")
        if obj.verified_at is not None:
            names += self._fulfilment_actions(obj)
            names.append("done")
        names.append("note")
        return [
            {
                "name": name,
                "title": title,
                "form": form_class() if form_class else None,
                "url": reverse("admin:privacy_privacyrequest_act", args=[obj.pk, name]),
            }
            for name in names
            for title, form_class in [_action(name, obj)]
        ]

    def _fulfilment_actions(self, obj) -> list[str]:
        """The steps that answer a confirmed request of its kind (each service checks again)."""
        if obj.kind == Kind.ACCESS and obj.requester_id and not obj.archives.exists():
            return ["archive"]
        if obj.kind == Kind.DELETION and obj.requester_id:
            scheduled = obj.events.filter(
                action=PrivacyRequestEvent.Action.DELETION_SCHEDULED
            ).exists()
            return ["approve_deletion", "cancel_deletion" if scheduled else "schedule_deletion"]
        if obj.kind == Kind.CHILD_DATA:
            return ["child_confirm"]
        if obj.kind == Kind.CORRECTION and obj.requester_id:
            return ["correct_name"]
        if obj.kind == Kind.REMOVAL and obj.removal_target == PrivacyRequest.RemovalTarget.REFERRAL:
            return ["remove_referrals"]
        if (
            obj.kind == Kind.REMOVAL
            and obj.removal_target == PrivacyRequest.RemovalTarget.TESTIMONIAL
        ):
            return ["withdraw_testimonials"]
        if obj.kind == Kind.REMOVAL and removals.for_target(obj.removal_target):
            return [removals.ACTION]  # a forum post, a blog comment: the website app's answer
        return []

    def get_urls(self):
        own = [
            path(
                "<int:object_id>/act/<str:action>/",
                self.admin_site.admin_view(self.act_view),
                name="privacy_privacyrequest_act",
            ),
        ]
        return own + super().get_urls()

    def act_view(self, request, object_id, action):
        """GET: the action's form on its own page. POST: run it through its service; bad
        input or a refusal answers 400 with the form and the reason."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        pr = get_object_or_404(PrivacyRequest, pk=object_id)
        found = _action(action, pr)
        if found is None:
            raise PermissionDenied
        title, form_class = found
        form = form_class(request.POST or None) if form_class else None
        error = ""
        status = 200
        if request.method == "POST":
            if form is None or form.is_valid():
                try:
                    _run(action, pr, request.user, form.cleaned_data if form else {})
                except ValidationError as exc:
                    error = " ".join(exc.messages)
                else:
                    messages.success(request, f"{title}: done.")
                    return redirect("admin:privacy_privacyrequest_change", pr.pk)
            status = 400
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "pr": pr,
            "form": form,
            "error": error,
            "back": reverse("admin:privacy_privacyrequest_change", args=[pr.pk]),
        }
        return TemplateResponse(
            request, "admin/privacy/privacyrequest/action.html", context, status=status
        )

    # --- staff file a request on someone's behalf ---

    def has_add_permission(self, request):
        return self.has_view_permission(request)

    def add_view(self, request, form_url="", extra_context=None):
        form = StaffFileForm(request.POST or None)
        status = 200
        if request.method == "POST":
            if form.is_valid():
                data = form.cleaned_data
                try:
                    pr = services.request_file(
                        kind=data["kind"],
                        channel=PrivacyRequest.Channel.STAFF,
                        name=data["name"],
                        email=data["email"],
                        details=data["details"],
                        client=data["client"],
                        removal_target=data["removal_target"],
                        reference=data["reference"],
                        filed_by=request.user,
                    )
                except ValidationError as exc:
                    form.add_error(None, exc)
                else:
                    messages.success(request, "The request is filed; the requester is emailed.")
                    return redirect("admin:privacy_privacyrequest_change", pr.pk)
            status = 400
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "File a privacy request on someone's behalf",
            "form": form,
            "back": reverse("admin:privacy_privacyrequest_changelist"),
        }
        return TemplateResponse(
            request, "admin/privacy/privacyrequest/file.html", context, status=status
        )
