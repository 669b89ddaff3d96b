"""The privacy app's pages. Each area adds its patterns in its own section."""

from django.urls import path

app_name = "privacy"

urlpatterns = []

# --- requests (public form, signed links, account pages) ---

# --- access archives ---

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
