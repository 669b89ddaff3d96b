"""The newsletter's public sign-up form."""

import re

from django import forms

# Line breaks, tabs and other control characters: a name is one line of text, and a line
# break in it is an attempt to add mail headers ("a\r\nBcc: x").
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class SubscribeForm(forms.Form):
    name = forms.CharField(max_length=150, label="Your name")
    email = forms.EmailField(max_length=254, label="Your email address")

    def clean_name(self):
        name = self.cleaned_data["name"]
        if _CONTROL.search(name):
            raise forms.ValidationError(
                "Your name cannot contain line breaks, tabs or other control characters."
            )
        return name
