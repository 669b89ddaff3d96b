"""The newsletter's public pages: the sign-up form, the confirmation link, and the
unsubscribe link every newsletter mail carries (RFC 8058 one-click POST, or its page)."""

from allauth.account.adapter import get_adapter
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from opsx.forms import posted
from opsx.signed_links import LinkExpired, LinkInvalid

from .. import newsletter
from ..newsletter_forms import SubscribeForm


def _client_ip(request) -> str:
    try:
        return get_adapter(request).get_client_ip(request) or "unknown"
    except (PermissionDenied, ImproperlyConfigured):
        return "unknown"


def _link_refused(request, exc, *, purpose: str):
    expired = isinstance(exc, LinkExpired | newsletter.LinkGone)
    context = {"expired": expired, "purpose": purpose}
    return render(
        request, "privacy/newsletter_link_invalid.html", context, status=410 if expired else 400
    )


@require_http_methods(["GET", "POST"])
def subscribe(request):
    form = SubscribeForm(posted(request))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                newsletter.subscribe_limit(ip=_client_ip(request))
            except ValidationError as exc:
                form.add_error(None, exc)
                status = 429
            else:
                newsletter.newsletter_subscribe(**form.cleaned_data)
                return redirect("privacy:newsletter_sent")
    context = {"form": form, "consent_text": newsletter.CONSENT_TEXT}
    return render(request, "privacy/newsletter_subscribe.html", context, status=status)


@require_GET
def sent(request):
    # One answer for every address (new, pending, confirmed, suppressed): it tells nobody who
    # subscribes.
    return render(request, "privacy/newsletter_sent.html")


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request, token):
    try:
        if request.method == "POST":
            confirmed_now = newsletter.newsletter_confirm(token=token)
            context = {"done": True, "already": not confirmed_now}
        else:
            subscriber = newsletter.subscriber_from_confirm_token(token)
            context = {"already": subscriber.status == subscriber.Status.CONFIRMED}
    except (LinkExpired, LinkInvalid, newsletter.LinkGone) as exc:
        return _link_refused(request, exc, purpose="confirm")
    return render(request, "privacy/newsletter_confirm.html", {"token": token, **context})


@csrf_exempt  # mail clients' one-click POST (RFC 8058) carries no CSRF token
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """GET: a page with the button (mail scanners follow GETs, which must change nothing).
    POST, from that button or a mail client's `List-Unsubscribe=One-Click`: unsubscribed at
    once. Whether the address was subscribed is never said."""
    try:
        if request.method == "POST":
            newsletter.newsletter_unsubscribe(token=token)
        else:
            newsletter.read_unsubscribe_token(token)
    except (LinkExpired, LinkInvalid) as exc:
        return _link_refused(request, exc, purpose="unsubscribe")
    context = {"token": token, "done": request.method == "POST"}
    return render(request, "privacy/newsletter_unsubscribe.html", context)
