"""Django admin for HexCM support: one module per area, each registering its own models."""

from . import (  # noqa: F401
    closure,
    deletion,
    holds,
    newsletter,
    notices,
    policies,
    requests,
    support,
    suppression,
    testimonials,
)
