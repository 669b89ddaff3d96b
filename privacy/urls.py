"""The privacy app's pages. Each area adds its patterns in its own section."""

from django.urls import path

from .views import deletion

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

# --- support access ---

# --- client closure (Admin tasks) ---
