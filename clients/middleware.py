from . import audit


class ClientMiddleware:
    """Sets `request.client`: the signed-in user's Client (None for visitors and HexCM staff).

    The user is loaded with its client in one query by accounts.backends.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        request.client = user.client if user.is_authenticated else None
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
