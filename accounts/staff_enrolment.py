"""Two-factor enrolment of HexCM staff: only through a link that reached them out of band.

Staff (is_staff) must have TOTP to use Django admin. If the first TOTP could be added with the
password alone, the password alone would open the admin: sign in, activate TOTP with the secret
the page shows, done. So a staff user without TOTP may reach allauth's TOTP activation only in a
session that opened an enrolment link: single use, valid STAFF_ENROLMENT_LINK_MAX_AGE_HOURS,
printed by `manage.py staff_enrolment_link EMAIL` or mailed to the staff address when they open
/admin/. Staff cannot deactivate their TOTP from the web either (that would fall back to the
password-only state). Client users enrol freely: the wrappers below let them through.

A separate module, not accounts/services.py, so the feature stays in one place; it changes
state only through the functions marked as such (keyword-only, one transaction each).
"""

import datetime
from functools import wraps
from typing import TYPE_CHECKING

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from clients import audit
from opsx import mail

if TYPE_CHECKING:
    from .models import User

_SALT = "opsx.accounts.staff-enrolment"
SESSION_KEY = "opsx.staff_enrolment"
# How long a session that opened a link may take to finish the TOTP activation.
SESSION_ALLOWANCE = datetime.timedelta(hours=1)
# /admin/ mails a new link at most this often, so reloading it does not flood the mailbox (and
# does not retire a link that is on its way).
RESEND_AFTER = datetime.timedelta(minutes=10)


class EnrolmentLinkError(Exception):
    """A link that cannot be used; the message says why and what to do, for its holder."""


def max_age() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.STAFF_ENROLMENT_LINK_MAX_AGE_HOURS)


def has_totp(user) -> bool:
    return is_mfa_enabled(user, types=[Authenticator.Type.TOTP])


def needs_link(user) -> bool:
    """Staff without TOTP yet: the only users whose first authenticator needs a link."""
    return user.is_authenticated and user.is_staff and not has_totp(user)


# --- issuing ----------------------------------------------------------------------------------


def _token(user: "User") -> str:
    return signing.dumps(
        {"u": str(user.public_id), "s": user.staff_enrolment_sent_at.timestamp()},
        salt=_SALT,
        compress=True,
    )


@transaction.atomic
def staff_enrolment_issue(*, user: "User", acting_user: "User | None") -> str:
    """Issue a fresh enrolment link for a staff user and return its full URL.

    Dangerous in the wrong hands: whoever holds the link and the password can add the staff
    user's first authenticator, and with it reach Django admin. Give it only to that person,
    out of band. Any older link of theirs stops working.
    """
    if not user.is_staff:
        raise ValueError(f"{user.email} is not HexCM staff; client users enrol without a link.")
    user.staff_enrolment_sent_at = timezone.now()
    user.save(update_fields=["staff_enrolment_sent_at"])
    audit.record(actor=acting_user, action=audit.Action.STAFF_ENROLMENT_ISSUED, target=user)
    return settings.SITE_URL + reverse("staff_enrolment", args=[_token(user)])


@transaction.atomic
def staff_enrolment_send(*, user: "User") -> bool:
    """Mail a fresh link to the staff user's own address (the one they signed in with), unless
    one went less than RESEND_AFTER ago. Returns whether a mail was queued."""
    from .models import User

    user = User.objects.select_for_update().get(pk=user.pk)
    sent_at = user.staff_enrolment_sent_at
    if sent_at is not None and timezone.now() - sent_at < RESEND_AFTER:
        return False
    url = staff_enrolment_issue(user=user, acting_user=None)
    mail.queue(
        to=user.email,
        template="staff-enrolment",
        context={
            "user": user,
            "url": url,
            "max_age_hours": settings.STAFF_ENROLMENT_LINK_MAX_AGE_HOURS,
        },
        category=mail.Category.ACCOUNT,
        secret_ttl=max_age(),
    )
    return True


# --- using a link -----------------------------------------------------------------------------


@transaction.atomic
def staff_enrolment_redeem(*, request, token: str) -> "User":
    """Use a link in the signed-in session of the staff user it names: the link is spent and
    this session (only, and bound to this user) may add a first TOTP for SESSION_ALLOWANCE."""
    from .models import User

    try:
        data = signing.loads(token, salt=_SALT, max_age=max_age())
    except signing.SignatureExpired:
        raise EnrolmentLinkError(
            "This enrolment link has expired. Open the support admin (/admin/) to get a new "
            "one by email, or ask a HexCM admin for one."
        ) from None
    except signing.BadSignature:
        raise EnrolmentLinkError(
            "This enrolment link is not valid. Check that you opened the whole link, or open "
            "the support admin (/admin/) to get a new one by email."
        ) from None
    user = User.objects.select_for_update().get(pk=request.user.pk)
    if str(user.public_id) != data.get("u"):
        raise EnrolmentLinkError(
            "This enrolment link is for another account. Sign out, then sign in as the person "
            "it was sent to and open it again."
        )
    if has_totp(user):
        raise EnrolmentLinkError("Your two-factor authentication is set up already.")
    if user.staff_enrolment_sent_at is None:
        raise EnrolmentLinkError(
            "This enrolment link has been used already. Open the support admin (/admin/) to "
            "get a new one by email."
        )
    if abs(user.staff_enrolment_sent_at.timestamp() - float(data.get("s", 0))) > 0.001:
        raise EnrolmentLinkError(
            "A newer enrolment link was issued for you. Use the most recent one."
        )
    user.staff_enrolment_sent_at = None
    user.save(update_fields=["staff_enrolment_sent_at"])
    audit.record(actor=user, action=audit.Action.STAFF_ENROLMENT_USED, target=user)
    request.session[SESSION_KEY] = {
        "user": user.pk,
        "until": (timezone.now() + SESSION_ALLOWANCE).timestamp(),
    }
    return user


def session_may_enrol(request) -> bool:
    allowance = request.session.get(SESSION_KEY) or {}
    return (
        allowance.get("user") == request.user.pk
        and float(allowance.get("until", 0)) > timezone.now().timestamp()
    )


# --- views ------------------------------------------------------------------------------------


def _refused(request, heading: str, reason: str, status: int = 403):
    context = {"heading": heading, "reason": reason}
    return render(request, "account/staff_enrolment_refused.html", context, status=status)


@never_cache
def link_open(request, token: str):
    """The link from the mail or the command: signed in as that staff user, it opens TOTP
    activation; signed out, it goes through the sign-in first."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        staff_enrolment_redeem(request=request, token=token)
    except EnrolmentLinkError as exc:
        return _refused(request, "This link cannot be used", str(exc), status=400)
    return redirect("mfa_activate_totp")


def guard_first_authenticator(view):
    """Wraps allauth's TOTP activation: staff without TOTP need a session that opened a link."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if needs_link(request.user) and not session_may_enrol(request):
            return _refused(
                request,
                "Staff set up two-factor authentication with an enrolment link",
                "For HexCM staff, the password alone cannot set up two-factor authentication. "
                "Open the support admin (/admin/): we email a single-use link to your address. "
                "Open it in this browser while signed in, then come back here.",
            )
        return view(request, *args, **kwargs)

    return wrapper


def guard_deactivation(view):
    """Wraps allauth's TOTP deactivation: staff keep theirs (without it the password alone
    would be enough again)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated and request.user.is_staff:
            return _refused(
                request,
                "Staff keep two-factor authentication",
                "HexCM staff cannot turn two-factor authentication off. To move it to a new "
                "device, ask another HexCM admin to delete your authenticator in the support "
                "admin and to issue you a new enrolment link (manage.py staff_enrolment_link).",
            )
        return view(request, *args, **kwargs)

    return wrapper
