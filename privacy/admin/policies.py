"""Django admin: policies."""
