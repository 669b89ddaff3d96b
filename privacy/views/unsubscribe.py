"""Unsubscribe links in mail, used without signing in.

A GET shows a confirm page with a button (mail scanners follow GETs, and must not unsubscribe
anyone); a POST unsubscribes at once. Mail clients send the RFC 8058 one-click POST
(`List-Unsubscribe=One-Click`) with no CSRF token, so the POST is csrf_exempt: it can only
turn mail off, for the one person the signed token names, and doing it twice changes nothing.
The pages never say whose link it is or whether anything was on.
"""

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from opsx import signed_links

from .. import preferences


def _link_refused(request, exc: signed_links.LinkError):
    expired = isinstance(exc, signed_links.LinkExpired)
    reason = (
        "This unsubscribe link is too old. Sign in and open Email preferences in your account "
        "to choose what we send you."
        if expired
        else "This unsubscribe link is not complete or not valid. Copy the whole link from the "
        "email, or sign in and open Email preferences in your account."
    )
    return render(
        request, "privacy/mail/unsubscribe_invalid.html", {"reason": reason},
        status=410 if expired else 400,
    )  # fmt: skip


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_service(request, token):
    try:
        user = preferences.service_unsubscribe_user(token)
    except signed_links.LinkError as exc:
        return _link_refused(request, exc)
    if request.method == "POST":
        preferences.service_unsubscribe(user=user)
        return render(request, "privacy/mail/unsubscribed.html", {"what": "service notices"})
    return render(request, "privacy/mail/unsubscribe_confirm.html", {"token": token})
