"""Forms of the privacy request pages: filing a request, and the answerers' reasons."""

import uuid

from django import forms

from . import queries
from .models import PrivacyRequest

Kind = PrivacyRequest.Kind


class RequestForm(forms.Form):
    """What a visitor (or, without name and email, a signed-in user) asks for. Only the fields
    of the chosen kind are kept: the removal target and reference for a removal, the company
    for prospect data."""

    name = forms.CharField(max_length=150, label="Your name")
    email = forms.EmailField(
        max_length=254,
        label="Your email address",
        help_text="We send a link to this address to confirm it is yours before anything is done.",
    )
    kind = forms.ChoiceField(choices=Kind.choices, label="What is your request about?")
    details = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
        required=False,
        label="Details",
        help_text="Anything that helps us answer: what to correct, which account, and so on.",
    )
    removal_target = forms.ChoiceField(
        choices=[("", "---------"), *PrivacyRequest.RemovalTarget.choices],
        required=False,
        label="What should be removed? (removals)",
    )
    reference = forms.CharField(
        max_length=500,
        required=False,
        label="Where is it? (removals and corrections)",
        help_text="A link, a quote or a description.",
    )
    company = forms.CharField(required=False, max_length=36, widget=forms.HiddenInput)

    def __init__(self, *args, account: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if account:
            del self.fields["name"]
            del self.fields["email"]
        self.company_obj = None

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == Kind.REMOVAL and not data.get("removal_target"):
            self.add_error("removal_target", "Choose what should be removed.")
        if kind == Kind.PROSPECT_DATA:
            company = None
            raw = (data.get("company") or "").strip()
            try:
                company = queries.active_company(uuid.UUID(raw)) if raw else None
            except ValueError:
                company = None
            if company is None:
                self.add_error(
                    "kind",
                    "Find the company that holds your data with the search above and choose it.",
                )
            self.company_obj = company
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "details": data.get("details", ""),
            "client": self.company_obj,
            "removal_target": data.get("removal_target", ""),
            "reference": data.get("reference", ""),
        }


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="The requester is emailed this.",
    )


class OutcomeForm(forms.Form):
    outcome = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="What was done. The requester is emailed this.",
    )


class NoteForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="For whoever answers the request; never shown to the requester.",
    )
