"""Django admin: closure."""
