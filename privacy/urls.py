"""The privacy app's pages. Each area adds its patterns in its own section."""

from django.urls import path

from .views import archive as archive_views
from .views import closure, deletion
from .views import requests as request_views

app_name = "privacy"

urlpatterns = []

# --- requests (public form, signed links, account pages) ---
urlpatterns += [
    path("privacy/requests/new/", request_views.request_new, name="request_new"),
    path("privacy/requests/sent/", request_views.request_sent, name="request_sent"),
    path("privacy/requests/<str:token>/", request_views.request_status, name="request_status"),
    path(
        "privacy/requests/<str:token>/confirm/",
        request_views.request_confirm,
        name="request_confirm",
    ),
    path(
        "privacy/requests/<str:token>/withdraw/",
        request_views.request_link_withdraw,
        name="request_link_withdraw",
    ),
    path("app/account/privacy/", request_views.account_privacy, name="account_privacy"),
    path(
        "app/account/privacy/<uuid:public_id>/",
        request_views.account_request,
        name="account_request",
    ),
    path(
        "app/account/privacy/<uuid:public_id>/withdraw/",
        request_views.account_request_withdraw,
        name="account_request_withdraw",
    ),
    path("app/admin-tasks/privacy/", request_views.client_request_list, name="client_requests"),
    path(
        "app/admin-tasks/privacy/<uuid:public_id>/",
        request_views.client_request,
        name="client_request",
    ),
    path(
        "app/admin-tasks/privacy/<uuid:public_id>/start/",
        request_views.client_request_start,
        name="client_request_start",
    ),
    path(
        "app/admin-tasks/privacy/<uuid:public_id>/done/",
        request_views.client_request_done,
        name="client_request_done",
    ),
    path(
        "app/admin-tasks/privacy/<uuid:public_id>/refuse/",
        request_views.client_request_refuse,
        name="client_request_refuse",
    ),
]

# --- account deletion (erasure) ---

urlpatterns += [
    path(
        "app/account/privacy/<uuid:public_id>/cancel-deletion/",
        deletion.cancel_deletion,
        name="cancel_deletion",
    ),
]

# --- access archives ---
urlpatterns += [
    path("app/account/privacy/archives/", archive_views.archives, name="archives"),
    path(
        "app/account/privacy/archives/<uuid:public_id>/download/",
        archive_views.archive_download,
        name="archive_download",
    ),
    path("privacy/archives/<str:token>/", archive_views.archive_signed, name="archive_signed"),
]

# --- support access ---
from .views import support as support_views  # noqa: E402

urlpatterns += [
    path(
        "app/account/support-access/",
        support_views.support_access,
        name="support_access",
    ),
    path(
        "app/account/support-access/revoke/",
        support_views.support_access_revoke,
        name="support_access_revoke",
    ),
    path("app/support-view/stop/", support_views.support_view_stop, name="support_view_stop"),
]

# --- client closure (Admin tasks) ---
urlpatterns += [
    path("app/admin-tasks/close-account/", closure.close_account, name="closure"),
    path("app/admin-tasks/close-account/cancel/", closure.cancel, name="closure_cancel"),
    path(
        "app/admin-tasks/close-account/export/build/",
        closure.export_build,
        name="closure_export_build",
    ),
    path("app/admin-tasks/close-account/export/", closure.export_download, name="closure_export"),
]

# --- newsletter (public sign-up, confirmation, unsubscribe) ---
from .views import newsletter as newsletter_views  # noqa: E402

urlpatterns += [
    path("newsletter/", newsletter_views.subscribe, name="newsletter"),
    path("newsletter/sent/", newsletter_views.sent, name="newsletter_sent"),
    path("newsletter/confirm/<str:token>/", newsletter_views.confirm, name="newsletter_confirm"),
    path(
        "mail/unsubscribe/newsletter/<str:token>/",
        newsletter_views.unsubscribe,
        name="newsletter_unsubscribe",
    ),
]

# --- testimonial consent (the person's signed links; the public photo) ---
from .views import testimonials as testimonial_views  # noqa: E402

urlpatterns += [
    path(
        "testimonials/consent/<str:token>/photo/",
        testimonial_views.testimonial_consent_photo,
        name="testimonial_consent_photo",
    ),
    path(
        "testimonials/consent/<str:token>/<str:answer>/",
        testimonial_views.testimonial_consent,
        name="testimonial_consent",
    ),
    path(
        "testimonials/withdraw/<str:token>/",
        testimonial_views.testimonial_withdraw,
        name="testimonial_withdraw",
    ),
    path(
        "testimonials/<uuid:public_id>/photo/",
        testimonial_views.testimonial_photo,
        name="testimonial_photo",
    ),
]

# --- email preferences, and the unsubscribe links in service mail ---
from .views import preferences as preference_views  # noqa: E402
from .views import unsubscribe as unsubscribe_views  # noqa: E402

urlpatterns += [
    path(
        "app/account/email-preferences/",
        preference_views.email_preferences,
        name="email_preferences",
    ),
    path(
        "mail/unsubscribe/service/<str:token>/",
        unsubscribe_views.unsubscribe_service,
        name="unsubscribe_service",
    ),
]

# --- notices: the banner's dismiss button ---
from .views import notices as notice_views  # noqa: E402

urlpatterns += [
    path(
        "app/notices/<uuid:public_id>/dismiss/",
        notice_views.notice_dismiss,
        name="notice_dismiss",
    ),
]
