"""Privacy requests: the public form and the requester's signed link, the account pages, and
the client admins' Admin tasks pages for prospect data requests."""

from urllib.parse import urlencode

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clients.decorators import client_admin_required
from opsx.forms import flash_refusal, posted

from .. import queries, services
from ..decorators import account_required
from ..models import PrivacyRequest
from ..request_forms import OutcomeForm, ReasonForm, RequestForm

Channel = PrivacyRequest.Channel


def _client_ip(request) -> str:
    try:
        return get_adapter(request).get_client_ip(request) or "unknown"
    except (PermissionDenied, ImproperlyConfigured):
        return "unknown"


def _form_context(request, form: RequestForm) -> dict:
    """The form with the company search's results (a GET parameter: at least 3 characters,
    at most 10 active clients by name) and the company already chosen, if any."""
    text = request.GET.get("company_q", "")[:100]
    return {
        "form": form,
        "company_q": text,
        "companies": queries.company_search(text),
        "search_too_short": bool(text.strip()) and len(text.strip()) < queries.COMPANY_SEARCH_MIN,
        "selected_company": form.company_obj if form.is_bound else None,
    }


def _status(form, exc=None) -> int:
    if exc is not None and exc.code == "rate_limited":
        return 429
    return 400 if form.errors else 200


# --- the public form and the requester's link -------------------------------------------


@require_http_methods(["GET", "POST"])
def request_new(request):
    form = RequestForm(posted(request), initial={"kind": request.GET.get("kind", "")})
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            services.public_request_limit(ip=_client_ip(request))
            services.request_file(
                channel=Channel.PUBLIC,
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
                **form.service_kwargs(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            refusal = exc
        else:
            return redirect("privacy:request_sent")
    return render(
        request,
        "privacy/request_new.html",
        _form_context(request, form),
        status=_status(form, refusal),
    )


@require_GET
def request_sent(request):
    # The same page whether or not the address has an account: it tells nobody who uses OpsX.
    return render(request, "privacy/request_sent.html")


def _from_link(request, token):
    try:
        return services.request_from_token(token), None
    except services.RequestLinkError as exc:
        response = render(
            request, "privacy/request_link_invalid.html", {"reason": str(exc)}, status=400
        )
        return None, response


@never_cache  # a bearer link: no cache keeps the page
@require_GET
def request_status(request, token):
    privacy_request, refused = _from_link(request, token)
    if refused:
        return refused
    if privacy_request.verified_at is None:
        # Nothing about the request is shown until the address is confirmed.
        return render(
            request,
            "privacy/request_confirm.html",
            {"token": token, "closed": not privacy_request.is_open},
        )
    context = {
        "pr": privacy_request,
        "token": token,
        "timeline": queries.requester_timeline(privacy_request),
        "answered_by": services.answered_by(privacy_request),
    }
    return render(request, "privacy/request_status.html", context)


@never_cache
@require_POST
def request_confirm(request, token):
    privacy_request, refused = _from_link(request, token)
    if refused:
        return refused
    try:
        if services.request_verify(request=privacy_request, actor=None):
            messages.success(request, "Thank you: your address is confirmed.")
    except ValidationError as exc:
        flash_refusal(request, exc)
    return redirect("privacy:request_status", token)


@never_cache
@require_POST
def request_link_withdraw(request, token):
    privacy_request, refused = _from_link(request, token)
    if refused:
        return refused
    if privacy_request.verified_at is None:
        raise Http404  # nothing is done with an unconfirmed request, not even this
    try:
        services.request_withdraw(request=privacy_request, actor=None)
    except ValidationError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, "Your request is withdrawn.")
    return redirect("privacy:request_status", token)


# --- the account pages ------------------------------------------------------------------


@account_required
@require_http_methods(["GET", "POST"])
def account_privacy(request):
    form = RequestForm(posted(request), account=True, initial={"kind": request.GET.get("kind", "")})
    if request.method == "POST" and form.is_valid():
        try:
            privacy_request = services.request_file(
                channel=Channel.ACCOUNT,
                requester=request.user,
                name="",
                email="",
                **form.service_kwargs(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"Your request is filed. It will be answered by "
                f"{services.answered_by(privacy_request)} by "
                f"{privacy_request.due_at:%Y-%m-%d} at the latest.",
            )
            return redirect("privacy:account_request", privacy_request.public_id)
    context = {
        **_form_context(request, form),
        "requests": list(queries.account_requests(request.user)),
    }
    return render(request, "privacy/account_list.html", context, status=_status(form))


@account_required
@require_GET
def account_request(request, public_id):
    privacy_request = queries.access_account_request(request.user, public_id)
    context = {
        "pr": privacy_request,
        "timeline": queries.requester_timeline(privacy_request),
        "answered_by": services.answered_by(privacy_request),
    }
    return render(request, "privacy/account_detail.html", context)


@account_required
@require_POST
def account_request_withdraw(request, public_id):
    privacy_request = queries.access_account_request(request.user, public_id)
    try:
        services.request_withdraw(request=privacy_request, actor=request.user)
    except ValidationError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, "Your request is withdrawn.")
    return redirect("privacy:account_request", privacy_request.public_id)


# --- Admin tasks: the client's admins answer prospect data requests ---------------------


@client_admin_required
@require_GET
def client_request_list(request):
    context = {"requests": list(queries.client_requests(request.client))}
    return render(request, "privacy/client_list.html", context)


def _client_detail(request, privacy_request, *, status=200, **forms):
    prospects_url = (
        reverse("prospects:list") + "?" + urlencode({"q": privacy_request.requester_email})
    )
    context = {
        "pr": privacy_request,
        "timeline": privacy_request.events.all(),
        "prospects_url": prospects_url,
        "refuse_form": forms.get("refuse_form") or ReasonForm(),
        "done_form": forms.get("done_form") or OutcomeForm(),
    }
    return render(request, "privacy/client_detail.html", context, status=status)


@client_admin_required
@require_GET
def client_request(request, public_id):
    return _client_detail(request, queries.access_client_request(request.client, public_id))


@client_admin_required
@require_POST
def client_request_start(request, public_id):
    privacy_request = queries.access_client_request(request.client, public_id)
    try:
        services.request_start(request=privacy_request, actor=request.user)
    except ValidationError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, "The request is marked in progress.")
    return redirect("privacy:client_request", privacy_request.public_id)


@client_admin_required
@require_POST
def client_request_done(request, public_id):
    privacy_request = queries.access_client_request(request.client, public_id)
    form = OutcomeForm(request.POST)
    if form.is_valid():
        try:
            services.request_complete(
                request=privacy_request, actor=request.user, outcome=form.cleaned_data["outcome"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The request is done; the requester is emailed.")
            return redirect("privacy:client_request", privacy_request.public_id)
    return _client_detail(request, privacy_request, status=400, done_form=form)


@client_admin_required
@require_POST
def client_request_refuse(request, public_id):
    privacy_request = queries.access_client_request(request.client, public_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.request_refuse(
                request=privacy_request, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The request is refused; the requester is emailed why.")
            return redirect("privacy:client_request", privacy_request.public_id)
    return _client_detail(request, privacy_request, status=400, refuse_form=form)
