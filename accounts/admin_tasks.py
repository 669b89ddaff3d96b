"""Admin tasks: a client admin manages the people of their company."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from clients import audit
from clients.decorators import client_admin_required
from opsx.forms import flash_refusal, posted

from . import queries, services
from .forms import InviteForm, RoleForm
from .models import User


@client_admin_required
def user_list(request):
    context = {
        "users": queries.client_user_list(request.client),
        "invitations": queries.client_pending_invitations(request.client),
        "invite_form": InviteForm(),
        "roles": User.Role.choices,
    }
    return render(request, "accounts/admin_tasks/user_list.html", context)


@client_admin_required
def user_invite(request):
    form = InviteForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(
                client=request.client, invited_by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error("email", exc)
            if exc.code == "rate_limited":
                return render(
                    request, "accounts/admin_tasks/user_invite.html", {"form": form}, status=429
                )
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("admin_tasks:users")
    return render(
        request,
        "accounts/admin_tasks/user_invite.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def _act(request, action, success):
    """Run `action`; `success` is the message, or a function of the action's result giving it."""
    try:
        result = action()
    except ValidationError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, success(result) if callable(success) else success)
    return redirect("admin_tasks:users")


def _cancelled_note(user: User, kind: str) -> str:
    count = getattr(user, "invitations_cancelled", 0)
    if not count:
        return ""
    if count == 1:
        return f" The pending {kind}invitation they sent was cancelled."
    return f" The {count} pending {kind}invitations they sent were cancelled."


@require_POST
@client_admin_required
def invitation_resend(request, public_id):
    invitation = queries.access_invitation(request.client, public_id)
    return _act(
        request,
        lambda: services.invitation_resend(invitation=invitation, acting_user=request.user),
        f"A new invitation link was sent to {invitation.email}.",
    )


@require_POST
@client_admin_required
def invitation_cancel(request, public_id):
    invitation = queries.access_invitation(request.client, public_id)
    return _act(
        request,
        lambda: services.invitation_cancel(invitation=invitation, acting_user=request.user),
        f"The invitation to {invitation.email} was cancelled.",
    )


@require_POST
@client_admin_required
def user_role(request, public_id):
    target = queries.access_user(request.client, public_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: member or admin.")
        return redirect("admin_tasks:users")
    role = form.cleaned_data["role"]
    return _act(
        request,
        lambda: services.user_change_role(target=target, role=role, acting_user=request.user),
        lambda user: (
            f"{user} is now {dict(User.Role.choices)[role].lower()}."
            + _cancelled_note(user, "admin ")
        ),
    )


@require_POST
@client_admin_required
def user_deactivate(request, public_id):
    target = queries.access_user(request.client, public_id)
    return _act(
        request,
        lambda: services.user_deactivate(target=target, acting_user=request.user),
        lambda user: (
            f"{user} was deactivated and signed out everywhere." + _cancelled_note(user, "")
        ),
    )


@require_POST
@client_admin_required
def user_reactivate(request, public_id):
    target = queries.access_user(request.client, public_id)
    return _act(
        request,
        lambda: services.user_reactivate(target=target, acting_user=request.user),
        f"{target} can sign in again.",
    )


@client_admin_required
def audit_log(request):
    """The client's audit trail, newest first, filtered by person, action and dates."""
    filters = audit.LogFilters.from_query(request.GET)
    people = list(User.objects.for_client(request.client).only("public_id", "full_name", "email"))
    qs = audit.client_log(request.client, filters, people=people)
    try:
        page = audit.log_page(qs, people=people, after=request.GET.get("after", ""))
    except ValidationError as exc:
        filters.errors.append(exc.messages[0])
        page = audit.log_page(qs, people=people)
    for error in filters.errors:
        messages.warning(request, error)
    context = {
        "page": page,
        "filters": filters,
        "query": filters.as_query(),
        "people": people,
        "actions": audit.Action.choices,
    }
    return render(request, "accounts/admin_tasks/audit_log.html", context)
