"""The privacy app's pages. Each area adds its patterns in its own section."""

from django.urls import path  # noqa: F401

app_name = "privacy"

urlpatterns = []

# --- requests (public form, signed links, account pages) ---

# --- access archives ---

# --- support access ---

# --- client closure (Admin tasks) ---
