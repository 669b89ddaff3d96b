"""Every cookie OpsX can set, for the cookies page (/cookies/) and its test.

One list, built from the settings that name and time each cookie, so the page cannot drift
from what the app does: tests/website/test_cookies.py crawls the site and fails on any
Set-Cookie whose name is not here. Reading pages set none of them for an anonymous visitor;
only a page with a form (the CSRF cookie) or an action (signing in) does.
"""

from dataclasses import dataclass

from allauth.account import app_settings as account_settings
from allauth.mfa import app_settings as mfa_settings
from django.conf import settings
from django.utils.module_loading import import_string

from accounts import ratelimits


@dataclass(frozen=True)
class Cookie:
    name: str
    purpose: str
    lifetime: str
    set_when: str


def _duration(seconds: int) -> str:
    """A plain English span: "2 weeks", "1 year", "14 days"."""
    days = seconds // 86400
    if days and days % 365 == 0:
        years = days // 365
        return f"{years} year" + ("s" if years > 1 else "")
    if days and days % 7 == 0:
        weeks = days // 7
        return f"{weeks} week" + ("s" if weeks > 1 else "")
    if days:
        return f"{days} day" + ("s" if days > 1 else "")
    hours = max(1, seconds // 3600)
    return f"{hours} hour" + ("s" if hours > 1 else "")


def _session_lifetime() -> str:
    age = _duration(settings.SESSION_COOKIE_AGE)
    if settings.SESSION_EXPIRE_AT_BROWSER_CLOSE:
        return "Until you close the browser."
    remember = account_settings.SESSION_REMEMBER
    if remember is None:
        return f"Until you close the browser; {age} if you tick “Remember me” when signing in."
    if remember is False:
        return "Until you close the browser."
    return f"{age}, renewed while you use OpsX."


def _messages_use_cookies() -> bool:
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.contrib.messages.storage.fallback import FallbackStorage

    storage = import_string(settings.MESSAGE_STORAGE)
    return issubclass(storage, CookieStorage | FallbackStorage)


def app_cookies() -> list[Cookie]:
    """The cookies this configuration can set, in the order a visitor meets them."""
    cookies = []
    if not settings.CSRF_USE_SESSIONS:
        cookies.append(
            Cookie(
                name=settings.CSRF_COOKIE_NAME,
                purpose="Protects the forms you send us from being forged by another site "
                "(cross-site request forgery). It holds a random value and nothing about you.",
                lifetime=_duration(settings.CSRF_COOKIE_AGE)
                if settings.CSRF_COOKIE_AGE
                else "Until you close the browser.",
                set_when="When you open a page with a form: signing in, starting an account, "
                "the newsletter sign-up, a privacy request. Reading pages never set it.",
            )
        )
    cookies.append(
        Cookie(
            name=settings.SESSION_COOKIE_NAME,
            purpose="Keeps you signed in, and carries a sign-up or a password reset from one "
            "step to the next. It is a random key; what it stands for stays on our servers.",
            lifetime=_session_lifetime(),
            set_when="When you sign in, or start a step that continues on the next page "
            "(creating an account, confirming your email, resetting a password).",
        )
    )
    cookies.append(
        Cookie(
            name=ratelimits.DEVICE_COOKIE,
            purpose="Recognises this browser as one you have signed in from before, so that "
            "someone else guessing your password cannot lock you out of your own account.",
            lifetime=_duration(ratelimits.DEVICE_COOKIE_MAX_AGE),
            set_when="When you finish signing in (password and, if set up, the second factor).",
        )
    )
    if _messages_use_cookies():
        cookies.append(
            Cookie(
                name="messages",  # django.contrib.messages' CookieStorage.cookie_name
                purpose="Carries a one-time confirmation (“Your changes were saved”) to the "
                "next page, which shows it and deletes the cookie.",
                lifetime="Until the next page is shown, at most until you close the browser.",
                set_when="After an action that confirms itself on the next page, such as "
                "signing in or out.",
            )
        )
    if mfa_settings._TRUST_STAGE_ENABLED:
        cookies.append(
            Cookie(
                name=mfa_settings.TRUST_COOKIE_NAME,
                purpose="Remembers that you chose to trust this browser, so the second factor "
                "is not asked again on it for a while.",
                lifetime=_duration(int(mfa_settings.TRUST_COOKIE_AGE.total_seconds())),
                set_when="When you tick “Trust this browser” while signing in.",
            )
        )
    return cookies


def cookie_names() -> set[str]:
    return {cookie.name for cookie in app_cookies()}
