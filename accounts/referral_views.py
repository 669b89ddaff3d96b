"""Referral pages: the signed-in user's "tell a friend" page, and the friend's public
"remove my information" link (accounts.referrals does the work)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from clients.decorators import own_data_required
from opsx import signed_links
from opsx.forms import posted

from . import referrals
from .forms import ReferralForm

# The service's error codes that belong to one field of the form; the rest (the refusal, the
# limit) are said above the form.
_FIELD_OF = {"name": "name", "note": "note", "email": "email", "invalid": "email"}


@own_data_required
@require_http_methods(["GET", "POST"])
def referral_page(request):
    form = ReferralForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            referrals.referral_create(referrer=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(_FIELD_OF.get(exc.code), exc)
        else:
            messages.success(request, "Thank you: we sent your friend the invitation.")
            return redirect("referral_page")
    context = {
        "form": form,
        "referrals": referrals.referrals_of(request.user),
        "reminder_days": settings.REFERRAL_REMINDER_DAYS,
    }
    return render(
        request, "accounts/referral_page.html", context, status=400 if form.errors else 200
    )


@csrf_exempt  # RFC 8058: a mail client's one-click POST carries no CSRF token
@never_cache
@require_http_methods(["GET", "POST"])
def referral_remove(request, token):
    """GET: a confirm page (mail scanners follow links). POST (its button, or the one-click
    List-Unsubscribe): remove. The page is the same whether or not anything was stored."""
    try:
        address = referrals.address_from_token(token)
    except signed_links.LinkError:
        return render(request, "accounts/referral_remove_invalid.html", status=400)
    if request.method == "POST":
        referrals.referral_data_remove(address=address, actor=None)
        return render(request, "accounts/referral_removed.html")
    return render(request, "accounts/referral_remove.html")
