"""The account's "Email preferences" page (privacy/preferences.py has the rules)."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from opsx.forms import posted

from .. import preferences
from ..decorators import account_required


class EmailPreferencesForm(forms.Form):
    service_notices = forms.BooleanField(
        label="Service notices: news about how OpsX works for you (new features, planned "
        "maintenance, tips about your account's use)",
        required=False,
    )
    newsletter = forms.BooleanField(label=preferences.NEWSLETTER_CONSENT_TEXT, required=False)


@require_http_methods(["GET", "POST"])
@account_required
def email_preferences(request):
    current = preferences.preferences_of(request.user)
    form = EmailPreferencesForm(posted(request), initial=current.__dict__)
    if form.is_valid():
        preferences.email_preferences_save(
            user=request.user, actor=request.user, **form.cleaned_data
        )
        messages.success(request, "Your email preferences are saved.")
        return redirect("privacy:email_preferences")
    return render(request, "privacy/email_preferences.html", {"form": form, "current": current})
