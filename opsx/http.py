"""HTTP helpers shared by every app."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address: the one reading OpsX uses everywhere (rate limits, the list of
    sessions, the audit trail), so that they all name the same address.

    It delegates to allauth's account adapter, whose rate limits and session list call the
    same method. Behind our proxy (``BEHIND_TLS_PROXY``) the address is the
    ``TRUSTED_PROXY_COUNT``-th entry from the right of ``X-Forwarded-For`` (the hop our own
    proxy appended; anything a client writes to the left of it is ignored), or the
    ``TRUSTED_CLIENT_IP_HEADER`` our proxy sets; otherwise the socket's peer (``REMOTE_ADDR``).
    None if no valid address can be read.
    """
    from allauth.account.adapter import get_adapter

    try:
        return get_adapter(request).get_client_ip(request)
    except PermissionDenied:
        return None
