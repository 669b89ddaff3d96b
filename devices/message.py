"""Admin tasks: "message your team", a push notification to every phone of the client."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from clients.decorators import client_admin_required
from opsx.forms import posted

from . import notify


class TeamMessageForm(forms.Form):
    title = forms.CharField(label="Title", max_length=notify.TITLE_MAX)
    body = forms.CharField(
        label="Message",
        max_length=notify.BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=f"At most {notify.BODY_MAX} characters. Phones show the first lines.",
    )


@client_admin_required
def team_message(request):
    form = TeamMessageForm(posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            sent = notify.team_message_send(
                client=request.client, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            status = 429 if getattr(exc, "code", None) == "rate_limited" else 400
        else:
            messages.success(
                request, f"Your message is on its way to {sent} device{'' if sent == 1 else 's'}."
            )
            return redirect("devices:message")
    elif form.errors:
        status = 400
    context = {"form": form, "devices": notify.team_message_devices(request.client).count()}
    return render(request, "devices/team_message.html", context, status=status)
