import time

from django.shortcuts import render
from django.urls import Resolver404, resolve

from . import audit, usage

# What a signed-in user of a suspended client may still do: sign out.
_OPEN_WHILE_SUSPENDED = {"account_logout"}


class ClientMiddleware:
    """Sets `request.client`: the signed-in user's Client (None for visitors and HexCM staff).

    The user is loaded with its client in one query by accounts.backends.

    A signed-in user whose client is suspended gets the "account suspended" page on every page
    but sign-out, allauth's own pages included (email, password, two-factor, sessions), which
    the views' decorators do not cover. Suspending a client ends its sessions
    (clients.services.client_suspend); this is the second line for a session that survived.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        request.client = user.client if user.is_authenticated else None
        if request.client is not None and not request.client.is_active:
            try:
                name = resolve(request.path_info).url_name
            except Resolver404:
                name = None
            if name not in _OPEN_WHILE_SUSPENDED:
                context = {"client": request.client, "signed_in": True}
                return render(request, "account/client_suspended.html", context, status=403)
        return self.get_response(request)


class AuditContextMiddleware:
    """Makes the request current for clients.audit, so events recorded while it is served carry
    its client's IP address without every service taking a `request` argument."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = audit.set_request(request)
        try:
            return self.get_response(request)
        finally:
            audit.reset_request(token)


class UsageMiddleware:
    """Counts a signed-in client user's request (web or API) and its server time for the
    client's usage statistics (clients.usage): one Redis round trip, after the response is
    made. First in the chain, so the time covers every other middleware too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        client = getattr(request, "client", None)
        if client is not None:
            usage.count_request(client.pk, request.path_info, time.perf_counter() - started)
        return response
