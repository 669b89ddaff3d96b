"""Support access pages: the user's own (grant, revoke, the log of what support viewed) and
the staff member's "stop" of a support view (privacy/support.py has the rules)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from opsx.forms import posted

from .. import support
from ..decorators import account_required


class SupportGrantForm(forms.Form):
    days = forms.IntegerField(
        label="For how many days",
        validators=[MinValueValidator(1, "Support access lasts at least 1 day.")],
        error_messages={"invalid": "Enter the number of days as a whole number."},
    )
    allow_downloads = forms.BooleanField(
        label="Support may download files and exports of my company's data", required=False
    )
    note = forms.CharField(
        label="What should support look at? (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        longest = settings.SUPPORT_GRANT_MAX_DAYS
        field = self.fields["days"]
        field.max_value = longest
        field.validators.append(
            MaxValueValidator(longest, f"Support access lasts at most {longest} days.")
        )
        field.widget.attrs.update({"min": 1, "max": longest})
        field.help_text = f"From 1 to {longest} days."
        field.initial = 1


@account_required
def support_access(request):
    form = SupportGrantForm(posted(request))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                support.support_grant(user=request.user, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error("days", exc)
            else:
                messages.success(request, "Support access granted.")
                return redirect("privacy:support_access")
        status = 400
    context = {
        "form": form,
        "grant": support.active_grant(request.user),
        "log": support.support_access_log(request.user),
        "log_limit": support.LOG_LIMIT,
    }
    return render(request, "privacy/support_access.html", context, status=status)


@require_POST
@account_required
def support_access_revoke(request):
    grant = support.active_grant(request.user)
    if grant is None:
        messages.info(request, "Support access had already ended.")
    else:
        support.support_revoke(grant=grant, actor=request.user)
        messages.success(request, "Support access revoked: support can no longer see your account.")
    return redirect("privacy:support_access")


@require_POST
def support_view_stop(request):
    """Staff leave a support view (always open: SupportViewMiddleware lets it through as the
    staff member), back to the grants in admin."""
    if support.view_leave(request):
        messages.info(request, "Support view ended.")
    if request.user.is_authenticated and request.user.is_staff:
        return redirect("admin:privacy_supportgrant_changelist")
    return redirect("home")
