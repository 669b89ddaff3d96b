"""Django admin: support."""
