"""Django admin for HexCM support: one module per area, each registering its own models."""

from . import closure, deletion, holds, policies, requests, support, testimonials  # noqa: F401
