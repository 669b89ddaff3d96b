"""The privacy app's pages. Each area adds its patterns in its own section."""

from django.urls import path

from .views import archive as archive_views
from .views import closure, deletion

app_name = "privacy"

urlpatterns = []

# --- requests (public form, signed links, account pages) ---

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
