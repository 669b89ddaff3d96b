"""The forms of the client admins' device pages."""

from django import forms

from clients.models import Client

from .models import Device
from .services import MAX_NOTE

# What the list shows when nobody chose: the devices signed in now, the ones an admin acts on.
DEFAULT_STATUS = Device.Status.ACTIVE
ANY_STATUS = "any"
# The filter's choices, in the order an admin looks for them.
_ORDER = ("active", "pending", "rejected", "revoked")
STATUS_CHOICES = [(s, Device.Status(s).label) for s in _ORDER] + [(ANY_STATUS, "Any status")]


class DeviceFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=STATUS_CHOICES,
        error_messages={"invalid_choice": "Choose a status from the list."},
    )
    q = forms.CharField(
        required=False,
        max_length=100,
        error_messages={
            "max_length": "Search with at most 100 characters.",
            "null_characters_not_allowed": "The search contains a NUL character; type it again.",
        },
    )

    def filters(self) -> tuple[str, str]:
        """(status, search) to list by: the valid ones given, the defaults for the others
        (call after is_valid())."""
        data = self.cleaned_data
        return data.get("status") or DEFAULT_STATUS, data.get("q") or ""


class RevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Your company's admins see it in the device list, next to the revocation.",
        error_messages={
            "required": "Give a reason for revoking this device.",
            "max_length": "Keep the reason to %(limit_value)d characters (it has %(show_value)d).",
            # Django's own check (PostgreSQL cannot store a NUL character), in our words
            "null_characters_not_allowed": "The reason contains a NUL character; type it again.",
        },
    )


POLICY_HELP = {
    Client.DevicePolicy.REPLACE: (
        "When someone signs in on a new phone, their old phone is signed out at once. Nobody "
        "needs to do anything; the new phone works straight away."
    ),
    Client.DevicePolicy.APPROVE: (
        "When someone who already uses the app on one phone signs in on another, the new phone "
        "waits until an admin approves it here. Approving signs the old phone out; refusing "
        "keeps the new phone out. A person's first phone needs no approval."
    ),
}


class DevicePolicyForm(forms.Form):
    policy = forms.ChoiceField(
        choices=Client.DevicePolicy.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose what happens when someone signs in on a new phone.",
            "invalid_choice": "Choose one of the two device policies.",
        },
    )
