"""Who calls the mobile API: allauth's headless session token (X-Session-Token), then our rules.

- `signed_in`: a valid token of an active user of an active client. Enough for /me and for
  registering the device (what the app does right after signing in).
- `device_auth` (the default of every other endpoint): as above, and the token is the session
  of the user's one active device. A pending or refused device, or a token whose device was
  revoked, is refused with a message saying why.

Each sets `request.client` and `request.device` (None for `signed_in` before registration).
Field work then runs restricted to the client's rows (`scoped`)."""

from __future__ import annotations

import re
from functools import wraps

from allauth.headless.contrib.ninja.security import XSessionTokenAuth
from allauth.headless.tokens.strategies.sessions import (
    SessionTokenStrategy as AllauthSessionTokenStrategy,
)

from clients.tenancy import tenant_scope

from ..models import Device
from ..services import device_touch
from .errors import ApiError

# What a session key can be (Django makes 32 lowercase letters and digits; its column holds
# 40). Anything else is no token: looked up, a NUL byte in it would be a database error (500).
SESSION_TOKEN = re.compile(r"[a-z0-9]{8,40}")


def well_formed(token: str | None) -> bool:
    return bool(token) and SESSION_TOKEN.fullmatch(token) is not None


class SessionTokenStrategy(AllauthSessionTokenStrategy):
    """allauth's session tokens (HEADLESS_TOKEN_STRATEGY), refusing a malformed token before it
    reaches the session store, for allauth's own headless endpoints as for ours."""

    def lookup_session(self, session_token: str):
        if not well_formed(session_token):
            return None
        return super().lookup_session(session_token)


class SignedIn(XSessionTokenAuth):
    require_device = False
    # allauth's class declares only the type; an apiKey scheme names its header too.
    openapi_in = "header"
    openapi_name = "X-Session-Token"
    openapi_description = "The session token from POST /_allauth/app/v1/auth/login."

    def get_session_token(self, request) -> str | None:
        token = super().get_session_token(request)
        return token if well_formed(token) else None

    def __call__(self, request):
        user = super().__call__(request)
        if user is None:
            return None
        if user.client_id is None:
            raise ApiError(403, "no_client", "The mobile app is for the users of a client.")
        client = user.client
        if not client.is_active:
            raise ApiError(403, "client_suspended", "Your company's OpsX account is suspended.")
        request.client = client
        token = self.get_session_token(request)
        device = Device.objects.filter(session_key=token, user=user).first()
        request.device = device
        if self.require_device:
            _check_device(device)
            device_touch(device)
        return user


def _check_device(device: Device | None) -> None:
    if device is None:
        raise ApiError(
            403,
            "device_not_registered",
            "Register this device first (POST /api/v1/devices) with its installation id.",
        )
    if device.status == Device.Status.PENDING:
        raise ApiError(
            403,
            "device_pending",
            "This device is waiting for your company's admin to approve it. Ask them to "
            "approve it in Admin tasks → Devices.",
        )
    if device.status != Device.Status.ACTIVE:
        raise ApiError(403, "device_refused", "This device may not be used with your account.")


class DeviceAuth(SignedIn):
    require_device = True


signed_in = SignedIn()
device_auth = DeviceAuth()


def scoped(view):
    """Run the operation restricted to the caller's client's rows (row-level security).

    The operation is the last thing its request's transaction runs (ATOMIC_REQUESTS wraps the
    view, django-ninja only writes the answer after it): when that transaction is the
    outermost one, its COMMIT ends the scope and the reset's round trip is skipped."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        with tenant_scope(request.client, ends_transaction=True):
            return view(request, *args, **kwargs)

    return wrapper
