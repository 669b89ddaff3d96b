from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from clients.decorators import client_member_required
from opsx.forms import posted

from . import queries, services
from .forms import InvitationAcceptForm, NameForm


@client_member_required
def dashboard(request):
    return render(request, "accounts/dashboard.html")


@client_member_required
def account_settings(request):
    form = NameForm(
        posted(request),
        initial={"full_name": request.user.full_name},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update_name(
                user=request.user,
                full_name=form.cleaned_data["full_name"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_error("full_name", exc)
        else:
            messages.success(request, "Your name was updated.")
            return redirect("account_settings")
    context = {"form": form, "revisions": queries.user_revisions(request.user)}
    return render(request, "accounts/settings.html", context, status=400 if form.errors else 200)


@never_cache
def invitation_accept(request, token):
    try:
        invitation = services.invitation_from_token(token)
    except services.InvitationError as exc:
        return render(request, "accounts/invitation_invalid.html", {"reason": str(exc)}, status=400)
    if request.user.is_authenticated:
        return render(
            request,
            "accounts/invitation_invalid.html",
            {"reason": "You are signed in already. Sign out, then open the invitation link again."},
            status=400,
        )
    form = InvitationAcceptForm(posted(request), email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                invitation=invitation,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
        except services.InvitationError as exc:
            return render(
                request, "accounts/invitation_invalid.html", {"reason": str(exc)}, status=400
            )
        login(request, user, backend="accounts.backends.AllauthBackend")
        messages.success(request, f"Welcome to {invitation.client.name} on OpsX.")
        return redirect("dashboard")
    context = {"form": form, "invitation": invitation}
    return render(
        request, "accounts/invitation_accept.html", context, status=400 if form.errors else 200
    )
