"""Django admin: holds."""
