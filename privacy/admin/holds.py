"""Django admin: legal holds. Added through a form that calls privacy.holds.legal_hold_set (a
reason is required); released by an action; never edited or deleted."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from ..holds import legal_hold_release, legal_hold_set
from ..models import LegalHold


class LegalHoldAddForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ["user", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].required = True
        self.fields["reason"].help_text = (
            "Why this person's records must be kept past an erasure (the law, a dispute). "
            "For staff only; never shown to the person."
        )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError("Give the reason for the hold.")
        return reason

    def clean(self):
        data = super().clean()
        user = data.get("user")
        if user and LegalHold.objects.filter(user=user, released_at__isnull=True).exists():
            raise ValidationError("This person is already under an active legal hold.")
        return data


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "set_by", "set_at", "released_at"]
    list_filter = [("released_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user", "set_by"]
    search_fields = ["user__email", "user_hash"]
    raw_id_fields = ["user"]
    readonly_fields = [
        "user",
        "user_hash",
        "reason",
        "set_by",
        "set_at",
        "released_at",
        "released_by",
    ]
    actions = ["release_holds"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = LegalHoldAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["user", "reason"] if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # released, never deleted: the record of why data was kept

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing is editable
        hold = legal_hold_set(
            user=form.cleaned_data["user"], reason=form.cleaned_data["reason"], actor=request.user
        )
        obj.pk = hold.pk
        obj.user_hash, obj.set_by, obj.set_at = hold.user_hash, hold.set_by, hold.set_at

    @admin.action(description="Release the selected legal holds")
    def release_holds(self, request, queryset):
        done = 0
        for hold in queryset.select_related("user"):
            try:
                legal_hold_release(hold=hold, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{hold}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                done += 1
        self.message_user(request, f"{done} legal hold(s) released.", messages.SUCCESS)
