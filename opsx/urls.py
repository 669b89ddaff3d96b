from allauth.mfa.totp import views as totp_views
from django.contrib import admin
from django.urls import include, path, re_path

from accounts import staff_enrolment
from clients import views as client_views
from devices.api import api as mobile_api
from devices.api.errors import not_found as api_not_found
from devices.views import headless_signup_closed
from opsx.mail_webhooks import tracking_webhook

urlpatterns = [
    path("", include("website.urls")),
    path("", include("accounts.urls")),
    path("app/admin-tasks/", include("accounts.admin_tasks_urls")),
    path("app/prospects/", include("prospects.urls")),
    # Full paths inside: the public request form (/privacy/requests/...), the account pages
    # (/app/account/privacy/...) and the client admins' pages (/app/admin-tasks/privacy/...).
    path("", include("privacy.urls")),
    # Before allauth's own patterns, so these win: staff add their first authenticator only
    # after opening an enrolment link, and cannot remove it (accounts.staff_enrolment).
    path(
        "accounts/2fa/totp/activate/",
        staff_enrolment.guard_first_authenticator(totp_views.activate_totp),
        name="mfa_activate_totp",
    ),
    path(
        "accounts/2fa/totp/deactivate/",
        staff_enrolment.guard_deactivation(totp_views.deactivate_totp),
        name="mfa_deactivate_totp",
    ),
    path(
        "accounts/staff-enrolment/<str:token>/", staff_enrolment.link_open, name="staff_enrolment"
    ),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    # The mail providers' delivery events (bounces, complaints): 404 unless MAIL_WEBHOOK_SECRET
    # is set (opsx.mail_webhooks).
    path("mail/events/<slug:provider>/tracking/", tracking_webhook, name="mail_events_tracking"),
    path("billing/webhooks/stripe/", client_views.stripe_webhook, name="stripe_webhook"),
    # The mobile app: allauth's headless API (sign-in, second factor, sign-out, password) and
    # ours. Sign-up stays on the web, where the age gate and the company's details are asked.
    path("_allauth/app/v1/auth/signup", headless_signup_closed),
    path("_allauth/", include("allauth.headless.urls")),
    # The API's 404 is JSON too: its root (ninja's own answers HTML) and any unknown address.
    path("api/v1/", api_not_found),
    path("api/v1/", mobile_api.urls),
    re_path(r"^api/v1/", api_not_found),
    path("app/admin-tasks/devices/", include("devices.urls")),
]
