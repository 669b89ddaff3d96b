"""Django admin for HexCM support: one module per area, each registering its own models."""

from . import closure, deletion, holds, newsletter, policies, requests, support  # noqa: F401
