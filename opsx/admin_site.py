from functools import update_wrapper

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.shortcuts import redirect, render


def has_mfa(request) -> bool:
    """Whether the signed-in user has TOTP set up; asked several times per admin page,
    looked up once per request."""
    if not hasattr(request, "_opsx_has_mfa"):
        request._opsx_has_mfa = is_mfa_enabled(request.user, types=[Authenticator.Type.TOTP])
    return request._opsx_has_mfa


class OpsxAdminSite(admin.AdminSite):
    """Django admin for HexCM staff: signed in through allauth, and only with MFA set up."""

    site_header = "OpsX support"
    site_title = "OpsX support"
    index_title = "HexCM staff"

    def has_permission(self, request):
        return super().has_permission(request) and has_mfa(request)

    def admin_view(self, view, cacheable=False):
        """Every admin page refuses a NUL character in its query string with a 400: a list's
        filters compare it with text columns, which PostgreSQL cannot do (a 500 otherwise;
        only the search box is checked by Django itself)."""
        inner = super().admin_view(view, cacheable)

        def wrapper(request, *args, **kwargs):
            if any("\x00" in k or "\x00" in "".join(vs) for k, vs in request.GET.lists()):
                raise SuspiciousOperation("A NUL character in an admin page's address.")
            return inner(request, *args, **kwargs)

        return update_wrapper(wrapper, inner)

    def login(self, request, extra_context=None):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.GET.get("next") or request.get_full_path())
        if not (user.is_active and user.is_staff):
            raise PermissionDenied
        from accounts import staff_enrolment  # opsx is the floor below the apps: import late

        if staff_enrolment.session_may_enrol(request):
            messages.warning(
                request, "Staff must set up two-factor authentication before using the admin."
            )
            return redirect("mfa_activate_totp")
        # Not to the activation page: the password alone must not set up the first
        # authenticator. The link goes to the staff address, out of band.
        sent = staff_enrolment.staff_enrolment_send(user=user)
        context = {"sent": sent, "max_age_hours": settings.STAFF_ENROLMENT_LINK_MAX_AGE_HOURS}
        return render(request, "account/staff_enrolment_sent.html", context, status=403)
