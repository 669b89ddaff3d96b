"""Web pages of devices: the client admins' device pages (Admin tasks → Devices), and the
closed door of headless sign-up."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clients.decorators import client_admin_required
from clients.models import Client
from opsx.forms import flash_refusal, posted

from . import queries, services
from .forms import POLICY_HELP, STATUS_CHOICES, DeviceFilterForm, DevicePolicyForm, RevokeForm
from .models import Device

# Where an approve or refuse button sends the admin back to (the form's "back" field).
_BACK = {"list": "devices:list", "pending": "devices:pending", "refused": "devices:refused"}


def _page(request, qs, column="last_seen_at"):
    try:
        return queries.device_page(qs, column=column, after=request.GET.get("after", ""))
    except ValidationError as exc:
        messages.warning(request, exc.messages[0])
        return queries.device_page(qs, column=column)


def _act(request, action, success, back: str):
    """Run a service; its refusal or `success(result)` as the message on the page `back`."""
    try:
        result = action()
    except ValidationError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, success(result))
    return redirect(back)


def _owner(device: Device) -> str:
    return f"{device.user}'s {device}"


@client_admin_required
def device_list(request):
    form = DeviceFilterForm(request.GET)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.warning(request, errors[0])
    status, search = form.filters()
    qs = queries.device_list(request.client, status=status, search=search)
    context = {
        "page": _page(request, qs),
        "status": status,
        "search": search,
        "query": {k: v for k, v in (("status", status), ("q", search)) if v},
        "statuses": STATUS_CHOICES,
        "pending_count": queries.pending_count(request.client),
        "policies": [(v, label, POLICY_HELP[v]) for v, label in Client.DevicePolicy.choices],
    }
    return render(request, "devices/device_list.html", context)


@client_admin_required
def pending_list(request):
    page = _page(request, queries.pending_list(request.client))
    current = queries.active_devices_of(request.client, [d.user_id for d in page.rows])
    rows = [(device, current.get(device.user_id)) for device in page.rows]
    return render(request, "devices/pending.html", {"page": page, "rows": rows})


@client_admin_required
def refused_list(request):
    page = _page(request, queries.refused_list(request.client), column="last_refused_at")
    return render(request, "devices/refused.html", {"page": page})


@client_admin_required
def device_revoke(request, public_id):
    """GET: the device and the reason to give. POST: revoke it (signed out at once)."""
    device = queries.access_device(request.client, public_id)
    form = RevokeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        return _act(
            request,
            lambda: services.device_revoke(
                device=device, actor=request.user, note=form.cleaned_data["reason"]
            ),
            lambda d: f"{_owner(d)} is revoked: it was signed out and its push token removed.",
            "devices:list",
        )
    status = 400 if form.errors else 200
    return render(request, "devices/revoke.html", {"device": device, "form": form}, status=status)


def _approved(device: Device) -> str:
    if device.session_key:
        return f"{_owner(device)} is approved; any other device of theirs was signed out."
    return (
        f"{_owner(device)} is approved; any other device of theirs was signed out. "
        "They sign in on it again to use it."
    )


@require_POST
@client_admin_required
def device_approve(request, public_id):
    device = queries.access_device(request.client, public_id)
    return _act(
        request,
        lambda: services.device_approve(device=device, actor=request.user),
        _approved,
        _BACK.get(request.POST.get("back"), "devices:pending"),
    )


@require_POST
@client_admin_required
def device_refuse(request, public_id):
    device = queries.access_device(request.client, public_id)
    return _act(
        request,
        lambda: services.device_reject(device=device, actor=request.user),
        lambda d: f"{_owner(d)} is refused and signed out; signing in on it again stays refused.",
        _BACK.get(request.POST.get("back"), "devices:pending"),
    )


@require_POST
@client_admin_required
def policy_set(request):
    form = DevicePolicyForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["policy"][0])
        return redirect("devices:list")
    policy = form.cleaned_data["policy"]
    return _act(
        request,
        lambda: services.client_set_device_policy(
            client=request.client, policy=policy, actor=request.user
        ),
        lambda c: f"Device policy saved: {c.get_device_policy_display().lower()}.",
        "devices:list",
    )


@csrf_exempt
def headless_signup_closed(request):
    """The app signs users in; companies start their account on the web (age gate, company)."""
    return JsonResponse(
        {
            "status": 403,
            "errors": [
                {
                    "code": "signup_closed",
                    "message": "Create your account on the OpsX website; then sign in here.",
                }
            ],
        },
        status=403,
    )
