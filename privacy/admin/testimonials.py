"""Django admin: testimonials. Staff draft one, ask the person's consent by email, and publish
it once the person approved; every change of state goes through privacy.testimonials."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from opsx import images

from .. import testimonials
from ..models import Testimonial

Status = Testimonial.Status

_STATE = [
    "status",
    "public_id",
    "requested_at",
    "consented_at",
    "consent_means",
    "declined_at",
    "withdrawn_at",
    "published_at",
    "created_by",
    "created_at",
    "photo_preview",
]


class PhotoField(forms.ImageField):
    # The name first (a short message); the content is what counts (clean_photo).
    default_validators = [images.extension_validator("photo")]


class TestimonialForm(forms.ModelForm):
    class Meta:
        model = Testimonial
        fields = ["quote", "person_name", "person_email", "company", "photo"]
        help_texts = {
            "quote": "Exactly the words to be published. Changing them after the person "
            "approved voids the approval: the testimonial goes off the site and is asked again.",
            "person_email": "The consent request goes to this address.",
            "photo": "Optional: a JPEG, PNG or WebP image of at most 5 MB.",
        }
        field_classes = {"photo": PhotoField}

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if isinstance(photo, UploadedFile):
            testimonials.clean_photo(photo)  # the same check the service makes, shown here
        return photo


@admin.register(Testimonial)
class TestimonialAdmin(admin.ModelAdmin):
    form = TestimonialForm
    list_display = ["person_name", "company", "status", "requested_at", "published_at"]
    list_filter = ["status", ("published_at", admin.EmptyFieldListFilter)]
    search_fields = ["=person_email", "person_name", "company"]
    search_help_text = "An exact email address, or words of a name or company."
    readonly_fields = _STATE
    actions = ["request_consent", "publish", "unpublish"]
    change_form_template = "admin/privacy/testimonial/change_form.html"
    list_per_page = 50

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")

    def get_fields(self, request, obj=None):
        editable = ["quote", "person_name", "person_email", "company", "photo"]
        return editable if obj is None else editable + _STATE

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status == Status.WITHDRAWN:
            return False  # the person said no for good: read-only
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data.get("photo")
        try:
            testimonials.testimonial_save(
                testimonial=obj,
                actor=request.user,
                photo_upload=upload if isinstance(upload, UploadedFile) else None,
            )
        except ValidationError as exc:
            # Raced with a withdrawal since the form was shown: say so, change nothing.
            self.message_user(request, " ".join(exc.messages), messages.ERROR)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status not in testimonials.DELETABLE:
            return False  # it records the person's answer
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, each through the service
        return actions

    def delete_model(self, request, obj):
        testimonials.testimonial_delete(obj, request.user)

    @admin.display(description="Photo")
    def photo_preview(self, obj):
        if obj is None or not obj.photo:
            return "No photo."
        if obj.published_at is None:
            return "A photo is stored; it is shown on the site once the testimonial is published."
        return format_html(
            '<img src="{}" alt="" width="96" height="96">',
            reverse("privacy:testimonial_photo", args=[obj.public_id]),
        )

    # --- the buttons on the change page and the list's actions ---

    def response_change(self, request, obj):
        for name, run in (
            ("_request_consent", self._request_one),
            ("_publish", self._publish_one),
            ("_unpublish", self._unpublish_one),
        ):
            if name in request.POST:
                obj.refresh_from_db()
                run(request, obj)
                return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    @admin.action(description="Ask the selected people for consent (by email)")
    def request_consent(self, request, queryset):
        for testimonial in queryset:
            self._request_one(request, testimonial)

    @admin.action(description="Publish the selected testimonials (approved ones only)")
    def publish(self, request, queryset):
        for testimonial in queryset:
            self._publish_one(request, testimonial)

    @admin.action(description="Take the selected testimonials off the site")
    def unpublish(self, request, queryset):
        for testimonial in queryset:
            self._unpublish_one(request, testimonial)

    def _request_one(self, request, testimonial) -> None:
        try:
            testimonials.request_consent(testimonial, request.user)
        except ValidationError as exc:
            self.message_user(
                request, f"{testimonial.person_name}: {' '.join(exc.messages)}", messages.ERROR
            )
        else:
            self.message_user(
                request,
                f"{testimonial.person_name}: the consent request is being sent.",
                messages.SUCCESS,
            )

    def _publish_one(self, request, testimonial) -> None:
        try:
            done = testimonials.testimonial_publish(testimonial, request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            said = "is published" if done else "was already published"
            self.message_user(request, f"{testimonial.person_name}: {said}.", messages.SUCCESS)

    def _unpublish_one(self, request, testimonial) -> None:
        done = testimonials.testimonial_unpublish(testimonial, request.user)
        said = "is off the site" if done else "was not on the site"
        self.message_user(request, f"{testimonial.person_name}: {said}.", messages.SUCCESS)
