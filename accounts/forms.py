from django import forms
from django.contrib.auth.forms import SetPasswordMixin

from . import services
from .models import User


class AgeGateMixin(forms.Form):
    """Asks for a date of birth, refuses anyone under 16; the date itself is never saved."""

    date_of_birth = forms.DateField(
        label="Date of birth",
        help_text="Used once to check you are 16 or older; we do not store it.",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter your date of birth as YYYY-MM-DD."},
    )

    def clean_date_of_birth(self):
        birth_date = self.cleaned_data["date_of_birth"]
        services.check_age(birth_date)
        return birth_date


class StartClientForm(AgeGateMixin):
    """Extra fields of allauth's sign-up form: the company and the person starting it."""

    company_name = forms.CharField(label="Company name", max_length=200)
    full_name = forms.CharField(label="Your full name", max_length=150)

    field_order = ["company_name", "full_name", "email", "date_of_birth", "password1", "password2"]

    def signup(self, request, user):
        """The adapter's save_user already did the work in one transaction."""


class InvitationAcceptForm(SetPasswordMixin, AgeGateMixin):
    """Django's own password fields (never stripped: spaces are part of a password) and checks."""

    full_name = forms.CharField(label="Your full name", max_length=150)
    password1, password2 = SetPasswordMixin.create_password_fields(label2="Password (again)")
    error_messages = {"password_mismatch": "The two passwords do not match."}

    field_order = ["full_name", "date_of_birth", "password1", "password2"]

    def __init__(self, *args, email: str, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        self.validate_passwords()
        if "password2" not in self.errors:
            probe = User(email=self.email, full_name=cleaned.get("full_name", ""))
            self.validate_password_for_user(probe, "password1")
        return cleaned


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    role = forms.ChoiceField(choices=User.Role.choices, initial=User.Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=User.Role.choices)


class NameForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=150)


class ReferralForm(forms.Form):
    """Tell a friend: the service (accounts.referrals.referral_create) checks everything again
    and reports its refusals on this form."""

    name = forms.CharField(label="Your friend's name", max_length=150)
    email = forms.EmailField(label="Their email address", max_length=254)
    note = forms.CharField(
        label="A note from you (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Plain text, up to 1,000 characters; it is sent as you write it.",
    )
