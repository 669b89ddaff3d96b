import pycountry
from django import forms
from django.core.exceptions import ValidationError

from . import billing, gst

COUNTRIES = sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])


class BillingDetailsForm(forms.Form):
    legal_name = forms.CharField(label="Company name on invoices", max_length=200, required=False)
    address = forms.CharField(
        label="Billing address",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    country = forms.ChoiceField(label="Country", choices=COUNTRIES, initial="IN")
    state = forms.ChoiceField(
        label="State (India)",
        choices=[("", "Not in India"), *sorted(gst.STATES.items(), key=lambda s: s[1])],
        required=False,
    )
    gstin = forms.CharField(
        label="GSTIN (optional)",
        max_length=20,
        required=False,
        help_text="15 characters, like 29ABCDE1234F1Z5. Leave empty if the company has none.",
    )
    billing_email = forms.EmailField(label="Send invoices to", max_length=254, required=False)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["country"], data["state"], data["gstin"] = billing.clean_details(
                country=data.get("country", ""),
                state=data.get("state", ""),
                gstin=data.get("gstin", ""),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field, errors)
        return data
