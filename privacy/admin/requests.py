"""Django admin: requests."""
