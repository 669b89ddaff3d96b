"""Sign-in failure limits that a stranger cannot turn against an account's owner.

allauth limits failed sign-ins per IP address (10 a minute) and per account (5 in 5 minutes,
the "key" of its ``login_failed`` rate; the TOTP step has its own key per account). The
per-account key is what stops a password being guessed from many addresses, but it also lets
anybody lock the owner out: five wrong passwords for someone's email and they cannot sign in.

We follow OWASP's "device cookie" scheme: after a complete sign-in (password and, when set up,
the second factor) the browser gets a signed cookie naming the account and a random device id.
A failed attempt for an account made from a browser that presents a valid device cookie *for
that account* counts against the pair (account, device), not against the account's shared key;
attempts without one (or with a forged, expired or other account's cookie) share the account's
key as before. So a stranger hammering an account locks out only unknown browsers for 5
minutes, the owner on their usual browser still signs in with the right password, and the owner
(or a thief of that one cookie) who keeps failing locks that device's own bucket. The per-IP
limit stays on for everyone.

Why this and not another key: per IP alone lets a botnet guess one password from thousands of
addresses; per account alone is the lockout above; a CAPTCHA would need a third-party script,
which we do not load. The device cookie keeps both limits and only lifts the account's one for
the browsers that proved themselves before. A password reset (it proves the mailbox) clears the
account's shared bucket as allauth intends, from whichever browser it is done.

The hooks are allauth's: the account adapter's ``_get_login_attempts_cache_key`` (the password
step; see ``AccountAdapter``) and the MFA ``authenticate`` form (``MFA_FORMS``), which keys the
TOTP step the same way. ``_get_login_attempts_cache_key`` is private to allauth (65.22);
tests/accounts/test_rate_limits.py fails if an upgrade stops calling it. One account per browser: a sign-in as another account replaces the
cookie, so on a shared browser only the last account is "known".
"""

from __future__ import annotations

import secrets

from allauth.core import context, ratelimit
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.base.forms import AuthenticateForm as AllauthAuthenticateForm
from allauth.mfa.models import Authenticator
from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

DEVICE_COOKIE = "opsx_device"
_SALT = "opsx.accounts.device-cookie"
DEVICE_COOKIE_MAX_AGE = 365 * 24 * 3600  # a year: "your usual browser"


def _read_device_cookie(request: HttpRequest) -> tuple[str, str] | None:
    """(account public id, device id) from a valid, unexpired signed cookie, else None."""
    value = request.get_signed_cookie(
        DEVICE_COOKIE, default=None, salt=_SALT, max_age=DEVICE_COOKIE_MAX_AGE
    )
    if not value:
        return None
    account, _, device = value.partition(":")
    return (account, device) if account and device else None


def device_of(request: HttpRequest | None, user) -> str | None:
    """The device id of this browser if its cookie names ``user``, else None."""
    if request is None or user is None:
        return None
    cookie = _read_device_cookie(request)
    if cookie is None or cookie[0] != str(user.public_id):
        return None
    return cookie[1]


def device_for_login(request: HttpRequest, login: str) -> str | None:
    """The device id of this browser if its cookie names the account signing in as ``login``.

    Looks the account up only when a validly signed cookie is presented, which only a browser
    that once signed in can have: a stranger's attempts cost no query.
    """
    from .models import User

    if _read_device_cookie(request) is None or not login:
        return None
    user = User.objects.filter(email=login.strip().lower()).only("public_id").first()
    return device_of(request, user)


def remember_device(request: HttpRequest, response: HttpResponseBase, user) -> None:
    """After a complete sign-in: give (or renew) this browser's device cookie for ``user``.

    A browser already known for this account keeps its device id, so its failure bucket
    is not reset by signing in again.
    """
    device = device_of(request, user) or secrets.token_urlsafe(16)
    response.set_signed_cookie(
        DEVICE_COOKIE,
        f"{user.public_id}:{device}",
        salt=_SALT,
        max_age=DEVICE_COOKIE_MAX_AGE,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )


def login_failed_key(account_key: str, device: str | None) -> str:
    """allauth's ``login_failed`` key for an account, narrowed to one known device."""
    return f"{account_key}:device:{device}" if device else account_key


class AuthenticateForm(AllauthAuthenticateForm):
    """The TOTP / recovery code step of sign-in, limited per (account, device) when known.

    allauth keys this step's ``login_failed`` limit on ``mfa-auth-user-<pk>`` alone
    (``allauth.mfa.base.internal.flows.check_rate_limit``), so a stranger who has the password
    could lock the owner out of the second step too. Here a known device has its own key;
    any other browser keeps allauth's key, so the two share nothing.
    """

    def clean_code(self) -> str:
        request = context.request
        key = login_failed_key(f"mfa-auth-user-{self.user.pk}", device_of(request, self.user))
        if not ratelimit.consume(request, action="login_failed", key=key):
            raise forms.ValidationError(
                "Too many wrong codes. Wait five minutes and try again.",
                code="too_many_login_attempts",
            )
        code = self.cleaned_data["code"]
        # The rest mirrors allauth's BaseAuthenticateForm.clean_code (65.22).
        main_auth: Authenticator | None = None
        for auth in Authenticator.objects.filter(user=self.user).exclude(
            type=Authenticator.Type.WEBAUTHN
        ):
            if not main_auth or auth.type == Authenticator.Type.TOTP:
                main_auth = auth
            if auth.wrap().validate_code(code):
                auth.user = self.user
                self.authenticator = auth
                ratelimit.clear(request, action="login_failed", key=key)
                return code
        if main_auth:
            self._emit_authentication_failed(main_auth)
        raise get_mfa_adapter().validation_error("incorrect_code")
